from http import HTTPStatus

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import UserFactory
from carts.services import cart_add_product, cart_for
from carts.tests.factories import CartFactory, CartItemFactory
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:carts_cart_changelist")


def test_cart_changelist_and_change_form_load(admin_client):
    item = CartItemFactory(quantity=2)
    CartItemFactory(cart=item.cart)

    response = admin_client.get(CHANGELIST)

    assert response.status_code == HTTPStatus.OK
    assert [c.line_count for c in response.context["cl"].result_list] == [2]
    change = admin_client.get(reverse("admin:carts_cart_change", args=[item.cart.pk]))
    assert change.status_code == HTTPStatus.OK
    assert item.product.name.encode() in change.content


def test_cart_changelist_runs_a_fixed_number_of_queries(admin_client):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(CHANGELIST).status_code == HTTPStatus.OK
        return len(queries)

    for cart in CartFactory.create_batch(5):
        CartItemFactory(cart=cart)
    few = count_queries()
    for cart in CartFactory.create_batch(95):
        CartItemFactory(cart=cart)
    assert count_queries() == few


def test_a_line_edited_in_the_admin_shows_on_the_shoppers_stored_cart_page(admin_client):
    shopper = UserFactory(username="shopper")
    product = ProductFactory(name="Teapot", stock=9)
    cart_add_product(cart=cart_for(user=shopper), product_id=product.pk, quantity=1)
    item = shopper.cart.items.get()
    shoppers = Client()
    shoppers.force_login(shopper)
    assert shoppers.get(reverse("carts:detail")).status_code == HTTPStatus.OK  # now stored
    assert shoppers.get(reverse("carts:detail"))["X-Page-Cache"] == "hit"

    response = admin_client.post(
        reverse("admin:carts_cart_change", args=[item.cart_id]),
        {
            "items-TOTAL_FORMS": "1",
            "items-INITIAL_FORMS": "1",
            "items-MIN_NUM_FORMS": "0",
            "items-MAX_NUM_FORMS": "1000",
            "items-0-id": str(item.pk),
            "items-0-cart": str(item.cart_id),
            "items-0-product": str(product.pk),
            "items-0-quantity": "3",
        },
    )

    assert response.status_code == HTTPStatus.FOUND
    page = shoppers.get(reverse("carts:detail"))
    assert page["X-Page-Cache"] == "miss"
    assert 'name="quantity" value="3"' in page.text
