"""Concurrent changes to one cart on PostgreSQL, where the row locks are real."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from accounts.tests.factories import UserFactory
from carts.models import CartItem
from carts.services import cart_add_product, cart_for
from products.tests.factories import ProductFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_together(target, times: int) -> list:
    barrier = threading.Barrier(times)
    results: list = []

    def worker():
        try:
            barrier.wait()
            results.append(target())
        except ValidationError as exc:
            results.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_adds_to_a_new_cart_never_exceed_stock_or_duplicate_lines():
    user = UserFactory()
    product = ProductFactory(stock=5)

    results = run_together(
        lambda: cart_add_product(cart=cart_for(user=user), product_id=product.pk, quantity=2), 4
    )

    item = CartItem.objects.get(cart__user=user, product=product)
    assert item.quantity == 4  # two adds of 2 fit in a stock of 5, the others are refused
    assert sorted(map(str, results)) == ["2", "4", "exceeds_stock", "exceeds_stock"]


def test_concurrent_adds_of_new_lines_respect_the_line_limit(settings):
    settings.CART_MAX_LINES = 2
    user = UserFactory()
    products = iter(ProductFactory.create_batch(5))
    lock = threading.Lock()

    def add_next():
        with lock:
            product = next(products)
        return cart_add_product(cart=cart_for(user=user), product_id=product.pk)

    results = run_together(add_next, 5)

    assert CartItem.objects.filter(cart__user=user).count() == 2
    assert results.count("too_many_lines") == 3
