"""Where a request may be sent next: only ever this site (no open redirects), checked once."""

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def safe_url(request: HttpRequest, url: str | None) -> str:
    """`url` if it points to this site (same host, and HTTPS when this request is), else ""."""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return ""


def safe_back_url(request: HttpRequest, *, default: str) -> str:
    """Where a POST sends the visitor back to: a safe `next`, else a safe Referer, else default."""
    candidates = (
        request.POST.get("next"),
        request.GET.get("next"),
        request.headers.get("referer"),
    )
    for url in candidates:
        if safe := safe_url(request, url):
            return safe
    return default


def wants_json(request: HttpRequest) -> bool:
    """Whether a POST came from a page's script (static/js/quick-actions.js), which asks for
    JSON instead of the redirect a browser submitting the form itself gets."""
    return request.get_preferred_type(["text/html", "application/json"]) == "application/json"
