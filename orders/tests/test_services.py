import logging
import re
import smtplib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.formats import date_format

from accounts.tests.factories import StaffFactory, UserFactory
from carts.models import CartItem
from carts.tests.factories import CartItemFactory
from mailer.models import Message
from orders import services
from orders.models import Order, OrderItem
from orders.services import (
    CHECKOUT_TOKEN_SESSION_KEY,
    OrderAlreadyPlaced,
    checkout_token_for,
    order_cancel,
    order_expire,
    order_expire_overdue,
    order_place,
    order_set_status,
)
from orders.tests.factories import OrderFactory, address, new_token
from products.models import Product, StockMovement
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

S = Order.Status


class SMTPDownBackend(BaseEmailBackend):
    """A mail server that refuses every message."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


class ConnectionRefusedBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError(111, "Connection refused")


def place(user, **overrides):
    kwargs = {
        "user": user,
        "shipping_address": address(),
        "payment_method": Order.PaymentMethod.COD,
        "checkout_token": new_token(),
        **overrides,
    }
    return order_place(**kwargs)


def stock_of(product) -> int:
    return Product.objects.values_list("stock", flat=True).get(pk=product.pk)


# ------------------------------------------------------------------------------
# order_place
# ------------------------------------------------------------------------------
def test_placing_an_order_copies_the_cart_lines_and_takes_the_stock():
    user = UserFactory(first_name="Ada", last_name="Lovelace")
    mug = ProductFactory(name="Blue mug", sku="MUG-1", price="12.50", stock=5)
    pen = ProductFactory(name="Pen", sku="PEN-1", price="1.99", stock=10)
    CartItemFactory(cart__user=user, product=mug, quantity=2)
    CartItemFactory(cart__user=user, product=pen, quantity=3)

    order = place(user, checkout_token="tok-1")

    order.refresh_from_db()
    assert re.fullmatch(r"ME-\d{6}", order.number)
    assert order.number == f"ME-{order.pk:06d}"
    assert order.status == S.PENDING
    assert (order.customer_name, order.customer_email) == ("Ada Lovelace", user.email)
    assert order.subtotal == Decimal("30.97") and order.total == Decimal("30.97")
    assert order.currency == "USD"
    assert order.checkout_token == "tok-1"
    items = list(order.items.order_by("product_sku"))
    assert [
        (i.product_name, i.product_sku, i.unit_price, i.quantity, i.line_total) for i in items
    ] == [
        ("Blue mug", "MUG-1", Decimal("12.50"), 2, Decimal("25.00")),
        ("Pen", "PEN-1", Decimal("1.99"), 3, Decimal("5.97")),
    ]
    assert (stock_of(mug), stock_of(pen)) == (3, 7)
    movements = StockMovement.objects.filter(reason=StockMovement.Reason.ORDER_PLACED)
    assert sorted((m.product_id, m.change, m.resulting_stock) for m in movements) == sorted(
        [(mug.pk, -2, 3), (pen.pk, -3, 7)]
    )
    assert all(order.number in m.note and m.created_by == user for m in movements)
    assert not CartItem.objects.filter(cart__user=user).exists()
    history = list(order.status_changes.values_list("from_status", "to_status", "changed_by"))
    assert history == [("", S.PENDING, user.pk)]


def test_billing_defaults_to_the_shipping_address():
    user = UserFactory()
    CartItemFactory(cart__user=user)
    order = place(user, shipping_address=address(full_name="Ship To", city="Paris", country="FR"))
    assert (order.billing_full_name, order.billing_city, order.billing_country) == (
        "Ship To",
        "Paris",
        "FR",
    )
    assert order.shipping_phone == "+44 20 7946 0000"


def test_a_separate_billing_address_is_kept():
    user = UserFactory()
    CartItemFactory(cart__user=user)
    order = place(
        user, billing_address=address(full_name="Bill Payer", city="Berlin", country="DE")
    )
    assert (order.shipping_city, order.billing_full_name, order.billing_city) == (
        "London",
        "Bill Payer",
        "Berlin",
    )


def test_an_empty_cart_is_refused():
    user = UserFactory()
    with pytest.raises(ValidationError) as exc:
        place(user)
    assert exc.value.error_list[0].code == "empty_cart"
    assert not Order.objects.exists()


def test_another_users_cart_is_not_ordered():
    user, other = UserFactory(), UserFactory()
    CartItemFactory(cart__user=other)
    with pytest.raises(ValidationError):
        place(user)
    assert CartItem.objects.filter(cart__user=other).count() == 1


def test_a_short_line_refuses_the_whole_order_and_names_the_line():
    user = UserFactory()
    fine = ProductFactory(name="Plenty", stock=10)
    short = ProductFactory(name="Scarce widget", stock=2)
    CartItemFactory(cart__user=user, product=fine, quantity=1)
    CartItemFactory(cart__user=user, product=short, quantity=3)

    with pytest.raises(ValidationError) as exc:
        place(user)

    assert exc.value.messages == ["“Scarce widget”: only 2 left in stock, but your cart has 3."]
    assert exc.value.error_list[0].code == "insufficient_stock"
    # Nothing at all changed.
    assert (stock_of(fine), stock_of(short)) == (10, 2)
    assert not Order.objects.exists() and not OrderItem.objects.exists()
    assert not StockMovement.objects.exists()
    assert CartItem.objects.filter(cart__user=user).count() == 2


def test_an_out_of_stock_line_says_so():
    user = UserFactory()
    CartItemFactory(cart__user=user, product=ProductFactory(name="Gone lamp", stock=0))
    with pytest.raises(ValidationError) as exc:
        place(user)
    assert exc.value.messages == ["“Gone lamp” is out of stock; please remove it from your cart."]


def test_an_inactive_product_refuses_the_order():
    user = UserFactory()
    CartItemFactory(cart__user=user, product=ProductFactory(name="Retired chair", is_active=False))
    CartItemFactory(cart__user=user, product=ProductFactory(name="Scarce", stock=0))
    with pytest.raises(ValidationError) as exc:
        place(user)
    assert sorted(e.code for e in exc.value.error_list) == ["inactive", "insufficient_stock"]
    assert any("Retired chair" in m and "no longer available" in m for m in exc.value.messages)
    assert not Order.objects.exists()


def test_the_price_at_checkout_is_used_not_the_price_when_added_to_the_cart():
    user = UserFactory()
    product = ProductFactory(price="10.00")
    CartItemFactory(cart__user=user, product=product, quantity=1)
    Product.objects.filter(pk=product.pk).update(price=Decimal("12.00"))
    order = place(user)
    assert order.total == Decimal("12.00")
    assert order.items.get().unit_price == Decimal("12.00")


def test_an_unknown_payment_method_is_refused():
    user = UserFactory()
    CartItemFactory(cart__user=user)
    with pytest.raises(ValidationError):
        place(user, payment_method="bitcoin")
    assert not Order.objects.exists()


def test_a_double_submit_makes_one_order():
    user = UserFactory()
    product = ProductFactory(stock=5)
    CartItemFactory(cart__user=user, product=product, quantity=1)
    first = place(user, checkout_token="same-form")

    with pytest.raises(OrderAlreadyPlaced) as exc:
        place(user, checkout_token="same-form")

    assert exc.value.order == first
    assert Order.objects.count() == 1
    assert stock_of(product) == 4


def test_a_double_submit_makes_one_order_even_if_the_cart_was_refilled():
    user = UserFactory()
    product = ProductFactory(stock=5)
    CartItemFactory(cart__user=user, product=product, quantity=1)
    first = place(user, checkout_token="same-form")
    CartItemFactory(cart__user=user, product=product, quantity=1)

    with pytest.raises(OrderAlreadyPlaced) as exc:
        place(user, checkout_token="same-form")

    assert exc.value.order == first
    assert Order.objects.count() == 1 and stock_of(product) == 4
    assert CartItem.objects.filter(cart__user=user).count() == 1


def test_another_users_checkout_token_is_refused_and_nothing_changes():
    first_user, second_user = UserFactory(), UserFactory()
    product = ProductFactory(stock=5)
    CartItemFactory(cart__user=first_user, product=product)
    CartItemFactory(cart__user=second_user, product=product)
    place(first_user, checkout_token="taken")

    with pytest.raises(ValidationError) as exc:
        place(second_user, checkout_token="taken")

    assert exc.value.error_list[0].code == "token_used"
    assert Order.objects.count() == 1 and stock_of(product) == 4
    assert CartItem.objects.filter(cart__user=second_user).count() == 1


# The checkout form's token, owned by the service: issued into the session, checked, consumed.
def test_placing_with_the_sessions_token_consumes_it():
    user = UserFactory()
    CartItemFactory(cart__user=user, product=ProductFactory(stock=5))
    session = {}
    token = checkout_token_for(session=session)
    assert checkout_token_for(session=session) == token  # the same across reloads
    order = place(user, checkout_token=token, session=session)
    assert order.checkout_token == token
    assert CHECKOUT_TOKEN_SESSION_KEY not in session


def test_a_second_submit_after_the_session_gave_up_the_token_finds_the_first_order():
    user = UserFactory()
    product = ProductFactory(stock=5)
    CartItemFactory(cart__user=user, product=product)
    session = {}
    token = checkout_token_for(session=session)
    first = place(user, checkout_token=token, session=session)
    CartItemFactory(cart__user=user, product=product)  # refilled meanwhile
    checkout_token_for(session=session)  # and a new checkout page opened

    with pytest.raises(OrderAlreadyPlaced) as exc:
        place(user, checkout_token=token, session=session)

    assert exc.value.order == first
    assert Order.objects.count() == 1 and stock_of(product) == 4


def test_a_second_submit_whose_session_still_holds_the_token_finds_the_first_order():
    # Its session was read before the first submit's response saved it (a stale copy).
    user = UserFactory()
    CartItemFactory(cart__user=user, product=ProductFactory(stock=5))
    session = {}
    token = checkout_token_for(session=session)
    stale = dict(session)
    first = place(user, checkout_token=token, session=session)

    with pytest.raises(OrderAlreadyPlaced) as exc:
        place(user, checkout_token=token, session=stale)

    assert exc.value.order == first
    assert CHECKOUT_TOKEN_SESSION_KEY not in stale
    assert Order.objects.count() == 1


@pytest.mark.parametrize("session_token", [None, "another-form"])
def test_a_token_the_session_does_not_hold_and_no_order_used_is_a_stale_form(session_token):
    user = UserFactory()
    CartItemFactory(cart__user=user, product=ProductFactory(stock=5))
    session = {CHECKOUT_TOKEN_SESSION_KEY: session_token} if session_token else {}

    with pytest.raises(ValidationError) as exc:
        place(user, checkout_token="old-form", session=session)

    assert exc.value.code == "bad_token"
    assert not Order.objects.exists()
    assert CartItem.objects.filter(cart__user=user).count() == 1


def test_another_users_token_is_a_stale_form_not_their_order():
    first_user, second_user = UserFactory(), UserFactory()
    CartItemFactory(cart__user=first_user, product=ProductFactory(stock=5))
    CartItemFactory(cart__user=second_user, product=ProductFactory(stock=5))
    place(first_user, checkout_token="taken")

    with pytest.raises(ValidationError) as exc:
        place(second_user, checkout_token="taken", session={})

    assert exc.value.code == "bad_token"
    assert Order.objects.count() == 1


def test_order_numbers_are_unique_and_never_reused():
    user = UserFactory()
    CartItemFactory(cart__user=user)
    first = place(user)
    number = first.number
    first.delete()
    CartItemFactory(cart__user=user)
    second = place(user)
    assert second.number != number
    assert Order.objects.filter(number=second.number).count() == 1


def test_deleting_a_product_keeps_past_orders_unchanged():
    user = UserFactory()
    product = ProductFactory(name="Lamp", sku="LAMP-9", price="40.00", stock=3)
    CartItemFactory(cart__user=user, product=product, quantity=2)
    order = place(user)

    product.delete()

    order.refresh_from_db()
    item = order.items.get()
    assert item.product is None
    assert (item.product_name, item.product_sku, item.unit_price, item.quantity) == (
        "Lamp",
        "LAMP-9",
        Decimal("40.00"),
        2,
    )
    assert order.total == Decimal("80.00")


def test_deleting_a_user_keeps_their_orders_with_the_customer_copied_in():
    user = UserFactory(first_name="Grace", last_name="Hopper", email="grace@example.com")
    CartItemFactory(cart__user=user)
    order = place(user)

    user.delete()

    order.refresh_from_db()
    assert order.user is None
    assert (order.customer_name, order.customer_email) == ("Grace Hopper", "grace@example.com")
    assert order.status_changes.get().changed_by is None


def test_the_confirmation_email_goes_out_after_commit(
    django_capture_on_commit_callbacks, mailoutbox
):
    user = UserFactory()
    CartItemFactory(cart__user=user, product=ProductFactory(name="Teapot"))
    with django_capture_on_commit_callbacks(execute=True):
        order = place(user, payment_method=Order.PaymentMethod.BANK_TRANSFER)
        assert mailoutbox == []  # nothing before commit

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [user.email]
    assert order.number in mail.subject
    assert "Teapot" in mail.body and "IBAN" in mail.body
    html, mimetype = mail.alternatives[0]
    assert mimetype == "text/html" and order.number in html


def test_no_email_when_the_order_is_refused(django_capture_on_commit_callbacks, mailoutbox):
    user = UserFactory()
    CartItemFactory(cart__user=user, product=ProductFactory(stock=0))
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(ValidationError),
    ):
        place(user)
    assert callbacks == [] and mailoutbox == []
    assert not Message.objects.exists()  # the refused order's transaction left no e-mail


def test_an_order_rolled_back_with_its_transaction_leaves_no_e_mail(
    django_capture_on_commit_callbacks, mailoutbox
):
    user = UserFactory()
    CartItemFactory(cart__user=user, product=ProductFactory(stock=3))
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        order = place(user)
        # The confirmation is an outbox row of the order's own transaction...
        assert Message.objects.filter(subject__contains=order.number).exists()
        raise RuntimeError("something after the order failed")
    # ...so it went with the order.
    assert not Order.objects.exists() and not Message.objects.exists()
    assert mailoutbox == []


@pytest.mark.parametrize("backend", [SMTPDownBackend, ConnectionRefusedBackend])
def test_a_failing_mail_server_never_loses_the_order(
    backend, settings, django_capture_on_commit_callbacks, caplog
):
    settings.EMAIL_BACKEND = f"{backend.__module__}.{backend.__qualname__}"
    user = UserFactory()
    product = ProductFactory(stock=3)
    CartItemFactory(cart__user=user, product=product)

    with (
        caplog.at_level(logging.ERROR, logger="orders.services"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        order = place(user)

    assert Order.objects.filter(pk=order.pk, status=S.PENDING).exists()
    assert stock_of(product) == 2
    assert not CartItem.objects.filter(cart__user=user).exists()
    # The confirmation waits in the outbox for its next try.
    (message,) = Message.objects.all()
    assert message.status == Message.Status.PENDING and message.attempts == 1
    assert order.number in message.subject and message.last_error


def test_placing_an_order_costs_a_fixed_number_of_queries_per_line():
    def queries_for(lines: int) -> int:
        user = UserFactory()
        for _ in range(lines):
            CartItemFactory(cart__user=user, product=ProductFactory(stock=5))
        with CaptureQueriesContext(connection) as ctx:
            place(user)
        return len(ctx.captured_queries)

    one, four = queries_for(1), queries_for(4)
    per_line = (four - one) / 3
    # Per line: SAVEPOINT, conditional UPDATE, SELECT the new stock, INSERT the movement,
    # RELEASE SAVEPOINT (product_stock_adjust). Everything else is a fixed cost (including
    # the UPDATE that marks the cart changed once its ordered lines are deleted, the user row
    # lock and the count of unpaid orders), and the confirmation e-mail's outbox row: the
    # order and its lines read to render it, and its INSERT. Taking the ordered lines out of
    # the cart goes through the cart's own service, which locks the cart row in a savepoint and
    # reads its lines (4 more than deleting them behind the cart's back).
    assert per_line == 5
    assert one - per_line == 20


# ------------------------------------------------------------------------------
# Status changes
# ------------------------------------------------------------------------------
def placed_order(user=None, *, quantity=2, stock=5):
    user = user or UserFactory()
    product = ProductFactory(stock=stock)
    CartItemFactory(cart__user=user, product=product, quantity=quantity)
    return place(user), product


def test_an_order_goes_pending_paid_shipped_delivered(
    django_capture_on_commit_callbacks, mailoutbox
):
    order, _ = placed_order()
    staff = StaffFactory()
    for status in (S.PAID, S.SHIPPED, S.DELIVERED):
        with django_capture_on_commit_callbacks(execute=True):
            order_set_status(order=order, to_status=status, by=staff)
        assert Order.objects.get(pk=order.pk).status == status == order.status

    history = list(order.status_changes.values_list("from_status", "to_status"))
    assert history == [
        ("", S.PENDING),
        (S.PENDING, S.PAID),
        (S.PAID, S.SHIPPED),
        (S.SHIPPED, S.DELIVERED),
    ]
    assert order.status_changes.last().changed_by == staff
    assert [m.subject for m in mailoutbox] == [
        f"Your order {order.number} is now paid",
        f"Your order {order.number} is now shipped",
        f"Your order {order.number} is now delivered",
    ]
    assert all(m.to == [order.customer_email] and m.alternatives for m in mailoutbox)


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (S.PENDING, S.SHIPPED),
        (S.PENDING, S.DELIVERED),
        (S.PENDING, S.PENDING),
        (S.PAID, S.PENDING),
        (S.PAID, S.DELIVERED),
        (S.SHIPPED, S.CANCELLED),
        (S.SHIPPED, S.PAID),
        (S.DELIVERED, S.CANCELLED),
        (S.CANCELLED, S.PAID),
        (S.CANCELLED, S.PENDING),
        (S.PENDING, "lost"),
    ],
)
def test_an_invalid_transition_is_refused(start, to, django_capture_on_commit_callbacks):
    order = OrderFactory(status=start)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(ValidationError) as exc,
    ):
        order_set_status(order=order, to_status=to, by=StaffFactory())
    assert exc.value.error_list[0].code == "invalid_transition"
    assert Order.objects.get(pk=order.pk).status == start
    assert not order.status_changes.exists() and callbacks == []


def test_cancelling_a_paid_order_restocks(django_capture_on_commit_callbacks, mailoutbox):
    order, product = placed_order(quantity=2, stock=5)
    order_set_status(order=order, to_status=S.PAID, by=None)
    with django_capture_on_commit_callbacks(execute=True):
        order_set_status(order=order, to_status=S.CANCELLED, by=StaffFactory())
    assert stock_of(product) == 5
    assert mailoutbox[-1].subject == f"Your order {order.number} is now cancelled"
    assert "refunded" in mailoutbox[-1].body


def test_the_status_email_reaches_a_deleted_customer(
    django_capture_on_commit_callbacks, mailoutbox
):
    user = UserFactory(email="left@example.com")
    order, _ = placed_order(user)
    user.delete()
    order.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        order_set_status(order=order, to_status=S.PAID, by=StaffFactory())
    assert mailoutbox[-1].to == ["left@example.com"]


def test_a_failing_mail_server_never_undoes_a_status_change(
    settings, django_capture_on_commit_callbacks
):
    order, _ = placed_order()
    settings.EMAIL_BACKEND = f"{__name__}.SMTPDownBackend"
    with django_capture_on_commit_callbacks(execute=True):
        order_set_status(order=order, to_status=S.PAID, by=None)
    assert Order.objects.get(pk=order.pk).status == S.PAID


# ------------------------------------------------------------------------------
# order_cancel
# ------------------------------------------------------------------------------
def test_the_customer_cancels_a_pending_order_and_the_stock_goes_back():
    user = UserFactory()
    order, product = placed_order(user, quantity=2, stock=5)
    assert stock_of(product) == 3

    order_cancel(order=order, by=user)

    assert Order.objects.get(pk=order.pk).status == S.CANCELLED
    assert stock_of(product) == 5
    movement = StockMovement.objects.get(reason=StockMovement.Reason.ORDER_CANCELLED)
    assert (movement.change, movement.resulting_stock, movement.created_by) == (2, 5, user)
    assert order.number in movement.note
    assert list(order.status_changes.values_list("to_status", flat=True)) == [
        S.PENDING,
        S.CANCELLED,
    ]


def test_cancelling_twice_restocks_once():
    user = UserFactory()
    order, product = placed_order(user, quantity=2, stock=5)
    order_cancel(order=order, by=user)
    with pytest.raises(ValidationError) as exc:
        order_cancel(order=Order.objects.get(pk=order.pk), by=user)
    assert exc.value.error_list[0].code == "not_pending"
    assert stock_of(product) == 5
    assert StockMovement.objects.filter(reason=StockMovement.Reason.ORDER_CANCELLED).count() == 1


def test_a_stale_instance_cannot_cancel_a_paid_order():
    user = UserFactory()
    order, product = placed_order(user)
    order_set_status(order=Order.objects.get(pk=order.pk), to_status=S.PAID, by=None)
    assert order.status == S.PENDING  # this copy is stale; the service reads the locked row
    with pytest.raises(ValidationError):
        order_cancel(order=order, by=user)
    assert Order.objects.get(pk=order.pk).status == S.PAID
    assert stock_of(product) == 3


def test_cancelling_skips_lines_whose_product_was_deleted():
    user = UserFactory()
    kept = ProductFactory(stock=5)
    doomed = ProductFactory(stock=5)
    CartItemFactory(cart__user=user, product=kept, quantity=1)
    CartItemFactory(cart__user=user, product=doomed, quantity=1)
    order = place(user)
    doomed.delete()

    order_cancel(order=order, by=user)

    assert stock_of(kept) == 5
    assert Order.objects.get(pk=order.pk).status == S.CANCELLED
    assert order.items.count() == 2


def test_only_the_owner_may_cancel():
    order, product = placed_order()
    with pytest.raises(PermissionDenied):
        order_cancel(order=order, by=UserFactory())
    assert Order.objects.get(pk=order.pk).status == S.PENDING
    assert stock_of(product) == 3


def test_staff_without_the_change_permission_may_not_cancel_others_orders():
    order, product = placed_order()
    with pytest.raises(PermissionDenied):
        order_cancel(order=order, by=StaffFactory())
    assert Order.objects.get(pk=order.pk).status == S.PENDING
    assert stock_of(product) == 3


def test_a_store_manager_may_cancel_a_customers_pending_order(manager):
    order, product = placed_order()
    order_cancel(order=order, by=manager)
    assert Order.objects.get(pk=order.pk).status == S.CANCELLED
    assert stock_of(product) == 5


@pytest.mark.parametrize("status", [S.PAID, S.SHIPPED, S.DELIVERED, S.CANCELLED])
def test_only_a_pending_order_can_be_cancelled_by_the_customer(status):
    order = OrderFactory(status=status)
    with pytest.raises(ValidationError):
        order_cancel(order=order, by=order.user)
    assert Order.objects.get(pk=order.pk).status == status


# ------------------------------------------------------------------------------
# Limits against stock hoarding (issue 16.7)
# ------------------------------------------------------------------------------
def assert_nothing_placed(user, product, *, stock, quantity):
    """The refused checkout left the product, its stock and the shopper's cart as they were."""
    assert not OrderItem.objects.filter(product=product).exists()
    assert not StockMovement.objects.filter(product=product).exists()
    assert stock_of(product) == stock
    assert CartItem.objects.get(cart__user=user, product=product).quantity == quantity


