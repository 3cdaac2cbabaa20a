from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import StaffFactory, UserFactory
from carts.models import CartItem
from carts.tests.factories import CartItemFactory
from orders.models import Order
from orders.services import CHECKOUT_TOKEN_SESSION_KEY, order_set_status
from orders.tests.factories import OrderFactory, OrderItemFactory, checkout_data
from products.models import Product, StockMovement
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

CHECKOUT = reverse("orders:checkout")
ORDERS = reverse("orders:list")


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def shopper(client):
    user = UserFactory(
        first_name="Ada",
        last_name="Lovelace",
        address_line1="12 St James's Square",
        city="London",
        postal_code="SW1Y 4JH",
        country="GB",
        phone="+44 20 7946 0000",
    )
    client.force_login(user)
    return user


@pytest.fixture
def mug(shopper):
    product = ProductFactory(name="Blue mug", sku="MUG-1", price="12.50", stock=5)
    CartItemFactory(cart__user=shopper, product=product, quantity=2)
    return product


# ------------------------------------------------------------------------------
# Checkout
# ------------------------------------------------------------------------------
def test_checkout_needs_a_signed_in_user(client):
    response = client.get(CHECKOUT)
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == f"{reverse('accounts:login')}?next={CHECKOUT}"


def test_checkout_with_an_empty_cart_goes_back_to_the_cart(client, shopper):
    response = client.get(CHECKOUT)
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == reverse("carts:detail")
    assert "Your cart is empty" in messages_of(response)[0]


def test_the_checkout_form_is_prefilled_from_the_profile_and_shows_a_summary(client, mug):
    response = client.get(CHECKOUT)
    assert response.status_code == HTTPStatus.OK
    form = response.context["form"]
    assert form["full_name"].value() == "Ada Lovelace"
    assert form["city"].value() == "London" and form["country"].value() == "GB"
    assert form["phone"].value() == "+44 20 7946 0000"
    token = client.session[CHECKOUT_TOKEN_SESSION_KEY]
    html = response.content.decode()
    assert f'name="checkout_token" value="{token}"' in html
    assert "2 × Blue mug" in html and "25.00 USD" in html


def test_the_token_stays_the_same_across_reloads(client, mug):
    first = client.get(CHECKOUT).context["checkout_token"]
    assert client.get(CHECKOUT).context["checkout_token"] == first


def test_placing_an_order_redirects_to_it(
    client, shopper, mug, mailoutbox, django_capture_on_commit_callbacks
):
    data = checkout_data(client)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(CHECKOUT, data)

    order = Order.objects.get()
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == reverse("orders:detail", kwargs={"number": order.number})
    assert f"Your order {order.number} has been placed" in messages_of(response)[0]
    assert order.user == shopper and order.total == Decimal("25.00")
    assert order.shipping_country == "GB" and order.billing_city == "London"
    assert Product.objects.get(pk=mug.pk).stock == 3
    assert not CartItem.objects.filter(cart__user=shopper).exists()
    assert CHECKOUT_TOKEN_SESSION_KEY not in client.session
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [shopper.email]


def test_a_separate_billing_address_is_saved(client, mug):
    data = checkout_data(
        client,
        billing_same_as_shipping=None,
        billing_full_name="Ada's Company",
        billing_address_line1="1 Main St",
        billing_city="Dublin",
        billing_postal_code="D01",
        billing_country="IE",
    )
    client.post(CHECKOUT, data)
    order = Order.objects.get()
    assert (order.billing_full_name, order.billing_country, order.shipping_country) == (
        "Ada's Company",
        "IE",
        "GB",
    )


def test_a_double_submit_makes_one_order(client, shopper, mug):
    data = checkout_data(client)
    first = client.post(CHECKOUT, data)
    second = client.post(CHECKOUT, data)

    order = Order.objects.get()
    assert first.url == second.url == order.get_absolute_url()
    assert f"Order {order.number} was already placed" in messages_of(second)[-1]
    assert Product.objects.get(pk=mug.pk).stock == 3


def test_a_double_submit_makes_one_order_even_with_a_refilled_cart(client, shopper, mug):
    data = checkout_data(client)
    client.post(CHECKOUT, data)
    CartItemFactory(cart__user=shopper, product=mug, quantity=1)

    response = client.post(CHECKOUT, data)

    assert Order.objects.count() == 1
    assert response.url == Order.objects.get().get_absolute_url()
    assert CartItem.objects.filter(cart__user=shopper).count() == 1


