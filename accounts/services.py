"""Business rules for accounts: one-time codes, sign-up, password reset, profile, blocking."""

from __future__ import annotations

import hashlib
import io
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import constant_time_compare, get_random_string, salted_hmac
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps

from mailer.services import email_dispatch
from myecommerce.imaging import image_load_bounded
from myecommerce.security_store import security_cache

from . import lockout
from .models import OneTimeCode, User

logger = logging.getLogger(__name__)

CUSTOMERS_GROUP = "Customers"
STORE_MANAGERS_GROUP = "Store managers"

OTP_LENGTH = 6
OTP_LIFETIME = timedelta(minutes=10)
OTP_MAX_ATTEMPTS = 5
OTP_RESEND_INTERVAL = timedelta(minutes=1)

AVATAR_SIZE = (256, 256)

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


# ------------------------------------------------------------------------------
# One-time codes
# ------------------------------------------------------------------------------
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


def _otp_decoy_issue(*, purpose: str) -> None:
    """What otp_issue does for a real account, for nobody: a random code, its hash and a
    rendered e-mail through email_dispatch after commit, with no recipient. A request about an
    address without an account then costs what a real one costs, so timing cannot tell them apart.
    """
    code = f"{secrets.randbelow(10**OTP_LENGTH):0{OTP_LENGTH}d}"
    otp_hash(user_id=0, purpose=purpose, code=code)
    _otp_send(to="", code=code, purpose=purpose, username="")


def _otp_decoy_check(*, purpose: str, code: str) -> None:
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


# ------------------------------------------------------------------------------
# Sign-up and verification
# ------------------------------------------------------------------------------
def _signup_decoy_email(email: str) -> str:
    """The reset decoy's record (see below) for a sign-up with a taken address: its own key."""
    return f"signup:{email}"


def _signup_taken_send(*, user: User) -> None:
    context = {"username": user.username, "store_name": settings.STORE_NAME}
    email_dispatch(
        to=[user.email],
        subject=str(_("Someone tried to sign up with your e-mail address")),
        text=render_to_string("accounts/email/signup_taken.txt", context),
        html=render_to_string("accounts/email/signup_taken.html", context),
    )


def user_signup(
    *, username: str, email: str, password: str, client_ip: str | None = None
) -> User | None:
    """Create an unverified customer and e-mail them a sign-up code.

    If an account already uses `email`, nothing is created and None is returned: the owner is
    told by e-mail instead (at most once a minute), and the caller must answer exactly as for a
    new account; the code page then refuses every code as a wrong one (the reset decoy). Both
    paths hash the password and hand one e-mail to email_dispatch after commit, so neither the
    answer nor its timing says whether the address has an account.
    """
    email = (email or "").strip().lower()
    owner = User.objects.filter(email__iexact=email).first()
    if owner is not None:
        make_password(password)  # the work a new account's password costs
        _reset_decoy_issue(email=_signup_decoy_email(email))
        digest = hashlib.sha256(email.encode()).hexdigest()
        if security_cache().add(
            f"accounts:signup-taken:{digest}", 1, OTP_RESEND_INTERVAL.total_seconds()
        ):
            transaction.on_commit(partial(_signup_taken_send, user=owner))
        return None
    with transaction.atomic():
        user = User(username=username, email=email, email_verified=False)
        user.set_password(password)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            # Two sign-ups racing for the same name or address; the form checked it first.
            raise ValidationError(
                _("That username or e-mail address is already taken."), code="taken"
            ) from None
        customers, _created = Group.objects.get_or_create(name=CUSTOMERS_GROUP)
        user.groups.add(customers)
        try:
            otp_issue(user=user, purpose=OneTimeCode.Purpose.SIGNUP, client_ip=client_ip)
        except ValidationError as error:
            # The address or network had codes a moment ago: the account stands, and
            # "Send a new code" works once the limit allows.
            if error.code not in OTP_THROTTLES:
                raise
    return user


