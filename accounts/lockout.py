"""Sign-in lock-out policy for django-axes: one limit per username, another per IP address.

django-axes counts failures per lockout parameter but compares them all with a single
limit. We want 5 failures for one username *or* 20 from one IP address (within the
cool-off window) to lock sign-in, so settings point AXES_LOCKOUT_PARAMETERS and
AXES_FAILURE_LIMIT here: the limit callable counts each scope on its own, through the
configured handler (database or cache), and answers with a limit that is reached exactly
when one of the two is.

A successful sign-in clears that account's failures only (see `reset_on_login`), never the IP
address's: otherwise anyone with one working account could reset their IP's counter at will.
"""

from __future__ import annotations

import ipaddress
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from myecommerce.middleware import SHARED_SERVICE_ERRORS

from .backends import users_by_sign_in_name

logger = logging.getLogger(__name__)

LOCKOUT_PARAMETERS = ["username", "ip_address"]
_SCOPE_ATTRIBUTE = "_accounts_lockout_scope"


def lockout_parameters(request_or_attempt, credentials: dict | None = None) -> list[str]:
    """AXES_LOCKOUT_PARAMETERS: both scopes, or one while `failure_limit` counts it."""
    return getattr(request_or_attempt, _SCOPE_ATTRIBUTE, None) or LOCKOUT_PARAMETERS


def _failures_in_scope(request: HttpRequest, credentials: dict | None, scope: str) -> int:
    from axes.handlers.proxy import AxesProxyHandler

    handler = AxesProxyHandler.get_implementation()
    setattr(request, _SCOPE_ATTRIBUTE, [scope])
    try:
        return handler.get_failures(request, credentials)
    finally:
        delattr(request, _SCOPE_ATTRIBUTE)


def failure_limit(request: HttpRequest, credentials: dict | None = None) -> int:
    """AXES_FAILURE_LIMIT: reached when either the username or the IP limit is reached."""
    by_username = _failures_in_scope(request, credentials, "username")
    by_ip = _failures_in_scope(request, credentials, "ip_address")
    # The handler compares max(by_username, by_ip) with what we return.
    failures = max(by_username, by_ip)
    locked = (
        by_username >= settings.ACCOUNTS_LOGIN_FAILURE_LIMIT_PER_USERNAME
        or by_ip >= settings.ACCOUNTS_LOGIN_FAILURE_LIMIT_PER_IP
    )
    return failures if locked else failures + 1


def lockout_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """AXES_USERNAME_CALLABLE: count "Alice", "alice" and alice's e-mail as one account.

    Without this, an attacker would get five tries for each spelling of the same account.
    """
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        raw = credentials.get(field)
    else:
        raw = request.POST.get(field) if request is not None and request.method == "POST" else None
    if not isinstance(raw, str) or not raw.strip():
        return None
    name = raw.strip()[:255]
    # The account the backend would sign in, found by the same rule: the database's
    # case-insensitive match is wider than str.lower() ("admın" is "ADMIN" to PostgreSQL's
    # UPPER), so keying on the typed text would give such spellings fresh tries.
    username = users_by_sign_in_name(name).values_list("username", flat=True).first()
    return _account_key(username or name)


def _account_key(username: str) -> str:
    """The name an account's failures are counted under: never the same as an IP address.

    The cache handler (Redis) keys every counter by its value alone, so a username typed as
    "203.0.113.9" would share that address's counter, and 20 such failures from anywhere would
    lock everyone at that address out. Such names get a suffix no IP address can have.
    """
    name = username.lower()
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return name
    return f"{name} (username)"


def forget_failures(*, username: str) -> int:
    """Forget the failed sign-in attempts against one account (not its IP addresses').

    Called once the account is proven (a sign-in, a reset code), after its change is saved;
    if the counters cannot be reached (a Redis outage), they are left to expire and the
    request goes on.
    """
    from axes.handlers.proxy import AxesProxyHandler

    try:
        return AxesProxyHandler.reset_attempts(username=_account_key(username))
    except SHARED_SERVICE_ERRORS:
        logger.exception("Could not forget the failed sign-ins of %r", username)
        return 0


def reset_on_login(sender, request, user, **kwargs) -> None:
    """user_logged_in receiver: a successful sign-in forgets that account's failures."""
    forget_failures(username=user.get_username())


def lockout_response(
    request: HttpRequest, original_response=None, credentials: dict | None = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the "sign-in is locked" page, saying for how long."""
    from axes.helpers import get_cool_off

    cool_off = get_cool_off(request)
    minutes = max(1, round(cool_off.total_seconds() / 60)) if cool_off else None
    return render(
        request,
        "accounts/locked_out.html",
        {"minutes": minutes},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
