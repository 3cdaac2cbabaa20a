from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import StaffFactory
from orders.models import Order, OrderStatusChange
from orders.tests.factories import OrderFactory, OrderItemFactory
from products.models import StockMovement
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:orders_order_changelist")


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def act(client, action: str, *orders):
    data = {"action": action, "_selected_action": [o.pk for o in orders], "index": 0}
    return client.post(CHANGELIST, data, follow=True)


# ------------------------------------------------------------------------------
# Pages load
# ------------------------------------------------------------------------------
def test_order_changelist_and_change_form_load(staff_client):
    order = OrderFactory(customer_email="ada@example.com")
    OrderItemFactory(order=order, product_name="Kettle", product_sku="K-1")
    OrderStatusChange.objects.create(order=order, from_status="", to_status="pending")

    response = staff_client.get(CHANGELIST)
    assert response.status_code == HTTPStatus.OK
    assert order.number.encode() in response.content
    assert b"ada@example.com" in response.content

    change = staff_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert change.status_code == HTTPStatus.OK
    assert b"Kettle" in change.content and b"K-1" in change.content
    assert b"status history" in change.content.lower()
    # Copies are read-only: no input for the customer's e-mail, the total or a line's price.
    assert b'name="customer_email"' not in change.content
    assert b'name="total"' not in change.content
    assert b'name="items-0-unit_price"' not in change.content


def test_order_pages_show_amounts_with_currency_and_countries_by_name(staff_client):
    order = OrderFactory(
        subtotal="1410.00",
        shipping_cost="8.45",
        total="1418.45",
        currency="USD",
        shipping_country="DE",
        billing_country="FR",
    )
    OrderItemFactory(order=order, unit_price="705.00", quantity=2, line_total="1410.00")

    listing = staff_client.get(CHANGELIST).content.decode()
    change = staff_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    content = change.content.decode()

    assert "1,418.45 USD" in listing
    for amount in ("1,410.00 USD", "8.45 USD", "1,418.45 USD", "705.00 USD"):
        assert f'<div class="readonly">{amount}</div>' in content or f">{amount}<" in content
    assert ">Germany<" in content
    assert ">France<" in content
    assert ">DE<" not in content