def test_a_line_over_the_per_line_limit_is_refused_at_checkout_and_nothing_changes():
    # A line that got past the cart (added before the limit, or the limit lowered since).
    user = UserFactory()
    laptop = ProductFactory(name="Laptop", price="650.00", stock=60)
    CartItemFactory(cart__user=user, product=laptop, quantity=60)
    with pytest.raises(ValidationError) as exc:
        place(user)
    assert exc.value.messages == ["You can buy at most 10 of Laptop per order."]
    assert exc.value.error_list[0].code == "exceeds_line_limit"
    assert Order.objects.count() == 0
    assert_nothing_placed(user, laptop, stock=60, quantity=60)


def test_the_per_line_limit_is_a_setting_and_its_maximum_is_allowed(settings):
    settings.ORDER_MAX_QUANTITY_PER_LINE = 2
    user = UserFactory()
    mug, pen = ProductFactory(name="Mug", stock=9), ProductFactory(name="Pen", stock=9)
    CartItemFactory(cart__user=user, product=mug, quantity=2)
    line = CartItemFactory(cart__user=user, product=pen, quantity=3)
    with pytest.raises(ValidationError) as exc:
        place(user)
    assert exc.value.messages == ["You can buy at most 2 of Pen per order."]
    assert Order.objects.count() == 0 and stock_of(mug) == 9

    line.quantity = 2
    line.save()
    order = place(user)
    assert sorted(order.items.values_list("quantity", flat=True)) == [2, 2]


