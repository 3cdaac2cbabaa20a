from http import HTTPStatus

from django.db import DatabaseError, connection
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


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


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: our 403 page, telling the visitor to reload the form and try again.

    The reason is logged by Django's CSRF middleware; it is not shown, it helps nobody here.
    """
    message = _(
        "This form has expired or was not sent by this site, so nothing was changed. "
        "Go back, reload the page and try again."
    )
    return render(request, "403.html", {"message": message}, status=HTTPStatus.FORBIDDEN)