def test_a_stale_token_is_refused_and_the_page_offers_a_fresh_one(client, mug):
    data = checkout_data(client)
    stale = {**data, "checkout_token": "0" * 32}
    response = client.post(CHECKOUT, stale)
    assert response.status_code == HTTPStatus.OK
    assert "This checkout form has expired" in response.content.decode()
    assert not Order.objects.exists()
    # The re-shown page carries the live token, so submitting it again works.
    retry = {**data, "checkout_token": response.context["checkout_token"]}
    assert client.post(CHECKOUT, retry).status_code == HTTPStatus.FOUND
    assert Order.objects.count() == 1


@pytest.mark.parametrize("token", ["", "not-a-uuid", "x" * 500])
def test_a_missing_or_garbage_token_is_a_form_error(client, mug, token):
    response = client.post(CHECKOUT, checkout_data(client, checkout_token=token))
    assert response.status_code == HTTPStatus.OK
    assert "checkout_token" in response.context["form"].errors
    assert not Order.objects.exists()


def test_bad_input_is_shown_as_form_errors(client, mug):
    response = client.post(CHECKOUT, checkout_data(client, country="XX", full_name=""))
    assert response.status_code == HTTPStatus.OK
    errors = response.context["form"].errors
    assert set(errors) == {"country", "full_name"}
    assert not Order.objects.exists()
    assert CartItem.objects.count() == 1


def test_a_bad_post_with_an_empty_cart_goes_back_to_the_cart(client, shopper):
    response = client.post(CHECKOUT, {"full_name": ""})
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == reverse("carts:detail")


def test_a_short_line_sends_the_shopper_back_to_the_cart_naming_it(client, shopper, mug):
    data = checkout_data(client)
    Product.objects.filter(pk=mug.pk).update(stock=1)

    response = client.post(CHECKOUT, data)

    assert response.status_code == HTTPStatus.FOUND
    assert response.url == reverse("carts:detail")
    assert messages_of(response) == ["“Blue mug”: only 1 left in stock, but your cart has 2."]
    assert not Order.objects.exists() and not StockMovement.objects.exists()
    assert Product.objects.get(pk=mug.pk).stock == 1
    assert CartItem.objects.filter(cart__user=shopper).count() == 1
    # The same form works once the cart is fixed.
    CartItem.objects.filter(cart__user=shopper).update(quantity=1)
    assert client.post(CHECKOUT, data).status_code == HTTPStatus.FOUND
    assert Order.objects.count() == 1


def test_a_fourth_unpaid_order_sends_the_shopper_back_to_the_cart_saying_why(client, shopper, mug):
    OrderFactory.create_batch(3, user=shopper, status=Order.Status.PENDING)
    data = checkout_data(client)

    response = client.post(CHECKOUT, data)

    assert response.status_code == HTTPStatus.FOUND
    assert response.url == reverse("carts:detail")
    assert messages_of(response) == [
        "You already have 3 unpaid orders, the most we allow: please pay for or cancel one "
        "under “My orders” before placing another."
    ]
    assert Order.objects.filter(user=shopper).count() == 3
    assert Product.objects.get(pk=mug.pk).stock == 5
    assert CartItem.objects.get(cart__user=shopper).quantity == 2


def test_a_line_over_the_per_order_limit_is_named_at_checkout(client, shopper, mug, settings):
    settings.ORDER_MAX_QUANTITY_PER_LINE = 1
    response = client.post(CHECKOUT, checkout_data(client))
    assert messages_of(response) == ["You can buy at most 1 of Blue mug per order."]
    assert not Order.objects.exists() and Product.objects.get(pk=mug.pk).stock == 5


def test_bank_transfer_orders_show_the_instructions(client, mug, settings):
    settings.STORE_BANK_TRANSFER_INSTRUCTIONS = "Pay to IBAN TEST-123."
    response = client.post(
        CHECKOUT, checkout_data(client, payment_method="bank_transfer"), follow=True
    )
    html = response.content.decode()
    assert "Bank transfer" in html and "Pay to IBAN TEST-123." in html


@pytest.mark.parametrize(
    "status", [Order.Status.CANCELLED, Order.Status.PAID, Order.Status.SHIPPED]
)
def test_payment_instructions_only_while_the_order_awaits_payment(
    client, shopper, settings, status
):
    settings.STORE_BANK_TRANSFER_INSTRUCTIONS = "Pay to IBAN TEST-123."
    waiting = OrderFactory(user=shopper, payment_method=Order.PaymentMethod.BANK_TRANSFER)
    done = OrderFactory(
        user=shopper, payment_method=Order.PaymentMethod.BANK_TRANSFER, status=status
    )

    assert "Pay to IBAN TEST-123." in client.get(waiting.get_absolute_url()).content.decode()
    html = client.get(done.get_absolute_url()).content.decode()
    assert "Bank transfer" in html
    assert "Pay to IBAN TEST-123." not in html
    assert 'data-testid="bank-transfer-instructions"' not in html


