"""One-time codes: issued, e-mailed, throttled and verified (as contrib.auth keeps its
password-reset tokens in tokens.py).

A code is six digits kept only as an HMAC bound to its user and purpose; it lives
OTP_LIFETIME, allows OTP_MAX_ATTEMPTS wrong tries, and a new one may be sent once a minute
per account and purpose and a few times an hour per network. Decoys (no account) cost the
same work and answer the same way, so a code form never tells which addresses exist.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _

from mailer.services import email_dispatch

from .models import OneTimeCode, User

OTP_LENGTH = 6
OTP_LIFETIME = timedelta(minutes=10)
OTP_MAX_ATTEMPTS = 5
OTP_RESEND_INTERVAL = timedelta(minutes=1)


OTP_ERRORS = {
    "no_code": _("There is no code waiting for you. Please ask for a new one."),
    "invalid": _("That code is not right. Check the e-mail and try again."),
    "expired": _("This code has expired. Please ask for a new one."),
    "used": _("This code has already been used. Please ask for a new one."),
    "superseded": _("A newer code has been sent since. Please use the latest one."),
    "too_many_attempts": _(
        "Too many wrong tries: this code no longer works. Please ask for a new one."
    ),
    "wrong_purpose": _("This code was sent for %(purpose)s, not for this step."),
    "throttled": _(
        "A code was sent less than a minute ago. Please wait %(seconds)s seconds before "
        "asking for another one."
    ),
    "throttled_ip": _(
        "Too many codes have been sent from your network in the last hour. Please try again "
        "in %(minutes)s minutes."
    ),
}
# Both mean "not now": callers that must not tell (password reset) ignore either.
OTP_THROTTLES = {"throttled", "throttled_ip"}
OTP_IP_WINDOW = timedelta(hours=1)

EMAIL_SUBJECTS = {
    OneTimeCode.Purpose.SIGNUP: _("Your sign-up code"),
    OneTimeCode.Purpose.RESET: _("Your password reset code"),
    OneTimeCode.Purpose.EMAIL_CHANGE: _("Confirm your new e-mail address"),
}


def otp_hash(*, user_id: int, purpose: str, code: str) -> str:
    """HMAC-SHA256 (keyed by SECRET_KEY) of the code, bound to its user and purpose."""
    return salted_hmac(
        "accounts.OneTimeCode", f"{user_id}:{purpose}:{code}", algorithm="sha256"
    ).hexdigest()


def _otp_send(*, to: str, code: str, purpose: str, username: str) -> None:
    context = {
        "code": code,
        "purpose": purpose,
        "username": username,
        "minutes": int(OTP_LIFETIME.total_seconds() // 60),
        "store_name": settings.STORE_NAME,
    }
    # An outbox row in the caller's transaction, sent after commit; never raises. A decoy
    # (to="") goes the same way addressed to nobody, which the mail backend drops.
    email_dispatch(
        to=[to] if to else [],
        subject=str(EMAIL_SUBJECTS[purpose]),
        text=render_to_string("accounts/email/one_time_code.txt", context),
        html=render_to_string("accounts/email/one_time_code.html", context),
        expires=OTP_LIFETIME.total_seconds(),
    )


def _otp_throttle(*, user: User, purpose: str, to: str, client_ip: str | None, now) -> None:
    """Refuse a code (ValidationError "throttled" / "throttled_ip") if one went out in the last
    minute for this user and purpose, or to this address from another account, or if the client's
    address has had ACCOUNTS_CODES_PER_IP_PER_HOUR codes in the last hour.

    Counted from the codes themselves (database rows), where no cache eviction can lose them.
    """
    recent = OneTimeCode.objects.filter(created_at__gt=now - OTP_RESEND_INTERVAL)
    last = (
        (recent.filter(user=user, purpose=purpose) | recent.filter(sent_to=to).exclude(user=user))
        .order_by("-created_at")
        .first()
    )
    if last is not None:
        wait = OTP_RESEND_INTERVAL - (now - last.created_at)
        raise ValidationError(
            OTP_ERRORS["throttled"],
            code="throttled",
            params={"seconds": max(1, int(wait.total_seconds()))},
        )
    if not client_ip:
        return
    limit = settings.ACCOUNTS_CODES_PER_IP_PER_HOUR
    window = OneTimeCode.objects.filter(client_ip=client_ip, created_at__gt=now - OTP_IP_WINDOW)
    sent = list(window.order_by("-created_at").values_list("created_at", flat=True)[:limit])
    if len(sent) >= limit:
        wait = OTP_IP_WINDOW - (now - sent[-1])
        raise ValidationError(
            OTP_ERRORS["throttled_ip"],
            code="throttled_ip",
            params={"minutes": max(1, round(wait.total_seconds() / 60))},
        )


@transaction.atomic
def otp_issue(
    *, user: User, purpose: str, new_email: str = "", client_ip: str | None = None
) -> OneTimeCode:
    """Create a code for `purpose` and e-mail it after commit.

    At most one code a minute per user and purpose, and per destination address whichever
    account asks (ValidationError code "throttled"); at most ACCOUNTS_CODES_PER_IP_PER_HOUR
    an hour per client address (code "throttled_ip").
    A new code replaces earlier ones: only the newest code of a purpose is accepted.
    An e-mail change code goes to `new_email`, every other code to the user's address.
    """
    # Lock the user row so two simultaneous requests cannot both pass the throttle.
    User.objects.select_for_update().filter(pk=user.pk).exists()
    now = timezone.now()
    to = (new_email or user.email).strip().lower()
    _otp_throttle(user=user, purpose=purpose, to=to, client_ip=client_ip, now=now)
    code = f"{secrets.randbelow(10**OTP_LENGTH):0{OTP_LENGTH}d}"
    otc = OneTimeCode.objects.create(
        user=user,
        purpose=purpose,
        code_hash=otp_hash(user_id=user.pk, purpose=purpose, code=code),
        new_email=new_email,
        sent_to=to,
        client_ip=client_ip or None,
        created_at=now,
        expires_at=now + OTP_LIFETIME,
    )
    # Written to the outbox with the code's row; sent after commit (mailer).
    _otp_send(to=to, code=code, purpose=purpose, username=user.username)
    return otc


def otp_decoy_issue(*, purpose: str) -> None:
    """What otp_issue does for a real account, for nobody: a random code, its hash and a
    rendered e-mail through email_dispatch after commit, with no recipient. A request about an
    address without an account then costs what a real one costs, so timing cannot tell them apart.
    """
    code = f"{secrets.randbelow(10**OTP_LENGTH):0{OTP_LENGTH}d}"
    otp_hash(user_id=0, purpose=purpose, code=code)
    _otp_send(to="", code=code, purpose=purpose, username="")


def otp_decoy_check(*, purpose: str, code: str) -> None:
    """What _otp_check does for a wrong code, for nobody (no account has id 0): the same
    hashes and the same queries, so a refusal for an unknown address takes as long."""
    ghost = User(pk=0)
    with transaction.atomic():
        OneTimeCode.objects.select_for_update().filter(user=ghost, purpose=purpose).order_by(
            "-created_at", "-pk"
        ).first()
        otp_hash(user_id=0, purpose=purpose, code=code)
        OneTimeCode.objects.filter(user=ghost, purpose=purpose).update(attempts=F("attempts") + 1)
        OneTimeCode.objects.filter(user=ghost, purpose=purpose).values("attempts").first()
    live = OneTimeCode(user=ghost, purpose=purpose, expires_at=timezone.now() + OTP_LIFETIME)
    _otp_explain_mismatch(user=ghost, purpose=purpose, code=code, latest=live)


OTP_KEEP_AFTER_EXPIRY = timedelta(days=1)


def otp_delete_expired(*, now=None) -> int:
    """Delete codes that expired more than OTP_KEEP_AFTER_EXPIRY ago; return how many.

    Run daily (`manage.py clear_codes`). A day is far beyond the resend throttle and the
    code lifetime, so no limit or explanation ("this code has expired") depends on them.
    """
    cutoff = (now or timezone.now()) - OTP_KEEP_AFTER_EXPIRY
    deleted, _ = OneTimeCode.objects.filter(expires_at__lt=cutoff).delete()
    return deleted


def _otp_check(*, user: User, purpose: str, code: str) -> tuple[str, OneTimeCode | None, dict]:
    """Check and (on success) consume a code. Returns (outcome, code row, message params).

    Runs in its own transaction and never raises for a wrong code, so the counted try is
    committed even though the caller then refuses the request.
    """
    with transaction.atomic():
        latest = (
            OneTimeCode.objects.select_for_update()
            .filter(user=user, purpose=purpose)
            .order_by("-created_at", "-pk")
            .first()
        )
        if latest is None:
            return "no_code", None, {}
        if latest.attempts >= OTP_MAX_ATTEMPTS:
            return "too_many_attempts", latest, {}
        candidate = otp_hash(user_id=user.pk, purpose=purpose, code=code)
        if constant_time_compare(latest.code_hash, candidate):
            if latest.is_used:
                return "used", latest, {}
            if latest.is_expired:
                return "expired", latest, {}
            latest.used_at = timezone.now()
            latest.save(update_fields=["used_at"])
            return "ok", latest, {}

        # A wrong code: count the try against the live code.
        if not latest.is_used and not latest.is_expired:
            OneTimeCode.objects.filter(pk=latest.pk).update(attempts=F("attempts") + 1)
            latest.refresh_from_db(fields=["attempts"])
            if latest.attempts >= OTP_MAX_ATTEMPTS:
                return "too_many_attempts", latest, {}
        outcome, params = _otp_explain_mismatch(
            user=user, purpose=purpose, code=code, latest=latest
        )
        return outcome, latest, params


def _otp_explain_mismatch(
    *, user: User, purpose: str, code: str, latest: OneTimeCode
) -> tuple[str, dict]:
    """Say why a code that is not the latest one for `purpose` was refused."""
    other_purposes = {
        otp_hash(user_id=user.pk, purpose=other, code=code): other
        for other in OneTimeCode.Purpose.values
        if other != purpose
    }
    matched = user.one_time_codes.filter(code_hash__in=other_purposes).first()
    if matched is not None:
        label = OneTimeCode.Purpose(matched.purpose).label
        return "wrong_purpose", {"purpose": str(label).lower()}
    earlier = (
        user.one_time_codes.filter(
            purpose=purpose, code_hash=otp_hash(user_id=user.pk, purpose=purpose, code=code)
        )
        .order_by("-created_at")
        .first()
    )
    if earlier is not None:
        return ("used" if earlier.is_used else "superseded"), {}
    if latest.is_used:
        return "no_code", {}
    if latest.is_expired:
        return "expired", {}
    return "invalid", {}


def otp_verify(*, user: User | None, purpose: str, code: str) -> OneTimeCode:
    """Accept `code` for `user` and `purpose`, once. Raises ValidationError saying why not.

    Do not call inside an outer transaction: a wrong try must be committed even though
    this raises (otherwise the 5-try limit could be bypassed).
    """
    if user is None:
        # An unknown account (e.g. password reset for an address nobody uses) looks exactly
        # like a wrong code.
        raise ValidationError(OTP_ERRORS["invalid"], code="invalid")
    outcome, otc, params = _otp_check(user=user, purpose=purpose, code=(code or "").strip())
    if outcome == "ok":
        return otc
    raise ValidationError(OTP_ERRORS[outcome], code=outcome, params=params or None)
