"""The shop's URLs plus uploaded media, for the browser tests only.

Tests run with DEBUG off, where Django serves no media; product images must still load
in the browser (a missing image is a console error, which fails a browser test).
"""

from django.conf import settings
from django.urls import re_path
from django.views.static import serve

from myecommerce.urls import urlpatterns as shop_urlpatterns


def media(request, path):
    # MEDIA_ROOT is read per request: every test sends it to its own temporary folder.
    return serve(request, path, document_root=settings.MEDIA_ROOT)


urlpatterns = [
    re_path(rf"^{settings.MEDIA_URL.lstrip('/')}(?P<path>.*)$", media),
    *shop_urlpatterns,
]
