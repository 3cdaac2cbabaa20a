"""The client's address behind load balancers and proxies.

Behind a load balancer every request's REMOTE_ADDR is the balancer's, so django-axes would
count every shopper's failed sign-ins as one address's and lock them all out together.
With TRUSTED_PROXY_COUNT = N (the proxies in front of the app that each append the address
they received the request from to X-Forwarded-For), the client is the N-th address from
the right: anything further left was written by the client and cannot be trusted.
"""

from ipaddress import ip_address

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the address of the client, as the trusted proxies saw it."""
    remote = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < count:
        # Not through the expected proxies (a health check, a direct call): the peer it is.
        return remote
    candidate = forwarded[-count]
    try:
        return str(ip_address(candidate))
    except ValueError:
        return remote