def test_a_fourth_unpaid_order_is_refused_and_nothing_changes():
    user = UserFactory()
    for method in ["cod", "bank_transfer", "cod"]:  # cash on delivery is unpaid too
        CartItemFactory(cart__user=user, product=ProductFactory(stock=5), quantity=1)
        place(user, payment_method=method)
    product = ProductFactory(stock=5)
    CartItemFactory(cart__user=user, product=product, quantity=2)

    with pytest.raises(ValidationError) as exc:
        place(user, payment_method="bank_transfer")

    assert exc.value.messages == [
        "You already have 3 unpaid orders, the most we allow: please pay for or cancel one "
        "under “My orders” before placing another."
    ]
    assert exc.value.error_list[0].code == "too_many_unpaid"
    assert Order.objects.filter(user=user).count() == 3
    assert_nothing_placed(user, product, stock=5, quantity=2)


def test_paid_cancelled_and_other_customers_orders_do_not_count_as_unpaid(settings):
    settings.ORDER_MAX_UNPAID_PER_CUSTOMER = 1
    user = UserFactory()
    OrderFactory(user=user, status=S.PAID)
    OrderFactory(user=user, status=S.CANCELLED)
    OrderFactory(user=user, status=S.DELIVERED)
    OrderFactory(status=S.PENDING)  # someone else's
    CartItemFactory(cart__user=user, product=ProductFactory(stock=5))
    place(user)

    CartItemFactory(cart__user=user, product=ProductFactory(stock=5))
    with pytest.raises(ValidationError) as exc:
        place(user)
    assert exc.value.messages == [
        "You already have 1 unpaid order: please pay for it or cancel it under “My orders” "
        "before placing another."
    ]


