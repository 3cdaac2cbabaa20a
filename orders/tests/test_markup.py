"""The order pages' HTML: what the Nu Html Checker and pa11y check (make audit), asserted here."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from myecommerce.tests.markup import VALID_DATETIME, outline, table_problems
from orders.models import Order
from orders.services import order_set_status
from orders.tests.factories import OrderFactory, OrderItemFactory

pytestmark = pytest.mark.django_db

ORDERS = reverse("orders:list")


@pytest.fixture
def shopper(client):
    user = UserFactory()
    client.force_login(user)
    return user


# Issue 15.11
def test_order_pages_give_times_as_valid_html_datetimes(client, shopper):
    order = OrderFactory(user=shopper)
    order_set_status(order=order, to_status=Order.Status.PAID, by=None)
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now().replace(microsecond=808187))

    for url in (ORDERS, order.get_absolute_url()):
        times = outline(client.get(url).content.decode()).times
        assert times, url
        assert [t for t in times if not VALID_DATETIME.match(t)] == []


# Issue 15.12
def test_the_order_page_tables_are_simple_tables(client, shopper):
    order = OrderFactory(user=shopper, subtotal="25.00", shipping_cost="4.90", total="29.90")
    OrderItemFactory.create_batch(2, order=order)

    html = client.get(order.get_absolute_url()).content.decode()

    assert table_problems(html) == []
    totals = re.search(r'<table [^>]*data-testid="order-totals".*?</table>', html, re.S).group(0)
    assert re.findall(r"<th scope=\"row\"[^>]*>(\w+)</th>", totals) == [
        "Subtotal",
        "Shipping",
        "Total",
    ]
    assert "29.90 USD" in totals
