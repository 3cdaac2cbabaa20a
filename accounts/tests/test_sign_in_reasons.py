"""The sign-in page says why the visitor is there: the page they opened needs an account,
or their account was blocked (and where to write about it, STORE_CONTACT_EMAIL)."""

from http import HTTPStatus

import pytest
from django.urls import reverse

from accounts import services
from accounts.tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory
from carts.tests.factories import CartItemFactory
from myecommerce.tests.conftest import settings_json
from orders.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("accounts:login")
BLOCKED = (
    "Your account is blocked. If you think this is a mistake, contact us at help@shop.example."
)


@pytest.fixture(autouse=True)
def _contact(settings):
    settings.STORE_CONTACT_EMAIL = "help@shop.example"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (reverse("orders:checkout"), "Sign in to check out."),
        (reverse("wishlists:detail"), "Sign in to see your wishlist."),
        (reverse("orders:list"), "Sign in to see your orders."),
    ],
)
def test_a_guest_sent_to_sign_in_is_told_why(client, url, reason):
    response = client.get(url, follow=True)
    assert response.redirect_chain[-1][0] == f"{LOGIN_URL}?next={url}"
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert reason in html
    assert "blocked" not in html
    assert reason not in client.get(LOGIN_URL).content.decode()  # said once


def test_a_guest_opening_someone_elses_order_is_told_to_sign_in(client):
    order = OrderFactory()
    response = client.get(order.get_absolute_url(), follow=True)
    assert response.redirect_chain[-1][0].startswith(LOGIN_URL)
    assert "Sign in to see your orders." in response.content.decode()


def test_the_plain_sign_in_page_gives_no_reason(client):
    html = client.get(LOGIN_URL).content.decode()
    assert "Sign in to check out" not in html and "Sign in to see" not in html
    assert "blocked" not in html


def test_a_blocked_users_ended_session_leads_to_a_page_that_says_why(client):
    user = UserFactory()
    CartItemFactory(cart__user=user)
    client.force_login(user)
    services.user_block(user=user, by=StaffFactory(is_superuser=True))

    response = client.get(reverse("orders:checkout"), follow=True)

    assert response.redirect_chain[-1][0].startswith(LOGIN_URL)
    html = response.content.decode()
    assert 'data-testid="blocked-notice"' in html
    assert BLOCKED in html
    assert "Sign in to check out." in html
    # The shop's address, here and in the footer, as a link.
    assert 'href="mailto:help@shop.example"' in html


def test_an_unblocked_user_is_not_called_blocked(client):
    user = UserFactory()
    client.force_login(user)
    staff = StaffFactory(is_superuser=True)
    services.user_block(user=user, by=staff)
    services.user_unblock(user=user, by=staff)
    assert "blocked" not in client.get(LOGIN_URL).content.decode()


def test_a_blocked_user_who_signs_in_is_told_where_to_write(client):
    UserFactory(username="alice", is_active=False)
    response = client.post(LOGIN_URL, {"username": "alice", "password": DEFAULT_PASSWORD})
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert BLOCKED in html
    assert html.count("Your account is blocked") == 1  # the form's error, not twice


def test_every_page_shows_the_contact_address_in_the_footer(client):
    html = client.get(reverse("products:home")).content.decode()
    footer = html.split("<footer", 1)[1]
    assert '<a class="link-body-emphasis" href="mailto:help@shop.example"' in footer


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "shop@localhost"),
        ({"DEFAULT_FROM_EMAIL": "My Shop <orders@shop.example>"}, "orders@shop.example"),
        (
            {"DEFAULT_FROM_EMAIL": "orders@shop.example", "STORE_CONTACT_EMAIL": "hi@shop.example"},
            "hi@shop.example",
        ),
    ],
)
def test_the_contact_address_defaults_to_the_shops_sending_address(env, expected):
    code = "import json, myecommerce.settings as s; print(json.dumps(s.STORE_CONTACT_EMAIL))"
    assert settings_json(code, **env) == expected
