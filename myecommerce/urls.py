from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from . import views

admin.site.site_header = "myecommerce admin"
admin.site.site_title = "myecommerce admin"
admin.site.index_title = "Dashboard"

# A busy or absent service answers 503 with Retry-After, even when middleware hit it.
handler500 = "myecommerce.views.server_error"

urlpatterns = [
    path("healthz/", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("cart/", include("carts.urls")),
    path("wishlist/", include("wishlists.urls")),
    path("", include("orders.urls")),
    path("", include("products.urls")),
]

if not urlsplit(settings.MEDIA_URL).netloc:
    # Uploads kept in MEDIA_ROOT (no bucket) are served by the shop itself, in development and
    # production alike: images only (views.media); nginx may serve them first (README).
    urlpatterns.append(
        path(f"{settings.MEDIA_URL.lstrip('/')}<path:path>", views.media, name="media")
    )