def test_paying_an_order_frees_a_place_for_the_next(settings):
    settings.ORDER_MAX_UNPAID_PER_CUSTOMER = 1
    user = UserFactory()
    first, _product = placed_order(user)
    CartItemFactory(cart__user=user, product=ProductFactory(stock=5))
    with pytest.raises(ValidationError):
        place(user)
    order_set_status(order=first, to_status=S.PAID, by=None)
    assert place(user).status == S.PENDING


def test_a_double_submit_at_the_unpaid_limit_still_finds_the_first_order(settings):
    # The second submit of a form must lead to its order, not to "too many unpaid orders".
    settings.ORDER_MAX_UNPAID_PER_CUSTOMER = 1
    user = UserFactory()
    CartItemFactory(cart__user=user, product=ProductFactory(stock=5))
    order = place(user, checkout_token="tok-limit")
    CartItemFactory(cart__user=user, product=ProductFactory(stock=5))  # a refilled cart
    with pytest.raises(OrderAlreadyPlaced) as exc:
        place(user, checkout_token="tok-limit")
    assert exc.value.order == order


# ------------------------------------------------------------------------------
# Unpaid bank transfers expire (issue 16.7)
# ------------------------------------------------------------------------------
def aged_order(user=None, *, days, method="bank_transfer", status=S.PENDING, quantity=2):
    """A real order (stock taken) placed `days` ago, then moved to `status`."""
    order, product = placed_order(user, quantity=quantity, stock=5)
    order.payment_method = method
    order.created_at = timezone.now() - timedelta(days=days)
    order.save(update_fields=["payment_method", "created_at"])
    if status != S.PENDING:
        order_set_status(order=order, to_status=status, by=None)
    return Order.objects.get(pk=order.pk), product


