import sys
from http import HTTPStatus
from pathlib import Path, PurePosixPath

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import FileSystemStorage, storages
from django.db import DatabaseError, connection
from django.http import FileResponse, Http404, HttpResponse, HttpResponseNotModified
from django.shortcuts import render
from django.utils.http import http_date
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe
from django.views.static import was_modified_since

from .middleware import service_unavailable, service_unavailable_response

# What /media/ serves: uploads are checked to be these image types (myecommerce.validators),
# thumbnails are WebP. Anything else in MEDIA_ROOT (a stray file, a directory) is a 404.
MEDIA_CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
# As long as the bucket's objects are cached (object_parameters in settings): a deleted
# image's name may be taken again by a later upload, so not "immutable".
MEDIA_MAX_AGE = 60 * 60 * 24


@never_cache
@require_GET
def healthz(request):
    """Answers `ok` after a round trip to the database; 503 when it does not answer."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return HttpResponse(
            "database unavailable", status=HTTPStatus.SERVICE_UNAVAILABLE, content_type="text/plain"
        )
    return HttpResponse("ok", content_type="text/plain")


def server_error(request):
    """handler500: a busy or absent service (SQLite's write lock, Redis) is a 503 with
    Retry-After, wherever it was raised (a view, or middleware saving the session); anything
    else is the 500 page. Django calls this while handling the exception, so it is current."""
    if service_unavailable(sys.exc_info()[1]):
        return service_unavailable_response()
    return defaults.server_error(request)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: our 403 page, telling the visitor to reload the form and try again.

    The reason is logged by Django's CSRF middleware; it is not shown, it helps nobody here.
    """
    message = _(
        "This form has expired or was not sent by this site, so nothing was changed. "
        "Go back, reload the page and try again."
    )
    return render(request, "403.html", {"message": message}, status=HTTPStatus.FORBIDDEN)


@require_safe
def media(request, path: str):
    """An upload from MEDIA_ROOT, when uploads are kept on this machine (no bucket).

    gunicorn alone then shows product images in production too; nginx serving MEDIA_ROOT
    (README, Deploying) is faster. Only the image types above are served, with a day's
    Cache-Control and Last-Modified (a revalidation is a 304); no directory is ever listed,
    and a path that leaves MEDIA_ROOT is a 404.
    """
    storage = storages["default"]
    content_type = MEDIA_CONTENT_TYPES.get(PurePosixPath(path).suffix.lower())
    if not isinstance(storage, FileSystemStorage) or content_type is None:
        raise Http404
    try:
        file = Path(storage.path(path))  # safe_join: ../ or an absolute path is refused
    except (SuspiciousFileOperation, ValueError):
        raise Http404 from None
    if not file.is_file():
        raise Http404
    modified = file.stat().st_mtime
    if not was_modified_since(request.headers.get("if-modified-since"), modified):
        return HttpResponseNotModified()
    response = FileResponse(file.open("rb"), content_type=content_type)
    response["Last-Modified"] = http_date(modified)
    response["Cache-Control"] = f"public, max-age={MEDIA_MAX_AGE}"
    response["X-Content-Type-Options"] = "nosniff"
    return response
