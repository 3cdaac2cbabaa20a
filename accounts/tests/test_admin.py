from http import HTTPStatus

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import StaffFactory, UserFactory
from orders.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:accounts_user_changelist")


@pytest.fixture
def user_manager():
    """Staff who may change users but is not a superuser."""
    user = StaffFactory(username="hr")
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="accounts", codename__in=["view_user", "change_user"]
        )
    )
    return user


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def act(client, action: str, *users):
    data = {"action": action, "_selected_action": [u.pk for u in users], "index": 0}
    return client.post(CHANGELIST, data, follow=True)


def signed_in_client(user) -> Client:
    other = Client()
    other.force_login(user)
    return other


def is_signed_in(client: Client) -> bool:
    return client.get(reverse("products:home")).wsgi_request.user.is_authenticated


# ------------------------------------------------------------------------------
# List, search and filters
# ------------------------------------------------------------------------------
def test_user_changelist_shows_order_counts(admin_client):
    buyer = UserFactory(username="buyer")
    OrderFactory.create_batch(3, user=buyer)
    UserFactory(username="browser")

    response = admin_client.get(CHANGELIST)

    assert response.status_code == HTTPStatus.OK
    counts = {u.username: u.order_count for u in response.context["cl"].result_list}
    assert counts["buyer"] == 3 and counts["browser"] == 0
    link = f"{reverse('admin:orders_order_changelist')}?user__id__exact={buyer.pk}"
    assert link in response.content.decode()
    orders = admin_client.get(link)
    assert len(orders.context["cl"].result_list) == 3


def test_search_by_username_email_and_phone(admin_client):
    UserFactory(username="ada", email="ada@lovelace.org", phone="+44 555 0101")
    UserFactory(username="grace", email="grace@navy.mil")

    def found(q):
        response = admin_client.get(CHANGELIST, {"q": q})
        return [u.username for u in response.context["cl"].result_list]

    assert found("ada") == ["ada"]
    assert found("navy.mil") == ["grace"]
    assert found("555 0101") == ["ada"]


def test_filters(admin_client, superuser):
    blocked = UserFactory(username="blocked", is_active=False)
    unverified = UserFactory(username="unverified", email_verified=False)
    customer = UserFactory(username="customer")
    customer.groups.add(Group.objects.get(name="Customers"))

    def found(**params):
        response = admin_client.get(CHANGELIST, params)
        assert response.status_code == HTTPStatus.OK
        return sorted(u.username for u in response.context["cl"].result_list)

    assert found(blocked="yes") == [blocked.username]
    assert blocked.username not in found(blocked="no")
    assert found(email_verified__exact="0") == [unverified.username]
    assert found(is_staff__exact="1") == [superuser.username]
    group = Group.objects.get(name="Customers")
    assert found(groups__id__exact=str(group.pk)) == ["customer"]


def test_changelist_runs_a_fixed_number_of_queries(admin_client, django_assert_max_num_queries):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(CHANGELIST).status_code == HTTPStatus.OK
        return len(queries)

    for user in UserFactory.create_batch(5):
        OrderFactory(user=user)
    few = count_queries()
    for user in UserFactory.create_batch(95):
        OrderFactory(user=user)
    assert count_queries() == few
    with django_assert_max_num_queries(12):
        admin_client.get(CHANGELIST)


# ------------------------------------------------------------------------------
# Add, change, password
# ------------------------------------------------------------------------------
def test_add_user_with_email_and_password(admin_client):
    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "newbie",
            "email": "Newbie@Example.com",
            "usable_password": "true",
            "password1": "a-Str0ng-pass!",
            "password2": "a-Str0ng-pass!",
        },
    )

    assert response.status_code == HTTPStatus.FOUND
    user = User.objects.get(username="newbie")
    assert user.email == "newbie@example.com"
    assert user.check_password("a-Str0ng-pass!")


def test_add_user_refuses_an_email_in_use(admin_client):
    UserFactory(email="taken@example.com")
    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "other",
            "email": "TAKEN@example.com",
            "usable_password": "true",
            "password1": "a-Str0ng-pass!",
            "password2": "a-Str0ng-pass!",
        },
    )
    assert response.status_code == HTTPStatus.OK
    assert response.context["adminform"].form.errors
    assert not User.objects.filter(username="other").exists()