def test_expiry_cancels_only_overdue_bank_transfer_orders_still_pending(
    django_capture_on_commit_callbacks, mailoutbox
):
    due, due_product = aged_order(days=8)
    recent, recent_product = aged_order(days=6)
    cod, cod_product = aged_order(days=30, method="cod")
    paid, paid_product = aged_order(days=30, status=S.PAID)
    cancelled, _ = aged_order(days=30, status=S.CANCELLED)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        expired, failed = order_expire_overdue()

    assert [order.pk for order in expired] == [due.pk] and failed == []
    statuses = dict(Order.objects.values_list("pk", "status"))
    assert statuses == {
        due.pk: S.CANCELLED,
        recent.pk: S.PENDING,
        cod.pk: S.PENDING,
        paid.pk: S.PAID,
        cancelled.pk: S.CANCELLED,
    }
    assert stock_of(due_product) == 5  # restocked
    assert [stock_of(p) for p in (recent_product, cod_product, paid_product)] == [3, 3, 3]
    movement = StockMovement.objects.get(product=due_product, reason="order_cancelled")
    assert movement.change == 2 and movement.created_by is None
    assert movement.note == f"Order {due.number} cancelled: not paid in time"
    change = due.status_changes.last()
    assert (change.from_status, change.to_status, change.changed_by) == (
        S.PENDING,
        S.CANCELLED,
        None,
    )
    assert [mail.to for mail in mailoutbox] == [[due.customer_email]]
    assert mailoutbox[0].subject == f"Your order {due.number} is now cancelled"
    assert "We did not receive your bank transfer within 7 days" in mailoutbox[0].body
    html, _mimetype = mailoutbox[0].alternatives[0]
    assert "We did not receive your bank transfer within 7 days" in html


