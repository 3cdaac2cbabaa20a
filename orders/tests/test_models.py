from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from orders.models import Order
from orders.tests.factories import OrderFactory, OrderItemFactory

pytestmark = pytest.mark.django_db


def test_an_order_reads_as_its_number_and_links_to_its_page():
    order = OrderFactory()
    assert str(order) == order.number == f"ME-{order.pk:06d}"
    assert order.get_absolute_url() == f"/orders/{order.number}/"


def test_an_order_is_numbered_by_its_one_insert(django_assert_num_queries):
    template = OrderFactory()
    fields = {
        f.name: getattr(template, f.name)
        for f in Order._meta.concrete_fields
        if f.name not in {"id", "number", "checkout_token"}
    }
    with django_assert_num_queries(2):  # the next id, then the INSERT: no second save
        order = Order.objects.create(**fields)
    assert order.number == f"ME-{order.pk:06d}"
    assert Order.objects.filter(number=order.number).count() == 1


def test_an_order_cannot_be_stored_without_a_number():
    order = OrderFactory()
    with pytest.raises(IntegrityError):
        Order.objects.filter(pk=order.pk).update(number=None)


def test_order_ids_are_not_reused_after_the_newest_order_is_deleted():
    newest = OrderFactory()
    gone = newest.pk
    newest.delete()
    assert OrderFactory().pk > gone


def test_country_codes_read_as_names():
    order = OrderFactory(shipping_country="DE", billing_country="FR")
    assert (order.shipping_country_name, order.billing_country_name) == ("Germany", "France")


def test_checkout_tokens_are_unique():
    OrderFactory(checkout_token="abc")
    with pytest.raises(IntegrityError):
        OrderFactory(checkout_token="abc")


def test_order_lines_need_a_positive_quantity():
    with pytest.raises(IntegrityError):
        OrderItemFactory(quantity=0)


def test_the_newest_order_comes_first_with_the_id_as_tie_breaker():
    now = timezone.now()
    old = OrderFactory(created_at=now - timedelta(days=1))
    tied_a, tied_b = OrderFactory(created_at=now), OrderFactory(created_at=now)
    assert list(Order.objects.all()) == [tied_b, tied_a, old]
