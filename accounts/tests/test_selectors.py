from datetime import timedelta

import pytest

from accounts import selectors, services
from accounts.models import OneTimeCode
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_email_change_pending_is_the_live_request():
    user = UserFactory()
    assert selectors.email_change_pending(user=user) is None
    otc = services.email_change_request(user=user, new_email="new@example.com")
    assert selectors.email_change_pending(user=user) == otc


def test_email_change_pending_ignores_expired_and_used_codes():
    user = UserFactory()
    otc = services.email_change_request(user=user, new_email="new@example.com")
    OneTimeCode.objects.filter(pk=otc.pk).update(expires_at=otc.created_at - timedelta(seconds=1))
    assert selectors.email_change_pending(user=user) is None
    OneTimeCode.objects.filter(pk=otc.pk).update(expires_at=otc.expires_at, used_at=otc.created_at)
    assert selectors.email_change_pending(user=user) is None


@pytest.mark.parametrize("verified", [True, False])
def test_user_awaiting_verification_is_only_an_unverified_active_user(verified):
    user = UserFactory(email_verified=verified)
    expected = None if verified else user
    assert selectors.user_awaiting_verification(pk=user.pk) == expected


@pytest.mark.parametrize("pk", [None, "1", 1.0, [1]])
def test_user_awaiting_verification_ignores_odd_session_values(pk):
    UserFactory(email_verified=False)
    assert selectors.user_awaiting_verification(pk=pk) is None


def test_blocked_users_are_not_awaiting_verification():
    user = UserFactory(email_verified=False, is_active=False)
    assert selectors.user_awaiting_verification(pk=user.pk) is None
