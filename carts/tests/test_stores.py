"""The storage choice: made once per request, and the same cart behind every service."""

import pytest
from django.contrib.auth.models import AnonymousUser

from carts.selectors import cart_for_request, cart_quantities
from carts.services import cart_add_product, cart_for, cart_set_quantity
from carts.stores import DatabaseCartStore, SessionCartStore

pytestmark = pytest.mark.django_db


def test_the_cart_is_chosen_once_per_request_and_again_after_signing_in(rf, user, session):
    request = rf.get("/")
    request.user, request.session = AnonymousUser(), session
    guest_cart = cart_for_request(request)
    assert isinstance(guest_cart, SessionCartStore)
    assert cart_for_request(request) is guest_cart

    request.user = user  # signed in during the request
    users_cart = cart_for_request(request)
    assert isinstance(users_cart, DatabaseCartStore) and users_cart.user == user
    assert cart_for_request(request) is users_cart


@pytest.mark.parametrize("signed_in", [True, False])
def test_the_same_calls_change_a_guests_and_a_users_cart_alike(user, session, signed_in):
    from products.tests.factories import ProductFactory

    cart = cart_for(user=user if signed_in else AnonymousUser(), session=session)
    first, second = ProductFactory(stock=5), ProductFactory(stock=5)
    cart_add_product(cart=cart, product_id=second.pk, quantity=2)
    cart_add_product(cart=cart, product_id=first.pk)
    cart_set_quantity(cart=cart, product_id=second.pk, quantity=3)
    # Lines are named by product id and kept in the order they were added.
    assert list(cart_quantities(cart=cart).items()) == [(second.pk, 3), (first.pk, 1)]
