"""Answer 503 "try again in a moment" when a shared service the request needs is away.

The cache itself survives a Redis outage (CACHE_IGNORE_EXCEPTIONS), but the sign-in lock-out
counters deliberately do not: their cache alias raises, so an outage cannot lift a lock-out.
Sign-in (the shop's and the admin's) then fails with a Redis error; this middleware turns it
into a clear 503 page with Retry-After instead of the generic 500 page.
"""

from __future__ import annotations

import logging

from django.shortcuts import render

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


class ServiceUnavailableMiddleware:
    errors = SHARED_SERVICE_ERRORS

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not self.errors or not isinstance(exception, self.errors):
            return None
        logger.error("Shared service unavailable on %s: %r", request.path, exception)
        response = render(request, "503.html", status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
