import pytest

from accounts.backends import UsernameOrEmailBackend
from accounts.tests.factories import UserFactory
from carts.services import cart_add_product
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_the_session_user_comes_with_their_carts_last_change(django_assert_num_queries):
    user = UserFactory()
    backend = UsernameOrEmailBackend()
    with django_assert_num_queries(1):
        assert backend.get_user(user.pk).cart_changed_at is None
    cart_add_product(user=user, product_id=ProductFactory(stock=2).pk, quantity=1)
    first = backend.get_user(user.pk).cart_changed_at
    assert first is not None
    cart_add_product(user=user, product_id=ProductFactory(stock=2).pk, quantity=1)
    assert backend.get_user(str(user.pk)).cart_changed_at != first


def test_no_session_user_for_a_blocked_missing_or_garbled_id():
    backend = UsernameOrEmailBackend()
    assert backend.get_user(UserFactory(is_active=False).pk) is None
    assert backend.get_user(10**9) is None
    assert backend.get_user("not-a-number") is None