def test_checkout_answers_only_get_and_post(client, mug):
    assert client.put(CHECKOUT).status_code == HTTPStatus.METHOD_NOT_ALLOWED


# ------------------------------------------------------------------------------
# Order list
# ------------------------------------------------------------------------------
def test_the_order_list_needs_a_signed_in_user(client):
    response = client.get(ORDERS)
    assert response.url == f"{reverse('accounts:login')}?next={ORDERS}"


def test_the_order_list_shows_own_orders_newest_first(client, shopper):
    now = timezone.now()
    old = OrderFactory(user=shopper, created_at=now - timedelta(days=2))
    new = OrderFactory(user=shopper, created_at=now, status=Order.Status.SHIPPED)
    OrderItemFactory(order=new, quantity=3)
    OrderFactory()  # someone else's

    response = client.get(ORDERS)

    assert response.status_code == HTTPStatus.OK
    assert list(response.context["orders"]) == [new, old]
    html = response.content.decode()
    assert "Shipped" in html and 'data-testid="status-badge"' in html
    assert response.context["orders"][0].item_count == 3


def test_the_order_list_has_an_empty_state(client, shopper):
    response = client.get(ORDERS)
    assert 'data-testid="orders-empty"' in response.content.decode()


def test_the_order_list_is_paginated(client, shopper):
    OrderFactory.create_batch(25, user=shopper)
    response = client.get(ORDERS, {"page": 2})
    assert len(response.context["orders"]) == 5
    assert client.get(ORDERS, {"page": 99}).status_code == HTTPStatus.NOT_FOUND
    assert client.get(ORDERS, {"page": "x"}).status_code == HTTPStatus.NOT_FOUND


def test_the_order_list_costs_a_fixed_number_of_queries(
    client, shopper, django_assert_max_num_queries
):
    for order in OrderFactory.create_batch(30, user=shopper):
        OrderItemFactory.create_batch(2, order=order)
    # session, user, count, page of orders, navbar cart count
    with django_assert_max_num_queries(6):
        response = client.get(ORDERS)
    assert len(response.context["orders"]) == 20


# ------------------------------------------------------------------------------
# Order detail
# ------------------------------------------------------------------------------
def test_the_order_page_shows_items_addresses_totals_and_history(client, shopper):
    order = OrderFactory(
        user=shopper,
        subtotal="25.00",
        total="25.00",
        shipping_country="FR",
        billing_full_name="Billing Person",
    )
    OrderItemFactory(order=order, product_name="Blue mug", unit_price="12.50", quantity=2)
    order_set_status(order=order, to_status=Order.Status.PAID, by=None)

    response = client.get(order.get_absolute_url())

    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "Blue mug" in html and "12.50 USD" in html and "25.00 USD" in html
    assert "France" in html and "Billing Person" in html
    assert "Cash on delivery" in html
    assert 'data-testid="bank-transfer-instructions"' not in html
    assert "Paid" in html
    assert "Cancel order" not in html  # paid: too late


def test_a_pending_order_offers_the_cancel_button(client, shopper):
    order = OrderFactory(user=shopper)
    html = client.get(order.get_absolute_url()).content.decode()
    assert reverse("orders:cancel", kwargs={"number": order.number}) in html


def test_another_users_order_is_not_found(client, shopper):
    order = OrderFactory()
    assert client.get(order.get_absolute_url()).status_code == HTTPStatus.NOT_FOUND


def test_staff_without_the_view_permission_get_a_404_for_others_orders(client):
    # A staff flag alone (no group, no permission) must not open customers' addresses.
    order = OrderFactory(shipping_phone="+44 20 7946 0999")
    staff = StaffFactory()
    client.force_login(staff)
    response = client.get(order.get_absolute_url())
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "+44 20 7946 0999" not in response.content.decode()
    # Their own orders stay theirs to read.
    own = OrderFactory(user=staff)
    assert client.get(own.get_absolute_url()).status_code == HTTPStatus.OK


@pytest.mark.parametrize("who", ["manager", "superuser", "view_order_perm"])
def test_users_with_the_view_permission_see_any_order_but_not_cancel_it_here(client, request, who):
    if who == "view_order_perm":
        viewer = StaffFactory()
        viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    else:
        viewer = request.getfixturevalue(who)
    order = OrderFactory(shipping_phone="+44 20 7946 0999")
    client.force_login(viewer)
    response = client.get(order.get_absolute_url())
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "+44 20 7946 0999" in html
    assert "Cancel order" not in html


