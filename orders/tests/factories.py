import uuid
from decimal import Decimal

import factory

from accounts.tests.factories import UserFactory
from orders.models import Order, OrderItem
from orders.services import Address, order_place
from products.tests.factories import ProductFactory


def address(**overrides) -> Address:
    """A complete shipping address; pass fields to change."""
    values = {
        "full_name": "Ada Lovelace",
        "address_line1": "12 St James's Square",
        "address_line2": "Flat 3",
        "city": "London",
        "postal_code": "SW1Y 4JH",
        "country": "GB",
        "phone": "+44 20 7946 0000",
    }
    return Address(**{**values, **overrides})


def new_token() -> str:
    return uuid.uuid4().hex


def order_place_for(user, **overrides) -> Order:
    """order_place with a complete address, cash on delivery and a fresh token."""
    values = {
        "shipping_address": address(),
        "payment_method": Order.PaymentMethod.COD,
        "checkout_token": new_token(),
    }
    return order_place(user=user, **{**values, **overrides})


def checkout_form_values(**overrides) -> dict[str, str]:
    """A complete checkout form (with a fresh token); pass `field=None` to leave one out."""
    data = {
        "full_name": "Ada Lovelace",
        "address_line1": "12 St James's Square",
        "address_line2": "",
        "city": "London",
        "postal_code": "SW1Y 4JH",
        "country": "GB",
        "phone": "+44 20 7946 0000",
        "billing_same_as_shipping": "on",
        "payment_method": "cod",
        "checkout_token": new_token(),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def checkout_data(client, **overrides) -> dict[str, str]:
    """The checkout form as the page renders it (GET first, for the session's token)."""
    from http import HTTPStatus

    from django.urls import reverse

    response = client.get(reverse("orders:checkout"))
    assert response.status_code == HTTPStatus.OK
    return checkout_form_values(
        **{"checkout_token": response.context["checkout_token"], **overrides}
    )


class OrderFactory(factory.django.DjangoModelFactory):
    """An order written directly (no stock taken); use order_place for the real thing."""

    class Meta:
        model = Order

    user = factory.SubFactory(UserFactory)
    customer_name = factory.LazyAttribute(lambda o: o.user.get_full_name() if o.user else "Guest")
    customer_email = factory.LazyAttribute(lambda o: o.user.email if o.user else "gone@example.com")
    status = Order.Status.PENDING
    payment_method = Order.PaymentMethod.COD
    shipping_full_name = "Ada Lovelace"
    shipping_address_line1 = "12 St James's Square"
    shipping_city = "London"
    shipping_postal_code = "SW1Y 4JH"
    shipping_country = "GB"
    billing_full_name = "Ada Lovelace"
    billing_address_line1 = "12 St James's Square"
    billing_city = "London"
    billing_postal_code = "SW1Y 4JH"
    billing_country = "GB"
    subtotal = "19.99"
    total = "19.99"
    currency = "USD"


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    product_name = factory.LazyAttribute(lambda o: o.product.name if o.product else "Gone")
    product_sku = factory.LazyAttribute(lambda o: o.product.sku if o.product else "GONE")
    unit_price = "19.99"
    quantity = 1
    line_total = factory.LazyAttribute(lambda o: str(o.quantity * Decimal(o.unit_price)))