def test_add_user_refuses_a_lookalike_username_without_crashing(admin_client):
    """Issue 16.11: the model's clean() checks the look-alike key, for the admin forms too."""
    UserFactory(username="alice")
    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "ALİCE",
            "email": "other@example.com",
            "usable_password": "true",
            "password1": "a-Str0ng-pass!",
            "password2": "a-Str0ng-pass!",
        },
    )
    assert response.status_code == HTTPStatus.OK
    errors = response.context["adminform"].form.errors
    assert errors["username"] == ["That username is already taken."]
    assert User.objects.count() == 2  # alice and the signed-in superuser


def test_change_form_edits_shop_fields_but_not_the_blocked_flag(admin_client):
    user = UserFactory(username="ada", phone="")
    url = reverse("admin:accounts_user_change", args=[user.pk])
    page = admin_client.get(url)
    assert page.status_code == HTTPStatus.OK
    assert b'name="phone"' in page.content
    assert b'name="is_active"' not in page.content  # blocking goes through the actions

    data = {
        "username": "ada",
        "email": user.email,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email_verified": "on",
        "phone": "+44 20 7946 0101",
        "city": "London",
        "country": "GB",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }
    response = admin_client.post(url, data)

    assert response.status_code == HTTPStatus.FOUND, response.context["adminform"].form.errors
    user.refresh_from_db()
    assert (user.phone, user.city, user.is_active) == ("+442079460101", "London", True)


def test_password_change_through_djangos_form(admin_client):
    user = UserFactory()
    url = reverse("admin:auth_user_password_change", args=[user.pk])
    assert admin_client.get(url).status_code == HTTPStatus.OK

    response = admin_client.post(
        url,
        {
            "usable_password": "true",
            "password1": "N3w-pass-phrase!",
            "password2": "N3w-pass-phrase!",
        },
    )

    assert response.status_code == HTTPStatus.FOUND
    user.refresh_from_db()
    assert user.check_password("N3w-pass-phrase!")


# ------------------------------------------------------------------------------
# Block / Unblock (accounts.services.user_block / user_unblock)
# ------------------------------------------------------------------------------
def test_block_ends_the_users_sessions(admin_client):
    victim = UserFactory()
    victim_client = signed_in_client(victim)
    assert is_signed_in(victim_client)

    response = act(admin_client, "block_users", victim)

    assert "Blocked 1 user; their sessions have ended." in messages_of(response)
    victim.refresh_from_db()
    assert not victim.is_active
    assert not is_signed_in(victim_client)


def test_unblock_lets_the_user_in_again(admin_client):
    victim = UserFactory(is_active=False)

    response = act(admin_client, "unblock_users", victim)

    assert "Unblocked 1 user." in messages_of(response)
    victim.refresh_from_db()
    assert victim.is_active


def test_staff_cannot_block_themselves(admin_client, superuser):
    other = UserFactory()

    response = act(admin_client, "block_users", superuser, other)

    texts = messages_of(response)
    assert any(t.startswith(f"{superuser.username}:") for t in texts)
    assert "Blocked 1 user; their sessions have ended." in texts
    superuser.refresh_from_db()
    other.refresh_from_db()
    assert superuser.is_active and not other.is_active


def test_only_a_superuser_can_block_a_superuser(client, user_manager, superuser):
    client.force_login(user_manager)

    response = act(client, "block_users", superuser)

    assert any(t.startswith(f"{superuser.username}:") for t in messages_of(response))
    superuser.refresh_from_db()
    assert superuser.is_active


def test_store_managers_cannot_see_or_block_users(client):
    manager = StaffFactory()
    manager.groups.add(Group.objects.get(name="Store managers"))
    victim = UserFactory()
    client.force_login(manager)

    assert client.get(CHANGELIST).status_code == HTTPStatus.FORBIDDEN
    change = reverse("admin:accounts_user_change", args=[victim.pk])
    assert client.get(change).status_code == HTTPStatus.FORBIDDEN
    data = {"action": "block_users", "_selected_action": [victim.pk], "index": 0}
    assert client.post(CHANGELIST, data).status_code == HTTPStatus.FORBIDDEN
    victim.refresh_from_db()
    assert victim.is_active


def test_staff_who_manage_users_cannot_grant_or_edit_superusers(client, user_manager, superuser):
    client.force_login(user_manager)
    shopper = UserFactory()

    page = client.get(reverse("admin:accounts_user_change", args=[shopper.pk]))
    assert page.status_code == HTTPStatus.OK
    assert b'name="is_superuser"' not in page.content
    password = reverse("admin:auth_user_password_change", args=[superuser.pk])
    assert client.get(password).status_code == HTTPStatus.FORBIDDEN
