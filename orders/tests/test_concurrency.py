"""Real concurrent checkouts and cancels, each thread with its own database connection.

SQLite serialises writers and ignores row locks, so these only say something on PostgreSQL.
"""

from collections import Counter
from datetime import timedelta
from functools import partial

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from carts.tests.factories import CartItemFactory
from orders.models import Order, OrderItem, OrderStatusChange
from orders.services import (
    CHECKOUT_TOKEN_SESSION_KEY,
    OrderAlreadyPlaced,
    order_cancel,
    order_expire_overdue,
    order_set_status,
)
from orders.tests.factories import new_token, order_place_for
from products.models import Product, StockMovement
from products.tests.factories import ProductFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_twenty_shoppers_racing_for_five_units_make_exactly_five_orders(run_at_once):
    product = ProductFactory(name="Limited print", stock=5)
    users = [UserFactory() for _ in range(20)]
    for user in users:
        CartItemFactory(cart__user=user, product=product, quantity=1)

    results = run_at_once([partial(order_place_for, user) for user in users])

    outcomes = Counter(outcome for outcome, _ in results)
    errors = [value for outcome, value in results if outcome == "error"]
    assert errors == []  # in particular, no deadlock
    assert outcomes == {"ok": 5, "refused": 15}
    for outcome, value in results:
        if outcome == "refused":
            assert value.messages == [
                "“Limited print” is out of stock; please remove it from your cart."
            ]
    assert Order.objects.count() == 5
    assert Product.objects.get(pk=product.pk).stock == 0
    placed = StockMovement.objects.filter(product=product, reason=StockMovement.Reason.ORDER_PLACED)
    assert placed.count() == 5
    assert sorted(placed.values_list("resulting_stock", flat=True)) == [0, 1, 2, 3, 4]
    assert len(set(Order.objects.values_list("number", flat=True))) == 5


def test_overlapping_multi_product_checkouts_never_deadlock_or_oversell(run_at_once):
    products = [ProductFactory(stock=6) for _ in range(4)]
    users = [UserFactory() for _ in range(12)]
    for index, user in enumerate(users):
        # Each cart holds three of the four products, added in a different order.
        picked = products[index % 4 :] + products[: index % 4]
        for product in reversed(picked[:3]) if index % 2 else picked[:3]:
            CartItemFactory(cart__user=user, product=product, quantity=1 + index % 2)

    results = run_at_once([partial(order_place_for, user) for user in users])

    assert [value for outcome, value in results if outcome == "error"] == []
    ordered = Counter()
    for item in OrderItem.objects.all():
        ordered[item.product_id] += item.quantity
    for product in products:
        stock = Product.objects.get(pk=product.pk).stock
        assert stock >= 0 and stock + ordered[product.pk] == 6
        taken = StockMovement.objects.filter(product=product).values_list("change", flat=True)
        assert -sum(taken) == ordered[product.pk]
    placed = sum(1 for outcome, _ in results if outcome == "ok")
    assert placed == Order.objects.count() and placed > 0


def test_two_submits_of_the_same_form_at_once_make_one_order(run_at_once):
    product = ProductFactory(stock=5)
    user = UserFactory()
    CartItemFactory(cart__user=user, product=product, quantity=2)
    token = new_token()

    def submit():
        try:
            return order_place_for(user, checkout_token=token)
        except OrderAlreadyPlaced as exc:
            return exc.order

    results = run_at_once([submit, submit])

    assert [outcome for outcome, _ in results] == ["ok", "ok"]
    assert results[0][1] == results[1][1]
    assert Order.objects.count() == 1
    assert Product.objects.get(pk=product.pk).stock == 3


def test_a_second_submit_whose_session_lost_the_token_waits_for_the_first_in_flight(
    run_at_once,
):
    # The first submit has placed its order but not committed yet when the second arrives
    # with a session that no longer holds the token: the second must find the first's order
    # (it waits for the customer's checkout to commit), not call the form stale.
    import threading
    import time

    from django.db import transaction

    product = ProductFactory(stock=5)
    user = UserFactory()
    CartItemFactory(cart__user=user, product=product, quantity=2)
    token = new_token()
    placed = threading.Event()

    def first():
        with transaction.atomic():
            order = order_place_for(
                user, checkout_token=token, session={CHECKOUT_TOKEN_SESSION_KEY: token}
            )
            placed.set()
            time.sleep(0.5)  # still in flight
        return order

    def second():
        assert placed.wait(timeout=30)
        try:
            order_place_for(user, checkout_token=token, session={})
        except OrderAlreadyPlaced as exc:
            return exc.order
        return None

    results = run_at_once([first, second])

    assert [outcome for outcome, _ in results] == ["ok", "ok"]
    assert results[1][1] == results[0][1]
    assert Order.objects.count() == 1
    assert Product.objects.get(pk=product.pk).stock == 3