def test_orders_cannot_be_added_or_deleted_in_the_admin(staff_client):
    order = OrderFactory()
    assert staff_client.get(reverse("admin:orders_order_add")).status_code == HTTPStatus.FORBIDDEN
    delete = reverse("admin:orders_order_delete", args=[order.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == HTTPStatus.FORBIDDEN
    assert Order.objects.filter(pk=order.pk).exists()


def test_filters_and_search(staff_client):
    paid = OrderFactory(status=Order.Status.PAID, customer_email="paid@example.com")
    pending = OrderFactory(customer_email="pending@example.com")

    def numbers(**params):
        response = staff_client.get(CHANGELIST, params)
        assert response.status_code == HTTPStatus.OK
        return [o.number for o in response.context["cl"].result_list]

    assert numbers(status__exact="paid") == [paid.number]
    assert numbers(q="pending@example.com") == [pending.number]
    assert numbers(q=paid.number) == [paid.number]
    assert set(numbers(created_at__gte="2000-01-01 00:00:00+00:00")) == {
        paid.number,
        pending.number,
    }


def test_changelist_runs_a_fixed_number_of_queries(
    client, superuser, django_assert_max_num_queries
):
    client.force_login(superuser)

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(CHANGELIST).status_code == HTTPStatus.OK
        return len(queries)

    for order in OrderFactory.create_batch(5):
        OrderItemFactory(order=order)
    few = count_queries()
    for order in OrderFactory.create_batch(95):
        OrderItemFactory(order=order)
    assert count_queries() == few
    with django_assert_max_num_queries(12):
        client.get(CHANGELIST)


# ------------------------------------------------------------------------------
# Status actions go through orders.services.order_set_status
# ------------------------------------------------------------------------------
def test_mark_paid_moves_pending_orders_and_emails_the_customers(
    staff_client, staff, mailoutbox, django_capture_on_commit_callbacks
):
    first, second = OrderFactory(), OrderFactory()

    with django_capture_on_commit_callbacks(execute=True):
        response = act(staff_client, "mark_paid", first, second)

    assert "2 orders marked as paid; the customers were e-mailed." in messages_of(response)
    assert set(Order.objects.values_list("status", flat=True)) == {Order.Status.PAID}
    changes = OrderStatusChange.objects.filter(to_status=Order.Status.PAID)
    assert {c.changed_by for c in changes} == {staff}
    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        [first.customer_email, second.customer_email]
    )


def test_invalid_transitions_are_reported_per_order_and_the_rest_go_through(staff_client):
    pending = OrderFactory()
    shipped = OrderFactory(status=Order.Status.SHIPPED)

    response = act(staff_client, "mark_delivered", pending, shipped)

    texts = messages_of(response)
    assert any(pending.number in t and "cannot go" in t for t in texts)
    assert "1 order marked as delivered; the customer was e-mailed." in texts
    pending.refresh_from_db()
    shipped.refresh_from_db()
    assert (pending.status, shipped.status) == (Order.Status.PENDING, Order.Status.DELIVERED)


@pytest.mark.parametrize(
    ("action", "start", "end"),
    [
        ("mark_paid", Order.Status.PENDING, Order.Status.PAID),
        ("mark_shipped", Order.Status.PAID, Order.Status.SHIPPED),
        ("mark_delivered", Order.Status.SHIPPED, Order.Status.DELIVERED),
        ("mark_cancelled", Order.Status.PAID, Order.Status.CANCELLED),
    ],
)
def test_each_status_action_does_what_it_says(staff_client, action, start, end):
    order = OrderFactory(status=start)
    act(staff_client, action, order)
    order.refresh_from_db()
    assert order.status == end


def test_mark_cancelled_restocks_and_records_who_did_it(staff_client, staff):
    product = ProductFactory(stock=2)
    order = OrderFactory()
    OrderItemFactory(order=order, product=product, quantity=3)
    delivered = OrderFactory(status=Order.Status.DELIVERED)

    response = act(staff_client, "mark_cancelled", order, delivered)

    product.refresh_from_db()
    assert product.stock == 5
    movement = StockMovement.objects.get()
    assert (movement.change, movement.reason, movement.created_by) == (
        3,
        StockMovement.Reason.ORDER_CANCELLED,
        staff,
    )
    assert any(delivered.number in t for t in messages_of(response))
    delivered.refresh_from_db()
    assert delivered.status == Order.Status.DELIVERED


def test_cancelling_twice_restocks_once(staff_client):
    product = ProductFactory(stock=0)
    order = OrderFactory()
    OrderItemFactory(order=order, product=product, quantity=1)

    act(staff_client, "mark_cancelled", order)
    act(staff_client, "mark_cancelled", order)

    product.refresh_from_db()
    assert product.stock == 1


def test_staff_without_order_permissions_cannot_change_status(client):
    client.force_login(StaffFactory())
    order = OrderFactory()
    response = client.post(
        CHANGELIST, {"action": "mark_paid", "_selected_action": [order.pk], "index": 0}
    )
    assert response.status_code == HTTPStatus.FORBIDDEN
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING


def test_order_page_offers_only_the_next_statuses_and_they_work(staff_client):
    order = OrderFactory()
    url = reverse("admin:orders_order_change", args=[order.pk])

    page = staff_client.get(url).content.decode()

    assert "Mark as paid" in page and "Mark as cancelled" in page
    assert "Mark as shipped" not in page and "Mark as delivered" not in page

    data = {"action": "mark_paid", "_selected_action": [order.pk], "index": 0, "_from_order": "1"}
    response = staff_client.post(CHANGELIST, data)

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == url
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert "Mark as shipped" in staff_client.get(url).content.decode()


def test_finished_orders_offer_no_status_buttons(staff_client):
    order = OrderFactory(status=Order.Status.DELIVERED)
    page = staff_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert b"Mark as" not in page.content


def test_order_page_has_nothing_to_save(staff_client):
    order = OrderFactory()
    page = staff_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert b'name="_save"' not in page.content
    assert b'name="_continue"' not in page.content
