import pytest
from django.core import checks

from accounts.checks import check_demo_admin_password_is_changed
from accounts.demo import demo_users_ensure
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _deploy_check_ids() -> set[str]:
    return {
        message.id
        for message in checks.run_checks(include_deployment_checks=True, tags=["security"])
    }


def test_deploy_check_warns_while_the_demo_admin_password_works():
    demo_users_ensure()
    [warning] = check_demo_admin_password_is_changed(None)
    assert warning.id == "accounts.W002" and "admin" in warning.msg
    assert "accounts.W002" in _deploy_check_ids()


def test_deploy_check_is_quiet_once_the_demo_admin_password_is_changed():
    admin, _shopper = demo_users_ensure()
    admin.set_password("a-new-Secret-9")
    admin.save()
    assert check_demo_admin_password_is_changed(None) == []
    assert "accounts.W002" not in _deploy_check_ids()


def test_deploy_check_ignores_a_blocked_superuser_and_a_non_superuser_with_that_password():
    UserFactory(username="old-admin", is_superuser=True, is_active=False, password="123@456")
    UserFactory(username="shopper", password="123@456")
    assert check_demo_admin_password_is_changed(None) == []