def test_expiry_follows_the_setting_and_counts_from_the_moment_of_ordering(settings):
    settings.BANK_TRANSFER_TIMEOUT_DAYS = 2
    order, _product = aged_order(days=0)
    placed = order.created_at
    assert order.payment_due_at == placed + timedelta(days=2)
    assert order_expire_overdue(now=placed + timedelta(days=2, seconds=-1)) == ([], [])
    assert Order.objects.get(pk=order.pk).status == S.PENDING
    expired, _failed = order_expire_overdue(now=placed + timedelta(days=2))
    assert [o.pk for o in expired] == [order.pk]


def test_expiring_twice_cancels_restocks_and_mails_once(
    django_capture_on_commit_callbacks, mailoutbox
):
    order, product = aged_order(days=8)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert len(order_expire_overdue()[0]) == 1
        assert order_expire_overdue() == ([], [])
        # A stale copy of the order, as a second run that listed it before the first ran.
        assert order_expire(order=order) is False
    assert stock_of(product) == 5
    assert StockMovement.objects.filter(reason="order_cancelled").count() == 1
    assert order.status_changes.filter(to_status=S.CANCELLED).count() == 1
    assert len(mailoutbox) == 1


def test_an_order_paid_after_the_run_listed_it_is_not_expired():
    order, product = aged_order(days=8)
    stale = Order.objects.get(pk=order.pk)
    order_set_status(order=order, to_status=S.PAID, by=None)  # the money arrived meanwhile
    assert order_expire(order=stale) is False
    assert Order.objects.get(pk=order.pk).status == S.PAID
    assert stock_of(product) == 3


