"""Business rules for accounts: sign-up, password reset, profile, e-mail change, blocking.

One-time codes are in accounts.otp (as contrib.auth keeps its tokens in tokens.py); the demo
users in accounts.demo.
"""

from __future__ import annotations

import hashlib
import io
import logging
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
from django.utils.crypto import get_random_string
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps

from mailer.services import email_dispatch
from myecommerce.imaging import image_load_bounded
from myecommerce.middleware import SHARED_SERVICE_ERRORS
from myecommerce.security_store import security_cache

from . import lockout
from .models import OneTimeCode, User
from .otp import (
    OTP_ERRORS,
    OTP_KEEP_AFTER_EXPIRY,
    OTP_LIFETIME,
    OTP_MAX_ATTEMPTS,
    OTP_RESEND_INTERVAL,
    OTP_THROTTLES,
    otp_decoy_check,
    otp_decoy_issue,
    otp_issue,
    otp_verify,
)

logger = logging.getLogger(__name__)

CUSTOMERS_GROUP = "Customers"
STORE_MANAGERS_GROUP = "Store managers"

AVATAR_SIZE = (256, 256)


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
        otp_decoy_issue(purpose=OneTimeCode.Purpose.SIGNUP)
        return
    otp_issue(user=user, purpose=OneTimeCode.Purpose.SIGNUP, client_ip=client_ip)


def user_verify_email(*, user: User | None, code: str, email: str = "") -> User:
    """Check a sign-up code and mark the user's e-mail address verified.

    `user` is None after a sign-up with a taken `email`: every code is refused as a wrong
    one would be (the decoy), after the same work.
    """
    if user is None:
        otp_decoy_check(purpose=OneTimeCode.Purpose.SIGNUP, code=code)
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
            otp_decoy_issue(purpose=OneTimeCode.Purpose.RESET)
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


# While the security store is away a decoy is answered as if just "sent": a real account's
# codes live in the database and keep working then, so a decoy must not answer 503 instead
# (that difference would name the addresses that have accounts).
_DECOY_UNRECORDED = {"sent_at": 0.0, "attempts": 0, "unrecorded": True}


def _reset_decoy_read(key: str) -> dict | None:
    try:
        return security_cache().get(key)
    except SHARED_SERVICE_ERRORS:
        logger.warning("Security store unavailable: a reset decoy is answered without it")
        return dict(_DECOY_UNRECORDED)


def _reset_decoy_write(key: str, decoy: dict) -> None:
    try:
        security_cache().set(key, decoy, RESET_DECOY_TIMEOUT.total_seconds())
    except SHARED_SERVICE_ERRORS:
        logger.warning("Security store unavailable: a reset decoy is not recorded")


def _reset_decoy_issue(*, email: str) -> int:
    """Record a decoy "code"; 0, or the seconds to wait when one was "sent" a moment ago."""
    key = _reset_decoy_key(email)
    now = timezone.now().timestamp()
    decoy = _reset_decoy_read(key)
    if decoy is not None and decoy.get("unrecorded"):
        return 0
    if decoy is not None and now - decoy["sent_at"] < OTP_RESEND_INTERVAL.total_seconds():
        # as otp_issue's throttle: the earlier "code" stands
        return max(1, int(OTP_RESEND_INTERVAL.total_seconds() - (now - decoy["sent_at"])))
    _reset_decoy_write(key, {"sent_at": now, "attempts": 0})
    return 0


def _reset_decoy_refusal(*, email: str) -> str:
    """The outcome a wrong code would have had (see accounts.otp), counting this try."""
    key = _reset_decoy_key(email)
    decoy = _reset_decoy_read(key)
    if decoy is None:
        return "no_code"
    if decoy.get("unrecorded"):
        return "invalid"  # what a real account's wrong code says
    if decoy["attempts"] >= OTP_MAX_ATTEMPTS:
        return "too_many_attempts"
    expired = timezone.now().timestamp() >= decoy["sent_at"] + OTP_LIFETIME.total_seconds()
    if expired:
        return "expired"
    decoy["attempts"] += 1
    _reset_decoy_write(key, decoy)
    return "too_many_attempts" if decoy["attempts"] >= OTP_MAX_ATTEMPTS else "invalid"


def password_reset_confirm(*, user: User | None, code: str, password: str, email: str = "") -> User:
    """Check a reset code and set the new password; every session of the user ends.

    `user` is None when no active account uses `email`: the code is refused as a wrong code
    for a real account would be (see the decoy above).
    """
    if user is None:
        otp_decoy_check(purpose=OneTimeCode.Purpose.RESET, code=code)
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
