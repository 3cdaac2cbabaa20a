import pytest

from accounts.backends import UsernameOrEmailBackend
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_session_user_is_one_query(django_assert_num_queries):
    user = UserFactory()
    backend = UsernameOrEmailBackend()
    with django_assert_num_queries(1):
        assert backend.get_user(user.pk) == user
    assert backend.get_user(str(user.pk)) == user


def test_no_session_user_for_a_blocked_missing_or_garbled_id():
    backend = UsernameOrEmailBackend()
    assert backend.get_user(UserFactory(is_active=False).pk) is None
    assert backend.get_user(10**9) is None
    assert backend.get_user("not-a-number") is None