def user_verification_send(*, user: User, client_ip: str | None = None) -> bool:
    """Send a fresh sign-up code unless a send limit stops it. True if sent."""
    try:
        otp_issue(user=user, purpose=OneTimeCode.Purpose.SIGNUP, client_ip=client_ip)
    except ValidationError as error:
        if error.code not in OTP_THROTTLES:
            raise
        return False
    return True


def user_verification_resend(
    *, user: User | None, email: str = "", client_ip: str | None = None
) -> None:
    """ "Send a new code" on the code page; ValidationError ("throttled"…) when it may not.

    `user` is None after a sign-up with a taken `email` (see user_signup): the same answers,
    with no code and no e-mail to anyone.
    """
    if user is None:
        wait = _reset_decoy_issue(email=_signup_decoy_email(email))
        if wait:
            raise ValidationError(
                OTP_ERRORS["throttled"], code="throttled", params={"seconds": wait}
            )
        _otp_decoy_issue(purpose=OneTimeCode.Purpose.SIGNUP)
        return
    otp_issue(user=user, purpose=OneTimeCode.Purpose.SIGNUP, client_ip=client_ip)


def user_verify_email(*, user: User | None, code: str, email: str = "") -> User:
    """Check a sign-up code and mark the user's e-mail address verified.

    `user` is None after a sign-up with a taken `email`: every code is refused as a wrong
    one would be (the decoy), after the same work.
    """
    if user is None:
        _otp_decoy_check(purpose=OneTimeCode.Purpose.SIGNUP, code=code)
        outcome = _reset_decoy_refusal(email=_signup_decoy_email(email))
        raise ValidationError(OTP_ERRORS[outcome], code=outcome)
    otp_verify(user=user, purpose=OneTimeCode.Purpose.SIGNUP, code=code)
    user.email_verified = True
    user.save(update_fields=["email_verified"])
    return user


# ------------------------------------------------------------------------------
# Passwords
# ------------------------------------------------------------------------------
def password_reset_request(*, email: str, client_ip: str | None = None) -> User | None:
    """E-mail a reset code if an active account uses `email`. Returns that user or None.

    Callers must answer the same way in both cases, so nobody learns which addresses exist.
    A throttled request is silently ignored for the same reason, and an unknown address gets
    a decoy that costs what a real code costs (a hash, a rendered e-mail through the queue).
    """
    user = User.objects.filter(email__iexact=(email or "").strip(), is_active=True).first()
    if user is None:
        if not _reset_decoy_issue(email=email):
            _otp_decoy_issue(purpose=OneTimeCode.Purpose.RESET)
        return None
    try:
        otp_issue(user=user, purpose=OneTimeCode.Purpose.RESET, client_ip=client_ip)
    except ValidationError as error:
        if error.code not in OTP_THROTTLES:
            raise
    return user


def user_password_set(*, user: User, password: str) -> User:
    """Set a new password. The session auth hash changes, so every session of the user ends
    on its next request; keep the current one with update_session_auth_hash."""
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


# A reset asked for an address no active account uses gets a *decoy*: no code and no e-mail,
# but a record in the security store (shared by every server, never evicted) of when it was
# "sent" and how many codes were tried, so its refusals are exactly a real account's for a
# wrong code: "not right" four times, then "too many wrong tries", "expired" after the code's
# lifetime, replaced at most once a minute. Otherwise the answers would tell which addresses
# have an account.
RESET_DECOY_TIMEOUT = OTP_KEEP_AFTER_EXPIRY + OTP_LIFETIME


def _reset_decoy_key(email: str) -> str:
    digest = hashlib.sha256((email or "").strip().lower().encode()).hexdigest()
    return f"accounts:reset-decoy:{digest}"


