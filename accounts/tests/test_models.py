from datetime import timedelta
from importlib import import_module
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import IntegrityError, connection
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from accounts.models import OneTimeCode, User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

GROUPS_MIGRATION = "0003_create_customer_and_manager_groups"


def test_email_is_stored_lowercase_and_unique_whatever_the_case():
    UserFactory(email="Ada@Example.COM")
    assert User.objects.filter(email="ada@example.com").exists()
    with pytest.raises(IntegrityError):
        User.objects.create(username="other", email="ADA@example.com")


def test_the_database_refuses_a_lookalike_username_whatever_saves_it():
    UserFactory(username="alice")
    with pytest.raises(IntegrityError):
        User.objects.create(username="ALİCE", email="other@example.com")


def test_renaming_keeps_the_lookalike_key_up_to_date():
    user = UserFactory(username="alice")
    user.username = "Ｂｏｂ"
    user.save(update_fields=["username"])
    assert User.objects.get(pk=user.pk).username_key == "bob"
    assert User.objects.create(username="alice", email="new@example.com").username_key == "alice"


def test_the_lookalike_key_migration_keeps_older_duplicates_apart():
    """Accounts that looked alike before the key existed all get one (the later suffixed)."""
    migration = import_module("accounts.migrations.0005_code_send_limits_and_username_key")
    first = UserFactory(username="alice")
    second = UserFactory(username="bob")
    # As before the migration: no key (distinct placeholders, the constraint already exists).
    User.objects.filter(pk=second.pk).update(username="ALİCE", username_key="-2")
    User.objects.filter(pk=first.pk).update(username_key="-1")
    migration.fill_username_keys(SimpleNamespace(get_model=lambda *a: User), None)
    keys = dict(User.objects.values_list("pk", "username_key"))
    assert keys[first.pk] == "alice" and keys[second.pk] == f"alice#{second.pk}"
    second.refresh_from_db()
    second.first_name = "Still saves"
    second.save()  # its suffixed key is kept, so saving does not collide


def test_session_auth_hash_changes_with_the_session_epoch():
    user = UserFactory()
    before = user.get_session_auth_hash()
    user.session_epoch += 1
    assert user.get_session_auth_hash() != before


def test_session_auth_hash_changes_with_the_password():
    user = UserFactory()
    before = user.get_session_auth_hash()
    user.set_password("another-Passw0rd")
    assert user.get_session_auth_hash() != before


def test_one_time_code_state_and_str():
    user = UserFactory(username="ada")
    now = timezone.now()
    otc = OneTimeCode.objects.create(
        user=user,
        purpose=OneTimeCode.Purpose.RESET,
        code_hash="x" * 64,
        expires_at=now + timedelta(minutes=10),
    )
    assert str(otc) == "Password reset code for ada"
    assert not otc.is_used and not otc.is_expired
    otc.expires_at = now - timedelta(seconds=1)
    otc.used_at = now
    assert otc.is_used and otc.is_expired


def test_groups_exist_after_migrations():
    assert Group.objects.filter(name="Customers").exists()
    managers = Group.objects.get(name="Store managers")
    codenames = set(managers.permissions.values_list("codename", flat=True))
    assert {
        "add_product",
        "change_product",
        "delete_product",
        "view_category",
        "add_productimage",
        "view_stockmovement",
        "view_order",
        "change_order",
        "view_orderitem",
    } <= codenames
    # Managers run the shop, not the people: no user permissions, no deleting orders.
    assert not managers.permissions.filter(content_type__app_label="accounts").exists()
    assert "delete_order" not in codenames


def test_groups_migration_is_reversible():
    migration = import_module(f"accounts.migrations.{GROUPS_MIGRATION}")
    state_apps = MigrationLoader(connection).project_state(("accounts", GROUPS_MIGRATION)).apps
    schema_editor = SimpleNamespace(connection=connection)

    migration.delete_groups(state_apps, schema_editor)
    assert not Group.objects.filter(name__in=["Customers", "Store managers"]).exists()

    migration.create_groups(state_apps, schema_editor)
    managers = Group.objects.get(name="Store managers")
    assert managers.permissions.filter(codename="change_product").exists()
    assert Group.objects.filter(name="Customers").exists()


def test_groups_migration_creates_missing_permissions():
    """On a fresh database the permission rows do not exist yet when the migration runs."""
    migration = import_module(f"accounts.migrations.{GROUPS_MIGRATION}")
    state_apps = MigrationLoader(connection).project_state(("accounts", GROUPS_MIGRATION)).apps
    Permission.objects.filter(content_type__app_label__in=["products", "orders"]).delete()
    Group.objects.filter(name="Store managers").delete()

    migration.create_groups(state_apps, SimpleNamespace(connection=connection))

    managers = Group.objects.get(name="Store managers")
    assert managers.permissions.filter(codename="change_product").exists()
