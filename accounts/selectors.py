"""Reads for accounts pages."""

from django.utils import timezone

from .models import OneTimeCode, User


def email_change_pending(*, user: User) -> OneTimeCode | None:
    """The e-mail change waiting for its code, if the latest one can still be confirmed."""
    latest = (
        OneTimeCode.objects.filter(user=user, purpose=OneTimeCode.Purpose.EMAIL_CHANGE)
        .order_by("-created_at", "-pk")
        .first()
    )
    if latest is None or latest.is_used or latest.expires_at <= timezone.now():
        return None
    return latest


def user_awaiting_verification(*, pk: object) -> User | None:
    """An active user, by the id kept in the session, whose e-mail is not verified yet."""
    if not isinstance(pk, int):
        return None
    return User.objects.filter(pk=pk, is_active=True, email_verified=False).first()