def _reset_decoy_issue(*, email: str) -> int:
    """Record a decoy "code"; 0, or the seconds to wait when one was "sent" a moment ago."""
    key = _reset_decoy_key(email)
    now = timezone.now().timestamp()
    decoy = security_cache().get(key)
    if decoy is not None and now - decoy["sent_at"] < OTP_RESEND_INTERVAL.total_seconds():
        # as otp_issue's throttle: the earlier "code" stands
        return max(1, int(OTP_RESEND_INTERVAL.total_seconds() - (now - decoy["sent_at"])))
    security_cache().set(key, {"sent_at": now, "attempts": 0}, RESET_DECOY_TIMEOUT.total_seconds())
    return 0


def _reset_decoy_refusal(*, email: str) -> str:
    """The outcome a wrong code would have had (see _otp_check), counting this try."""
    key = _reset_decoy_key(email)
    decoy = security_cache().get(key)
    if decoy is None:
        return "no_code"
    if decoy["attempts"] >= OTP_MAX_ATTEMPTS:
        return "too_many_attempts"
    expired = timezone.now().timestamp() >= decoy["sent_at"] + OTP_LIFETIME.total_seconds()
    if expired:
        return "expired"
    decoy["attempts"] += 1
    security_cache().set(key, decoy, RESET_DECOY_TIMEOUT.total_seconds())
    return "too_many_attempts" if decoy["attempts"] >= OTP_MAX_ATTEMPTS else "invalid"


def password_reset_confirm(*, user: User | None, code: str, password: str, email: str = "") -> User:
    """Check a reset code and set the new password; every session of the user ends.

    `user` is None when no active account uses `email`: the code is refused as a wrong code
    for a real account would be (see the decoy above).
    """
    if user is None:
        _otp_decoy_check(purpose=OneTimeCode.Purpose.RESET, code=code)
        outcome = _reset_decoy_refusal(email=email)
        raise ValidationError(OTP_ERRORS[outcome], code=outcome)
    otp_verify(user=user, purpose=OneTimeCode.Purpose.RESET, code=code)
    user.set_password(password)
    # Receiving the code proves the address belongs to the user.
    user.email_verified = True
    user.save(update_fields=["password", "email_verified"])
    # Whoever has the code owns the address: let them sign in now rather than wait out a
    # lock-out someone else may have caused.
    lockout.forget_failures(username=user.username)
    return user


# ------------------------------------------------------------------------------
# Profile and e-mail change
# ------------------------------------------------------------------------------
# The profile page's fields saved at once: a new e-mail address waits for its code.
PROFILE_FIELDS = [name for name in User.PROFILE_FIELDS if name != "email"]


def _avatar_thumbnail(upload) -> ContentFile:
    """A square JPEG thumbnail of an (already validated) image, without its EXIF data."""
    try:
        # Decoded within a memory bound, upright, without metadata (myecommerce.imaging).
        image, _uploaded_format = image_load_bounded(upload)
        image = ImageOps.fit(image.convert("RGBA"), AVATAR_SIZE, Image.Resampling.LANCZOS)
        background = Image.new("RGB", image.size, "white")
        background.paste(image, mask=image.getchannel("A"))
        buffer = io.BytesIO()
        background.save(buffer, format="JPEG", quality=88, optimize=True)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        # verify() does not decode the pixels; a truncated or corrupt file fails only here.
        raise ValidationError(
            _("Upload a valid image: JPEG, PNG, GIF or WebP."), code="invalid_image"
        ) from None
    return ContentFile(buffer.getvalue())


def user_profile_update(*, user: User, data: dict, avatar=None, avatar_clear: bool = False) -> User:
    """Save profile fields (not the e-mail: see email_change_request) and the avatar.

    A new avatar is stored as a 256×256 thumbnail; the old file is removed after commit.
    """
    old_avatar = user.avatar.name if user.avatar else ""
    for field in PROFILE_FIELDS:
        if field in data:
            setattr(user, field, data[field])
    update_fields = list(PROFILE_FIELDS)
    if avatar is not None:
        name = f"{user.pk}-{get_random_string(8).lower()}.jpg"
        user.avatar.save(name, _avatar_thumbnail(avatar), save=False)
        update_fields.append("avatar")
    elif avatar_clear:
        user.avatar = ""
        update_fields.append("avatar")
    with transaction.atomic():
        try:
            with transaction.atomic():
                user.save(update_fields=update_fields)
        except IntegrityError:
            raise ValidationError(_("That username is already taken."), code="taken") from None
        if old_avatar and "avatar" in update_fields:
            storage = user.avatar.storage
            transaction.on_commit(partial(storage.delete, old_avatar))
    return user