def test_cash_on_delivery_orders_never_expire():
    order, product = aged_order(days=365, method="cod")
    assert order.payment_due_at is None
    assert order_expire(order=order) is False
    assert Order.objects.get(pk=order.pk).status == S.PENDING and stock_of(product) == 3


def test_one_order_failing_to_expire_does_not_stop_the_others(monkeypatch, caplog):
    broken, broken_product = aged_order(days=9)
    fine, fine_product = aged_order(days=8)
    real_adjust = services.product_stock_adjust

    def adjust(*, product_id, **kwargs):
        if product_id == broken_product.pk:
            raise RuntimeError("disk full")
        return real_adjust(product_id=product_id, **kwargs)

    monkeypatch.setattr(services, "product_stock_adjust", adjust)
    with caplog.at_level(logging.ERROR, logger="orders.services"):
        expired, failed = order_expire_overdue()

    assert [o.pk for o in expired] == [fine.pk] and [o.pk for o in failed] == [broken.pk]
    assert f"Could not expire unpaid order {broken.number}" in caplog.text
    # The failed order's transaction was rolled back whole.
    assert Order.objects.get(pk=broken.pk).status == S.PENDING
    assert broken.status_changes.count() == 1 and stock_of(broken_product) == 3
    assert Order.objects.get(pk=fine.pk).status == S.CANCELLED and stock_of(fine_product) == 5


def test_the_confirmation_of_a_bank_transfer_order_says_by_when_to_pay(
    django_capture_on_commit_callbacks, mailoutbox, settings
):
    settings.BANK_TRANSFER_TIMEOUT_DAYS = 7
    user = UserFactory()
    CartItemFactory(cart__user=user, product=ProductFactory(stock=5))
    with django_capture_on_commit_callbacks(execute=True):
        order = place(user, payment_method="bank_transfer")
    due = date_format(timezone.localtime(order.created_at + timedelta(days=7)), "DATETIME_FORMAT")
    assert f"Please pay by {due}: an order not paid by then is cancelled." in mailoutbox[0].body
