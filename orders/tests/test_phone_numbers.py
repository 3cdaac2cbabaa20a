"""One phone rule (issue 15.22): the profile and checkout accept and refuse the same numbers.

The profile used to accept "555.123.4567" (dots allowed) and checkout, prefilled with it,
refused it. Both now use django-phonenumber-field (the phonenumbers library), numbers
without +country code are read in PHONENUMBER_DEFAULT_REGION (US), and stored in E.164.
"""

import re
from html import unescape
from http import HTTPStatus

import pytest
from django.urls import reverse

from accounts.forms import ProfileForm
from accounts.tests.factories import UserFactory
from carts.tests.factories import CartItemFactory
from orders.forms import CheckoutForm
from orders.models import Order
from orders.tests.factories import checkout_data, checkout_form_values
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

PROFILE = reverse("accounts:profile")
CHECKOUT = reverse("orders:checkout")
INVALID = (
    "Enter a valid phone number (e.g. (201) 555-0123) "
    "or a number with an international call prefix."
)
ACCEPTED = [
    ("(201) 555-0123", "+12015550123", "(201) 555-0123"),
    ("201.555.0123", "+12015550123", "(201) 555-0123"),
    ("+1 201 555 0123", "+12015550123", "(201) 555-0123"),
    ("+44 (20) 7946-0000", "+442079460000", "+44 20 7946 0000"),
]
REFUSED = ["555.123.4567", "555-0100", "call me", "12", "+44 20 1", "020 7946 0000"]


def _profile_data(user, **changes) -> dict[str, str]:
    return {
        "username": user.username,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": user.email,
        "phone": "",
        "address_line1": "12 St James's Square",
        "address_line2": "",
        "city": "London",
        "postal_code": "SW1Y 4JH",
        "country": "GB",
        **changes,
    }


@pytest.mark.parametrize("typed", [a[0] for a in ACCEPTED] + REFUSED)
def test_profile_and_checkout_forms_judge_every_phone_number_alike(typed):
    user = UserFactory()
    profile = ProfileForm(data=_profile_data(user, phone=typed), instance=user)
    checkout = CheckoutForm(data=checkout_form_values(phone=typed))
    assert profile.is_valid() == checkout.is_valid(), (profile.errors, checkout.errors)
    assert profile.errors.get("phone") == checkout.errors.get("phone")
    if profile.errors:
        assert profile.errors["phone"] == [INVALID]


def _input_value(html: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert match, name
    value = re.search(r'value="([^"]*)"', match.group(0))
    return unescape(value.group(1)) if value else ""


@pytest.mark.parametrize(("typed", "e164", "shown"), ACCEPTED)
def test_a_phone_the_profile_accepts_is_prefilled_and_accepted_at_checkout(
    client, typed, e164, shown
):
    user = UserFactory()
    CartItemFactory(cart__user=user, product=ProductFactory(stock=5), quantity=1)
    client.force_login(user)

    saved = client.post(PROFILE, _profile_data(user, phone=typed))
    assert saved.status_code == HTTPStatus.FOUND
    user.refresh_from_db()
    assert user.phone == e164  # one stored form, whatever was typed

    page = client.get(CHECKOUT)
    assert _input_value(page.content.decode(), "phone") == shown  # national when in the region
    placed = client.post(CHECKOUT, checkout_data(client, phone=shown))
    assert placed.status_code == HTTPStatus.FOUND, placed.context["form"].errors
    order = Order.objects.get(user=user)
    assert order.shipping_phone == e164

    detail = client.get(order.get_absolute_url())
    assert str(order.shipping_phone) in detail.content.decode()  # +1 201-555-0123 style


@pytest.mark.parametrize("typed", ["555.123.4567", "call me"])
def test_a_phone_refused_by_one_form_is_refused_by_the_other_with_the_same_message(client, typed):
    user = UserFactory(phone="")
    CartItemFactory(cart__user=user, product=ProductFactory(stock=5), quantity=1)
    client.force_login(user)

    profile = client.post(PROFILE, _profile_data(user, phone=typed))
    assert profile.status_code == HTTPStatus.OK
    assert INVALID in unescape(profile.content.decode())
    user.refresh_from_db()
    assert user.phone == ""

    checkout = client.post(CHECKOUT, checkout_data(client, phone=typed))
    assert checkout.status_code == HTTPStatus.OK
    assert INVALID in unescape(checkout.content.decode())
    assert not Order.objects.exists()


def test_the_default_region_reads_numbers_without_a_country_code(settings):
    from myecommerce.tests.conftest import settings_json

    code = "import json, myecommerce.settings as s; print(json.dumps(s.PHONENUMBER_DEFAULT_REGION))"
    assert settings_json(code) == "US"
    assert settings_json(code, PHONENUMBER_DEFAULT_REGION="gb") == "GB"


@pytest.mark.django_db(transaction=True)
def test_the_migrations_store_readable_numbers_in_e164_and_keep_the_rest():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("accounts", "0003_create_customer_and_manager_groups"), ("orders", "0001_initial")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    OldUser, OldOrder = old.get_model("accounts", "User"), old.get_model("orders", "Order")
    phones = {"dots": "201.555.0123", "uk": "+44 (20) 7946-0000", "odd": "555.123.4567"}
    for name, phone in phones.items():
        user = OldUser.objects.create(username=name, email=f"{name}@example.com", phone=phone)
        OldOrder.objects.create(
            number=f"N-{name}",
            user=user,
            payment_method="cod",
            shipping_phone=phone,
            **{
                f"{side}_{field}": "x"
                for side in ("shipping", "billing")
                for field in ("full_name", "address_line1", "city", "postal_code")
            },
            shipping_country="US",
            billing_country="US",
            subtotal="1.00",
            shipping_cost="0.00",
            total="1.00",
        )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    # Forward to the latest migration of every app (0004/0002 and any later ones), so the
    # tests after this one find the schema they expect.
    executor.migrate(executor.loader.graph.leaf_nodes())
    expected = {"dots": "+12015550123", "uk": "+442079460000", "odd": "555.123.4567"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT username, phone FROM accounts_user")
        assert {k: v for k, v in cursor.fetchall() if k in expected} == expected
        cursor.execute("SELECT number, shipping_phone FROM orders_order")
        assert dict(cursor.fetchall()) == {f"N-{k}": v for k, v in expected.items()}
