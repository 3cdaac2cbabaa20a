from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from . import views

admin.site.site_header = "myecommerce admin"
admin.site.site_title = "myecommerce admin"
admin.site.index_title = "Dashboard"

urlpatterns = [
    path("healthz/", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("cart/", include("carts.urls")),
    path("wishlist/", include("wishlists.urls")),
    path("", include("orders.urls")),
    path("", include("products.urls")),
]

if settings.DEBUG:
    # Uploaded media is served by Django only while developing; production serves it elsewhere.
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
