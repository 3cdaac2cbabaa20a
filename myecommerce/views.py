from http import HTTPStatus

from django.db import DatabaseError, connection
from django.http import HttpResponse
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