def email_change_request(
    *, user: User, new_email: str, client_ip: str | None = None
) -> OneTimeCode:
    """E-mail a code to `new_email`; the address changes once it is entered.

    The caller must have checked the current password first (ProfileForm): a signed-in session
    alone must not be enough to move the account to another address.
    """
    new_email = new_email.strip().lower()
    if User.objects.filter(email__iexact=new_email).exclude(pk=user.pk).exists():
        raise ValidationError(_("Another account already uses that address."), code="taken")
    return otp_issue(
        user=user,
        purpose=OneTimeCode.Purpose.EMAIL_CHANGE,
        new_email=new_email,
        client_ip=client_ip,
    )


EMAIL_UNDO_SALT = "accounts.email_change_undo"
EMAIL_UNDO_ERRORS = {
    "invalid": _("This link is not valid. Copy the whole link from the e-mail."),
    "expired": _("This link has expired: it works for %(days)s days after the change."),
    "undone": _("This change has already been undone."),
    "taken": _("Another account now uses %(email)s, so it cannot be put back. Please contact us."),
}


def _email_changed_send(*, user: User, old_email: str, undo_url: str) -> None:
    context = {
        "username": user.username,
        "old_email": old_email,
        "new_email": user.email,
        "undo_url": undo_url,
        "days": settings.EMAIL_CHANGE_UNDO_DAYS,
        "store_name": settings.STORE_NAME,
    }
    email_dispatch(
        to=[old_email],
        subject=str(_("Your e-mail address was changed")),
        text=render_to_string("accounts/email/email_changed.txt", context),
        html=render_to_string("accounts/email/email_changed.html", context),
    )


def email_change_confirm(*, user: User, code: str, undo_url: Callable[[str], str]) -> User:
    """Check an e-mail change code and switch the user to the new, verified address.

    Every session of the user ends (session_epoch; the caller keeps its own with
    update_session_auth_hash), and the old address is told, with a link that undoes the
    change for EMAIL_CHANGE_UNDO_DAYS: `undo_url(token)` makes that link.
    """
    otc = otp_verify(user=user, purpose=OneTimeCode.Purpose.EMAIL_CHANGE, code=code)
    taken = ValidationError(_("Another account already uses that address."), code="taken")
    if User.objects.filter(email__iexact=otc.new_email).exclude(pk=user.pk).exists():
        raise taken
    old_email = user.email
    user.email = otc.new_email
    user.email_verified = True
    user.session_epoch = F("session_epoch") + 1
    try:
        with transaction.atomic():
            user.save(update_fields=["email", "email_verified", "session_epoch"])
            token = signing.dumps(
                {
                    "u": user.pk,
                    "old": old_email,
                    "new": otc.new_email,
                    "t": timezone.now().timestamp(),  # when the change was made
                },
                salt=EMAIL_UNDO_SALT,
            )
            # Written to the outbox with the change; sent after commit (mailer).
            _email_changed_send(user=user, old_email=old_email, undo_url=undo_url(token))
    except IntegrityError:
        user.email = old_email
        raise taken from None
    finally:
        user.refresh_from_db(fields=["email", "email_verified", "session_epoch"])
    return user


