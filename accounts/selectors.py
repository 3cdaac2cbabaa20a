"""Reads for accounts pages."""

from django.contrib.auth import SESSION_KEY
from django.core.exceptions import ValidationError
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


def session_user_blocked(*, session) -> bool:
    """Whether the session still names a user who has been blocked since.

    Django then serves the visitor as a guest (the backend refuses inactive users) but keeps
    the session's user id, so the sign-in page can say why they were signed out.
    """
    user_id = session.get(SESSION_KEY)
    if user_id is None:
        return False
    try:
        pk = User._meta.pk.to_python(user_id)
    except ValidationError:
        return False
    return User.objects.filter(pk=pk, is_active=False).exists()