def test_an_unknown_order_number_is_not_found(client, shopper):
    response = client.get(reverse("orders:detail", kwargs={"number": "ME-999999"}))
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert client.get("/orders/%00%27;drop/").status_code == HTTPStatus.NOT_FOUND


def test_the_order_page_needs_a_signed_in_user(client):
    order = OrderFactory()
    response = client.get(order.get_absolute_url())
    assert response.status_code == HTTPStatus.FOUND
    assert response.url.startswith(reverse("accounts:login"))


def test_the_order_page_costs_a_fixed_number_of_queries(
    client, shopper, django_assert_max_num_queries
):
    order = OrderFactory(user=shopper)
    OrderItemFactory.create_batch(10, order=order)
    with django_assert_max_num_queries(7):
        client.get(order.get_absolute_url())


# ------------------------------------------------------------------------------
# Cancel
# ------------------------------------------------------------------------------
def test_the_customer_cancels_a_pending_order(client, shopper, mug):
    client.post(CHECKOUT, checkout_data(client))
    order = Order.objects.get()
    url = reverse("orders:cancel", kwargs={"number": order.number})

    response = client.post(url)

    assert response.status_code == HTTPStatus.FOUND
    assert response.url == order.get_absolute_url()
    assert f"Order {order.number} has been cancelled" in messages_of(response)[-1]
    assert Order.objects.get().status == Order.Status.CANCELLED
    assert Product.objects.get(pk=mug.pk).stock == 5


def test_a_paid_order_cannot_be_cancelled_by_the_customer(client, shopper):
    order = OrderFactory(user=shopper, status=Order.Status.PAID)
    response = client.post(reverse("orders:cancel", kwargs={"number": order.number}))
    assert response.url == order.get_absolute_url()
    assert "can no longer be cancelled" in messages_of(response)[0]
    assert Order.objects.get().status == Order.Status.PAID


def test_cancel_is_post_only(client, shopper):
    order = OrderFactory(user=shopper)
    url = reverse("orders:cancel", kwargs={"number": order.number})
    assert client.get(url).status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert Order.objects.get().status == Order.Status.PENDING


def test_another_users_order_cannot_be_cancelled(client, shopper):
    order = OrderFactory()
    response = client.post(reverse("orders:cancel", kwargs={"number": order.number}))
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert Order.objects.get().status == Order.Status.PENDING


def test_cancel_needs_a_signed_in_user(client):
    order = OrderFactory()
    response = client.post(reverse("orders:cancel", kwargs={"number": order.number}))
    assert response.url.startswith(reverse("accounts:login"))
    assert Order.objects.get().status == Order.Status.PENDING


def test_the_checkout_page_costs_a_fixed_number_of_queries(
    client, shopper, django_assert_max_num_queries
):
    for _ in range(10):
        CartItemFactory(cart__user=shopper, product=ProductFactory(stock=5))
    client.get(CHECKOUT)  # the first visit also stores the form's token in the session
    # user, cart lines with their products, their images (the navbar count reuses the lines)
    with django_assert_max_num_queries(3):
        response = client.get(CHECKOUT)
    assert len(response.context["cart"]) == 10


# ------------------------------------------------------------------------------
# The whole journey through the client
# ------------------------------------------------------------------------------
def test_a_shopper_checks_out_finds_the_order_in_the_history_and_cancels_it(
    client, shopper, mailoutbox, django_capture_on_commit_callbacks
):
    lamp = ProductFactory(name="Desk lamp", price="30.00", stock=4)
    client.post(reverse("carts:add", args=[lamp.pk]), {"quantity": 3})
    assert client.get(reverse("carts:detail")).context["cart"].item_count == 3

    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(CHECKOUT, checkout_data(client), follow=True)
    order = Order.objects.get()
    assert page.request["PATH_INFO"] == order.get_absolute_url()
    assert "90.00 USD" in page.content.decode()

    history = client.get(ORDERS).content.decode()
    assert order.number in history and "Pending" in history
    assert Product.objects.get(pk=lamp.pk).stock == 1

    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(reverse("orders:cancel", args=[order.number]), follow=True)
    assert "Cancelled" in page.content.decode()
    assert Product.objects.get(pk=lamp.pk).stock == 4
    assert [m.subject for m in mailoutbox] == [
        f"Your order {order.number} at myecommerce",
        f"Your order {order.number} is now cancelled",
    ]
