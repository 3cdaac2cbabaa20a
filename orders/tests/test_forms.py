import uuid

import pytest

from accounts.tests.factories import UserFactory
from orders.forms import CheckoutForm
from orders.services import Address
from orders.tests.factories import checkout_form_values

TOKEN = uuid.uuid4().hex


def valid_data(**overrides) -> dict[str, str]:
    return checkout_form_values(
        **{"checkout_token": TOKEN, "phone": "+44 (20) 7946-0000", **overrides}
    )


def test_a_complete_form_gives_the_shipping_address_and_no_billing_address():
    form = CheckoutForm(data=valid_data(full_name="  Ada Lovelace  "))
    assert form.is_valid(), form.errors
    assert form.shipping_address() == Address(
        full_name="Ada Lovelace",
        address_line1="12 St James's Square",
        city="London",
        postal_code="SW1Y 4JH",
        country="GB",
        phone="+442079460000",  # E.164, whatever the shopper typed
    )
    assert form.billing_address() is None
    assert form.cleaned_data["checkout_token"] == TOKEN


def test_a_separate_billing_address_needs_its_fields():
    form = CheckoutForm(data=valid_data(billing_same_as_shipping=None, billing_city="Dublin"))
    assert not form.is_valid()
    assert set(form.errors) == {
        "billing_full_name",
        "billing_address_line1",
        "billing_postal_code",
        "billing_country",
    }
    assert form.errors.as_data()["billing_full_name"][0].code == "billing_required"


def test_a_separate_billing_address_is_returned():
    form = CheckoutForm(
        data=valid_data(
            billing_same_as_shipping=None,
            billing_full_name="Ada's Company",
            billing_address_line1="1 Main St",
            billing_city="Dublin",
            billing_postal_code="D01",
            billing_country="IE",
        )
    )
    assert form.is_valid(), form.errors
    billing = form.billing_address()
    assert (billing.full_name, billing.city, billing.country, billing.phone) == (
        "Ada's Company",
        "Dublin",
        "IE",
        "",
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("full_name", ""),
        ("address_line1", ""),
        ("city", ""),
        ("postal_code", ""),
        ("country", ""),
        ("country", "XX"),
        ("country", "gb"),
        ("country", "GBR"),
        ("payment_method", ""),
        ("payment_method", "bitcoin"),
        ("phone", "call me maybe"),
        ("full_name", "x" * 256),
        ("full_name", "Ada\x00Lovelace"),
        ("checkout_token", ""),
        ("checkout_token", "not-a-uuid"),
    ],
)
def test_bad_input_is_a_field_error(field, value):
    form = CheckoutForm(data=valid_data(**{field: value}))
    assert not form.is_valid()
    assert field in form.errors


def test_the_expired_token_message_is_clear():
    form = CheckoutForm(data=valid_data(checkout_token="nope"))
    assert not form.is_valid()
    assert form.errors.as_data()["checkout_token"][0].code == "bad_token"


def test_address_line_2_and_phone_are_optional():
    form = CheckoutForm(data=valid_data(address_line2=None, phone=None))
    assert form.is_valid(), form.errors


@pytest.mark.django_db
def test_the_initial_values_come_from_the_profile():
    user = UserFactory.build(
        first_name="Grace",
        last_name="Hopper",
        address_line1="1 Navy Way",
        address_line2="Suite 2",
        city="Arlington",
        postal_code="22202",
        country="US",
        phone="+12015550100",
    )
    initial = CheckoutForm.initial_for(user, checkout_token=TOKEN)
    assert initial["full_name"] == "Grace Hopper"
    assert (initial["address_line1"], initial["city"], initial["country"]) == (
        "1 Navy Way",
        "Arlington",
        "US",
    )
    assert initial["phone"] == "+12015550100"
    assert initial["billing_same_as_shipping"] is True
    assert initial["checkout_token"] == TOKEN


def test_an_unknown_profile_country_is_not_preselected():
    user = UserFactory.build(country="ZZ")
    assert CheckoutForm.initial_for(user, checkout_token=TOKEN)["country"] == ""