def test_two_cancels_at_once_restock_once(run_at_once):
    product = ProductFactory(stock=5)
    user = UserFactory()
    CartItemFactory(cart__user=user, product=product, quantity=2)
    order = order_place_for(user)

    def cancel():
        return order_cancel(order=Order.objects.get(pk=order.pk), by=user)

    results = run_at_once([cancel, cancel])

    assert sorted(outcome for outcome, _ in results) == ["ok", "refused"]
    assert Product.objects.get(pk=product.pk).stock == 5
    assert StockMovement.objects.filter(reason=StockMovement.Reason.ORDER_CANCELLED).count() == 1
    assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED


def test_two_expiry_runs_at_once_cancel_restock_and_mail_each_order_once(run_at_once, mailoutbox):
    products = [ProductFactory(stock=5) for _ in range(6)]
    orders = []
    for product in products:
        user = UserFactory()
        CartItemFactory(cart__user=user, product=product, quantity=2)
        orders.append(order_place_for(user, payment_method=Order.PaymentMethod.BANK_TRANSFER))
    Order.objects.update(created_at=timezone.now() - timedelta(days=8))
    mailoutbox.clear()

    results = run_at_once([order_expire_overdue, order_expire_overdue])

    assert [outcome for outcome, _ in results] == ["ok", "ok"]
    expired = [order.pk for _outcome, (done, _failed) in results for order in done]
    assert sorted(expired) == sorted(order.pk for order in orders)  # each by one run only
    assert all(failed == [] for _outcome, (_done, failed) in results)
    assert set(Order.objects.values_list("status", flat=True)) == {Order.Status.CANCELLED}
    assert [Product.objects.get(pk=p.pk).stock for p in products] == [5] * 6
    cancelled = StockMovement.objects.filter(reason=StockMovement.Reason.ORDER_CANCELLED)
    assert sorted(cancelled.values_list("product_id", flat=True)) == [p.pk for p in products]
    assert OrderStatusChange.objects.filter(to_status=Order.Status.CANCELLED).count() == 6
    assert sorted(m.to[0] for m in mailoutbox) == sorted(o.customer_email for o in orders)


def test_an_expiry_and_a_payment_at_once_leave_the_order_either_paid_or_cancelled(run_at_once):
    product = ProductFactory(stock=5)
    user = UserFactory()
    CartItemFactory(cart__user=user, product=product, quantity=2)
    order = order_place_for(user, payment_method=Order.PaymentMethod.BANK_TRANSFER)
    Order.objects.update(created_at=timezone.now() - timedelta(days=8))

    def pay():
        return order_set_status(order=Order.objects.get(pk=order.pk), to_status="paid", by=None)

    results = run_at_once([order_expire_overdue, pay])

    assert [outcome for outcome, _ in results if outcome == "error"] == []
    status = Order.objects.get(pk=order.pk).status
    stock = Product.objects.get(pk=product.pk).stock
    # Whoever took the row lock first wins; the other sees its result and changes nothing.
    assert (status, stock) in {(Order.Status.PAID, 3), (Order.Status.CANCELLED, 5)}
    assert OrderStatusChange.objects.filter(order=order).count() == 2


def test_two_checkouts_of_one_customer_at_the_unpaid_limit_place_one_order(run_at_once, settings):
    # Two devices of the same account, two checkout tokens, one order allowed.
    settings.ORDER_MAX_UNPAID_PER_CUSTOMER = 1
    product = ProductFactory(stock=9)
    user = UserFactory()
    CartItemFactory(cart__user=user, product=product, quantity=2)

    results = run_at_once([partial(order_place_for, user), partial(order_place_for, user)])

    assert sorted(outcome for outcome, _ in results) == ["ok", "refused"]
    assert Order.objects.filter(user=user).count() == 1
    assert Product.objects.get(pk=product.pk).stock == 7
