import pytest
from django.db.models import F

from accounts.models import User
from accounts.tests.factories import UserFactory
from carts.services import cart_add_product, cart_for
from myecommerce.prepared import PreparedQuery
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_the_sql_is_built_once_and_run_with_each_value(django_assert_num_queries):
    built = []

    def build(user_id):
        built.append(user_id)
        return User.objects.filter(pk=user_id).values_list("username", "email")

    query = PreparedQuery(build)
    alice = UserFactory(username="alice", email="alice@example.com")
    bob = UserFactory(username="bob", email="bob@example.com")
    with django_assert_num_queries(3):
        assert query.rows(alice.pk) == [("alice", "alice@example.com")]
        assert query.rows(bob.pk) == [("bob", "bob@example.com")]
        assert query.rows(10**9) == []
    assert len(built) == 1


def test_first_gives_a_model_with_its_annotations_or_none():
    query = PreparedQuery(
        lambda user_id: User.objects.annotate(cart_changed_at=F("cart__updated_at")).filter(
            pk=user_id
        )
    )
    shopper = UserFactory(username="shopper")
    found = query.first(shopper.pk)
    assert isinstance(found, User) and found.username == "shopper"
    assert found.cart_changed_at is None  # no cart yet
    cart_add_product(cart=cart_for(user=shopper), product_id=ProductFactory(stock=3).pk, quantity=1)
    assert query.first(shopper.pk).cart_changed_at is not None
    assert query.first(10**9) is None


def test_a_queryset_that_ignores_its_value_is_refused():
    query = PreparedQuery(lambda user_id: User.objects.filter(is_active=True))
    with pytest.raises(ValueError, match="must use the value"):
        query.rows(1)
