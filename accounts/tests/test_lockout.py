"""The django-axes policy callables in accounts.lockout (the pages are in test_views)."""

from http import HTTPStatus

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from accounts import lockout
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("accounts:login")
RESET_URL = reverse("accounts:password-reset")
RESET_CONFIRM_URL = reverse("accounts:password-reset-confirm")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Alice", "alice"),
        ("  ALICE ", "alice"),
        ("alice@example.com", "alice"),
        ("ALICE@EXAMPLE.COM", "alice"),
        ("nobody@example.com", "nobody@example.com"),
        # Never the same string as an IP address (the cache handler keys by value alone).
        ("203.0.113.9", "203.0.113.9 (username)"),
        (" 2001:DB8::1 ", "2001:db8::1 (username)"),
        ("203.0.113.9x", "203.0.113.9x"),
        ("", None),
        ("   ", None),
    ],
)
def test_lockout_username_names_the_account_not_the_spelling(rf, typed, expected):
    UserFactory(username="Alice", email="alice@example.com")
    request = rf.post(LOGIN_URL, {"username": typed})
    assert lockout.lockout_username(request, {"username": typed}) == expected


@pytest.mark.postgres
def test_a_spelling_the_database_matches_counts_against_the_same_account():
    """PostgreSQL's case-insensitive match (UPPER) is wider than str.lower(): "admın" (a
    dotless i) signs in as "admin", so it must not get five fresh tries."""
    UserFactory(username="admin")
    for _ in range(5):
        Client().post(LOGIN_URL, {"username": "admin", "password": "nope"})
    response = Client().post(LOGIN_URL, {"username": "admın", "password": DEFAULT_PASSWORD})
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_lockout_username_ignores_non_strings(rf):
    assert lockout.lockout_username(rf.post(LOGIN_URL), {"username": ["a", "b"]}) is None


def test_lockout_parameters_are_username_and_ip_address(rf):
    assert lockout.lockout_parameters(rf.get("/")) == ["username", "ip_address"]


def test_failures_are_stored_under_the_account_name():
    UserFactory(username="alice", email="alice@example.com")
    Client().post(LOGIN_URL, {"username": "ALICE@example.com", "password": "nope"})
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["alice"]


def test_forget_failures_clears_one_account_only():
    for name in ["alice", "bob"]:
        Client().post(LOGIN_URL, {"username": name, "password": "nope"})
    assert lockout.forget_failures(username="Alice") == 1
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["bob"]


def test_a_password_reset_lifts_the_accounts_lock_out(sent, mailoutbox, code_in):
    user = UserFactory(username="alice")
    attacker = Client()
    for _ in range(5):
        attacker.post(LOGIN_URL, {"username": "alice", "password": "nope"})
    owner = Client(REMOTE_ADDR="10.0.0.2")
    locked = owner.post(LOGIN_URL, {"username": "alice", "password": DEFAULT_PASSWORD})
    assert locked.status_code == HTTPStatus.TOO_MANY_REQUESTS

    with sent():
        owner.post(RESET_URL, {"email": user.email})
    new_password = "n3w-Passw0rd!x"
    owner.post(
        RESET_CONFIRM_URL,
        {
            "code": code_in(mailoutbox[0]),
            "new_password1": new_password,
            "new_password2": new_password,
        },
    )
    response = owner.post(LOGIN_URL, {"username": "alice", "password": new_password})
    assert response.status_code == HTTPStatus.FOUND


def test_the_lock_out_page_says_how_long_it_lasts(client, settings):
    settings.AXES_COOLOFF_TIME = 0.5
    UserFactory(username="alice")
    for _ in range(5):
        response = client.post(LOGIN_URL, {"username": "alice", "password": "nope"})
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "locked for 30 minutes" in response.content.decode()
    assert reverse("accounts:password-reset") in response.content.decode()
