from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import UserFactory
from carts.tests.factories import CartFactory, CartItemFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:carts_cart_changelist")


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    return client


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
