"""The client's address behind load balancers and proxies.

Behind a load balancer every request's REMOTE_ADDR is the balancer's, so django-axes would
count every shopper's failed sign-ins as one address's and lock them all out together.
With TRUSTED_PROXY_COUNT = N (the proxies in front of the app that each append the address
they received the request from to X-Forwarded-For), the client is the N-th address from
the right: anything further left was written by the client and cannot be trusted.
"""

from ipaddress import IPv6Address, ip_address, ip_network

from django.conf import settings
from django.http import HttpRequest

# One IPv6 subscriber usually holds a whole /64: counted as one address, or anyone could
# step to a fresh address for every few guesses.
IPV6_PREFIX = 64


def client_ip(request: HttpRequest) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the address of the client, as the trusted proxies saw it
    (an IPv6 address stands for its /64: the network's first address)."""
    remote = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if count <= 0 or len(forwarded) < count:
        # No proxy trusted, or not through the expected proxies (a health check, a direct
        # call): the peer it is.
        return _counted_as(remote) or remote
    return _counted_as(forwarded[-count]) or _counted_as(remote) or remote


def _counted_as(text: str | None) -> str | None:
    """The address in `text` ("203.0.113.7", "203.0.113.7:5678", "[2001:db8::1]:443"), as
    lock-outs count it; None if it is not an address."""
    if not text:
        return None
    text = text.strip()
    if text.startswith("["):  # [IPv6]:port
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # IPv4:port
        text = text.split(":", 1)[0]
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address):
        return str(ip_network(f"{address}/{IPV6_PREFIX}", strict=False).network_address)
    return str(address)