def email_change_undo_check(*, token: str) -> tuple[User, str, datetime]:
    """The account, old address and time of the change a valid undo link names;
    ValidationError saying why not.

    A link for a change made before the last undo, and undone by it or by a later one, is dead:
    after an owner's undo, a thief's link from a second change they made cannot bring their
    address back; and an owner's link for the earliest change still works after a thief's undo.
    """
    max_age = timedelta(days=settings.EMAIL_CHANGE_UNDO_DAYS)
    try:
        data = signing.loads(token or "", salt=EMAIL_UNDO_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise ValidationError(
            EMAIL_UNDO_ERRORS["expired"],
            code="expired",
            params={"days": settings.EMAIL_CHANGE_UNDO_DAYS},
        ) from None
    except signing.BadSignature:
        raise ValidationError(EMAIL_UNDO_ERRORS["invalid"], code="invalid") from None
    user = User.objects.filter(pk=data.get("u")).first()
    old_email = str(data.get("old", ""))
    changed = data.get("t")
    if user is None or not old_email or not isinstance(changed, (int, float)):
        raise ValidationError(EMAIL_UNDO_ERRORS["invalid"], code="invalid")
    changed_at = datetime.fromtimestamp(changed, tz=UTC)
    undone = user.email_undone_at is not None and (
        user.email_undone_change_at <= changed_at <= user.email_undone_at
    )
    if undone or user.email == old_email:
        raise ValidationError(EMAIL_UNDO_ERRORS["undone"], code="undone")
    if User.objects.filter(email__iexact=old_email).exclude(pk=user.pk).exists():
        raise ValidationError(EMAIL_UNDO_ERRORS["taken"], code="taken", params={"email": old_email})
    return user, old_email, changed_at


def email_change_undo(*, token: str, client_ip: str | None = None) -> User:
    """Undo an e-mail change from the link sent to the old address: the old address is back,
    every session ends, the password no longer works and a reset code goes to that address
    (whoever changed the address may know the password)."""
    user, _old_email, _changed_at = email_change_undo_check(token=token)
    with transaction.atomic():
        # Checked again under the row lock: two uses of one link cannot both pass.
        User.objects.select_for_update().filter(pk=user.pk).exists()
        user, old_email, changed_at = email_change_undo_check(token=token)
        user.email = old_email
        user.email_verified = True
        user.set_unusable_password()
        user.session_epoch = F("session_epoch") + 1
        user.email_undone_change_at = changed_at
        user.email_undone_at = timezone.now()
        fields = ["email", "email_verified", "password", "session_epoch"]
        fields += ["email_undone_change_at", "email_undone_at"]
        try:
            with transaction.atomic():
                user.save(update_fields=fields)
        except IntegrityError:
            raise ValidationError(
                EMAIL_UNDO_ERRORS["taken"], code="taken", params={"email": old_email}
            ) from None
        # A change still waiting for its code must not go through after this.
        OneTimeCode.objects.filter(
            user=user, purpose=OneTimeCode.Purpose.EMAIL_CHANGE, used_at__isnull=True
        ).update(used_at=timezone.now())
    user.refresh_from_db()
    logger.info("User %s undid an e-mail change", user.pk)
    lockout.forget_failures(username=user.username)
    password_reset_request(email=old_email, client_ip=client_ip)
    return user


# ------------------------------------------------------------------------------
# Blocking
# ------------------------------------------------------------------------------
@transaction.atomic
def user_block(*, user: User, by: User) -> User:
    """Block `user`: they cannot sign in and every live session of theirs ends.

    Sessions end because the session auth hash includes `session_epoch`, which we bump;
    `is_active=False` also makes the auth backend refuse the user on every request.
    """
    if user.pk == by.pk:
        raise ValidationError(_("You cannot block yourself."), code="block_self")
    if user.is_superuser and not by.is_superuser:
        raise ValidationError(_("Only a superuser can block a superuser."), code="block_superuser")
    User.objects.filter(pk=user.pk).update(is_active=False, session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["is_active", "session_epoch"])
    logger.info("User %s blocked by %s", user.pk, by.pk)
    return user


@transaction.atomic
def user_unblock(*, user: User, by: User) -> User:
    """Let a blocked user sign in again (their old sessions stay ended)."""
    User.objects.filter(pk=user.pk).update(is_active=True)
    user.refresh_from_db(fields=["is_active"])
    logger.info("User %s unblocked by %s", user.pk, by.pk)
    return user
