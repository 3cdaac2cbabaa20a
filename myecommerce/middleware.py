"""Answer 503 "try again in a moment" when a shared service the request needs is away.

The cache itself survives a Redis outage (CACHE_IGNORE_EXCEPTIONS), but the sign-in lock-out
counters deliberately do not: their cache alias raises, so an outage cannot lift a lock-out.
Sign-in (the shop's and the admin's) then fails with a Redis error; this middleware turns it
into a clear 503 page with Retry-After instead of the generic 500 page.

The embedded database (SQLite) is busy when another process holds its write lock for longer
than the busy timeout, and PostgreSQL is away while it restarts: that too is "try again in
a moment", never the 500 page. Errors raised
outside a view (a session saved by middleware) reach `myecommerce.views.server_error`
(handler500), which answers the same way.
"""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30


def _service_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = []
    try:
        from redis.exceptions import RedisError

        errors.append(RedisError)
    except ImportError:  # pragma: no cover - redis is pinned in requirements.txt
        pass
    try:
        from django_redis.exceptions import ConnectionInterrupted

        errors.append(ConnectionInterrupted)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


# What a shared service that is away raises (Redis, through django-redis or directly).
SHARED_SERVICE_ERRORS = _service_errors()
# SQLite's words for a lock it waited for in vain (sqlite3 has no error code in Python 3.11),
# and for a database file it cannot open (its disk or mount is away).
SQLITE_BUSY_MESSAGES = ("database is locked", "database table is locked")
SQLITE_GONE_MESSAGES = ("unable to open database file",)
# PostgreSQL's SQLSTATEs for a server that is going away or not yet back: class 08 (connection
# exception), admin/crash shutdown and "the database system is starting up".
POSTGRES_GONE_SQLSTATES = ("57P01", "57P02", "57P03")


def database_unreachable(exception: BaseException | None) -> bool:
    """Whether a database error means the server is away (killed, restarting, unreachable).

    Django wraps the driver's error: a lost or refused PostgreSQL connection is psycopg's
    OperationalError with no SQLSTATE (the client noticed) or one of the codes above (the
    server said so), or an InterfaceError once Django's connection is closed. Anything else
    (a bad query, a constraint) stays a bug: the 500 page.
    """
    if isinstance(exception, InterfaceError):
        return True
    if not isinstance(exception, OperationalError):
        return False
    if str(exception) in SQLITE_BUSY_MESSAGES + SQLITE_GONE_MESSAGES:
        return True
    cause = exception.__cause__
    if not any(kind.__module__.startswith("psycopg") for kind in type(cause).__mro__):
        return False
    sqlstate = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in POSTGRES_GONE_SQLSTATES


def service_unavailable(exception: BaseException | None) -> bool:
    """Whether `exception` means "a service is away or busy, try again", not a bug."""
    if SHARED_SERVICE_ERRORS and isinstance(exception, SHARED_SERVICE_ERRORS):
        return True
    return database_unreachable(exception)


def service_unavailable_response() -> HttpResponse:
    """The 503 page with Retry-After. Rendered without the request: its context processors
    (cart, categories) would need the very service that is away."""
    response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class ServiceUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not service_unavailable(exception):
            return None
        logger.error("Shared service unavailable on %s: %r", request.path, exception)
        return service_unavailable_response()
