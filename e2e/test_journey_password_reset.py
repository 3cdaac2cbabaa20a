"""A shopper who forgot their password resets it with an e-mailed code and signs in."""

import re

import pytest
from playwright.sync_api import expect

from .helpers import axe_violations, expect_message, field, last_code, navbar, shopper_make

pytestmark = pytest.mark.browser

NEW_PASSWORD = "violet-Harbour-42"  # noqa: S105 (a test password)


def test_forgotten_password_is_reset_by_code_then_used_to_sign_in(page, mailoutbox):
    shopper_make(username="grace", email="grace@example.com")

    page.goto("/")
    navbar(page).get_by_role("link", name="Sign in").click()
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page).to_have_title(re.compile(r"^Reset your password · "))
    field(page, "E-mail").fill("grace@example.com")
    page.get_by_role("button", name="Send code").click()

    expect(page).to_have_url(re.compile(r"/accounts/password-reset/confirm/$"))
    expect_message(page, "If an account uses grace@example.com, we have e-mailed it a 6-digit code")
    assert axe_violations(page) == []
    field(page, "Code").fill(last_code(mailoutbox, "grace@example.com"))
    field(page, "New password").fill(NEW_PASSWORD)
    field(page, "New password (again)").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()

    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect_message(page, "Your password has been changed. Sign in with the new one.")

    # The old password no longer works: the form says so, in place.
    field(page, "Username or e-mail").fill("grace@example.com")
    field(page, "Password").fill("a-Str0ng-pass!")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Please enter a correct username")
    expect(field(page, "Username or e-mail")).to_have_value("grace@example.com")

    field(page, "Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(navbar(page).get_by_role("button", name="grace")).to_be_visible()
