"""Accounts under attack: guessing codes and passwords, probing addresses, stealing sessions.

Worst-case odds of guessing a one-time code (README.md, "Security", states the same figures;
`test_the_stated_odds_follow_from_the_settings` recomputes them from the code):

- A code is 6 digits from `secrets`: 10⁶ equally likely values.
- Only the newest code of a purpose counts, and it dies after 5 wrong tries, even for the
  right value (OTP_MAX_ATTEMPTS).
- A new code for the same account and purpose goes out at most once a minute
  (OTP_RESEND_INTERVAL); a code lives 10 minutes, but an attacker gains nothing from that,
  since only one code is live at a time.
- So an attacker gets at most 5 guesses a minute against one account: 300 an hour, 7,200 a
  day. The chance of hitting the code is at most 300 / 10⁶ = 0.03 % in an hour and
  7,200 / 10⁶ = 0.72 % in a day (a union bound; every try also e-mails the owner a code, so an
  attack cannot go unnoticed for a day).

Passwords: 5 failures for one account (however it is spelled, from any number of IP
addresses) lock it for 15 minutes, so at most 5 guesses per 15 minutes: 20 an hour, 480 a day;
one IP address gets at most 20 failures per 15 minutes across all accounts.
"""

import re
from datetime import timedelta
from http import HTTPStatus
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts import otp, services
from accounts.models import OneTimeCode, User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("accounts:login")
RESET_URL = reverse("accounts:password-reset")
RESET_CONFIRM_URL = reverse("accounts:password-reset-confirm")
VERIFY_URL = reverse("accounts:verify")
RESEND_URL = reverse("accounts:verify-resend")
PROFILE_URL = reverse("accounts:profile")
EMAIL_VERIFY_URL = reverse("accounts:email-verify")
ORDERS_URL = reverse("orders:list")
NEW_PASSWORD = "n3w-Passw0rd!x"

CODE_SPACE = 10**otp.OTP_LENGTH
GUESSES_PER_HOUR = otp.OTP_MAX_ATTEMPTS * int(timedelta(hours=1) / otp.OTP_RESEND_INTERVAL)


def _wrong(code: str, k: int) -> str:
    """The k-th value that is certainly not `code`."""
    return f"{(int(code) + k) % CODE_SPACE:0{otp.OTP_LENGTH}d}"


def _a_minute_passes(**delta) -> None:
    """Move every code and every failed sign-in into the past (default: one minute)."""
    delta = delta or {"minutes": 1}
    for otc in OneTimeCode.objects.all():
        otc.created_at -= timedelta(**delta)
        otc.expires_at -= timedelta(**delta)
        otc.save(update_fields=["created_at", "expires_at"])
    for attempt in AccessAttempt.objects.all():
        attempt.attempt_time -= timedelta(**delta)
        attempt.save(update_fields=["attempt_time"])


def _reset_data(code: str) -> dict:
    return {"code": code, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}


# ------------------------------------------------------------------------------
# The odds
# ------------------------------------------------------------------------------
def test_the_stated_odds_follow_from_the_settings():
    assert CODE_SPACE == 1_000_000
    assert otp.OTP_MAX_ATTEMPTS == 5
    assert otp.OTP_RESEND_INTERVAL.total_seconds() == 60
    assert otp.OTP_LIFETIME.total_seconds() == 600
    assert GUESSES_PER_HOUR == 300
    per_hour = GUESSES_PER_HOUR / CODE_SPACE
    per_day = 24 * GUESSES_PER_HOUR / CODE_SPACE
    assert f"{per_hour:.2%}" == "0.03%"
    assert f"{per_day:.2%}" == "0.72%"
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    for figure in ["300 an hour", "7,200 a day", "0.03 %", "0.72 %", "480 a day"]:
        assert figure in readme, figure


def test_an_hour_of_attack_on_a_reset_code_gets_at_most_300_guesses(sent, mailoutbox, code_in):
    """An attacker who asks for a reset code every minute and fires 7 guesses each time."""
    victim = UserFactory(email="victim@example.com")
    attacker = Client()
    for minute in range(60):
        # From a new address every minute: one address gets only 20 codes an hour (see below).
        ip = f"203.0.113.{minute}"
        for _repeat in range(2):  # the second request in the same minute is throttled
            with sent():
                attacker.post(RESET_URL, {"email": "victim@example.com"}, REMOTE_ADDR=ip)
        code = code_in(mailoutbox[-1])
        for k in range(1, 8):
            attacker.post(RESET_CONFIRM_URL, _reset_data(_wrong(code, k)))
        # The right code itself is now useless: the 5 tries are spent.
        response = attacker.post(RESET_CONFIRM_URL, _reset_data(code))
        assert "Too many wrong tries" in response.content.decode()
        _a_minute_passes()

    codes = OneTimeCode.objects.filter(user=victim, purpose=OneTimeCode.Purpose.RESET)
    assert codes.count() == len(mailoutbox) == 60
    guesses_checked = sum(codes.values_list("attempts", flat=True))
    assert guesses_checked == GUESSES_PER_HOUR
    victim.refresh_from_db()
    assert victim.check_password(DEFAULT_PASSWORD)


@pytest.mark.parametrize("page", ["reset", "signup", "email-change"])
def test_five_wrong_codes_kill_the_code_on_every_code_page(client, sent, mailoutbox, code_in, page):
    user = UserFactory(username="target", email="target@example.com", email_verified=True)
    if page == "reset":
        with sent():
            client.post(RESET_URL, {"email": "target@example.com"})
        url, data = RESET_CONFIRM_URL, _reset_data
    elif page == "signup":
        User.objects.filter(pk=user.pk).update(email_verified=False)
        with sent():
            client.post(LOGIN_URL, {"username": "target", "password": DEFAULT_PASSWORD})
        url, data = VERIFY_URL, lambda code: {"code": code}
    else:
        client.force_login(user)
        with sent():
            services.email_change_request(user=user, new_email="attacker@example.com")
        url, data = EMAIL_VERIFY_URL, lambda code: {"code": code}
    code = code_in(mailoutbox[-1])

    for k in range(1, 6):
        response = client.post(url, data(_wrong(code, k)))
        assert response.status_code == HTTPStatus.OK
    response = client.post(url, data(code))
    assert response.status_code == HTTPStatus.OK
    assert "Too many wrong tries: this code no longer works" in response.content.decode()

    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)
    assert user.email == "target@example.com"
    assert user.email_verified is (page != "signup")


def test_asking_again_within_the_minute_does_not_revive_a_dead_code(
    client, sent, mailoutbox, code_in
):
    UserFactory(email="victim@example.com")
    with sent():
        client.post(RESET_URL, {"email": "victim@example.com"})
    code = code_in(mailoutbox[-1])
    for k in range(1, 6):
        client.post(RESET_CONFIRM_URL, _reset_data(_wrong(code, k)))
    for _ in range(5):
        with sent():
            response = client.post(RESET_URL, {"email": "victim@example.com"})
        assert response.status_code == HTTPStatus.FOUND  # the same answer as always
    assert len(mailoutbox) == 1
    assert OneTimeCode.objects.count() == 1
    response = client.post(RESET_CONFIRM_URL, _reset_data(code))
    assert "Too many wrong tries" in response.content.decode()


def test_hammering_resend_sends_one_code_a_minute(client, sent, mailoutbox):
    UserFactory(username="newbie", email_verified=False)
    with sent():
        client.post(LOGIN_URL, {"username": "newbie", "password": DEFAULT_PASSWORD})
    for _ in range(10):
        with sent():
            response = client.post(RESEND_URL, follow=True)
        assert response.status_code == HTTPStatus.OK
        assert "less than a minute ago" in response.content.decode()
    assert len(mailoutbox) == 1
    _a_minute_passes()
    with sent():
        client.post(RESEND_URL)
    assert len(mailoutbox) == 2


# ------------------------------------------------------------------------------
# Passwords
# ------------------------------------------------------------------------------
def _login(client, username, password=DEFAULT_PASSWORD, ip="10.0.0.1"):
    return client.post(LOGIN_URL, {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_changing_ip_address_buys_no_extra_password_guesses(client):
    UserFactory(username="alice")
    for i in range(5):
        _login(Client(), "alice", "wrong-password", ip=f"198.51.100.{i}")
    response = _login(Client(), "alice", ip="203.0.113.9")  # even the right one, from anywhere
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert Client().get(ORDERS_URL).status_code == HTTPStatus.FOUND


def test_an_hour_of_password_guessing_gets_at_most_20_tries():
    """Every quarter hour: 5 wrong guesses, then even the right password is refused."""
    user = UserFactory(username="alice")
    for _quarter in range(4):
        statuses = [_login(Client(), "alice", "wrong-password").status_code for _ in range(5)]
        assert statuses == [HTTPStatus.OK] * 4 + [HTTPStatus.TOO_MANY_REQUESTS]
        for _ in range(3):  # the 6th guess and after are never checked, right or wrong
            assert _login(Client(), "alice").status_code == HTTPStatus.TOO_MANY_REQUESTS
        _a_minute_passes(minutes=15, seconds=1)
    assert _login(Client(), "alice").status_code == HTTPStatus.FOUND
    assert settings.ACCOUNTS_LOGIN_FAILURE_LIMIT_PER_USERNAME * 4 == 20
    assert user.check_password(DEFAULT_PASSWORD)


def test_one_ip_address_is_stopped_after_20_failures_across_accounts():
    for i in range(30):
        UserFactory(username=f"user{i:02d}")
    statuses = [
        _login(Client(), f"user{i:02d}", "wrong-password", ip="192.0.2.7").status_code
        for i in range(30)
    ]
    assert statuses.count(HTTPStatus.OK) == settings.ACCOUNTS_LOGIN_FAILURE_LIMIT_PER_IP - 1
    assert statuses[19:] == [HTTPStatus.TOO_MANY_REQUESTS] * 11
    # Another address is not affected.
    assert _login(Client(), "user00", ip="192.0.2.8").status_code == HTTPStatus.FOUND


@pytest.mark.parametrize("handler", ["database", "cache"])
def test_a_username_typed_as_an_ip_address_never_locks_that_address_out(settings, handler):
    """The cache handler (Redis in production) keys counters by value alone: the account
    name must never equal an IP address, or an attacker could lock a whole address out."""
    settings.AXES_HANDLER = f"axes.handlers.{handler}.Axes{handler.title()}Handler"
    UserFactory(username="victim")
    for _ in range(settings.ACCOUNTS_LOGIN_FAILURE_LIMIT_PER_IP):
        _login(Client(), "203.0.113.9", "wrong-password", ip="198.51.100.1")
    assert _login(Client(), "victim", ip="203.0.113.9").status_code == HTTPStatus.FOUND
    # The attacker's own address is the one that is stopped.
    assert _login(Client(), "victim", ip="198.51.100.1").status_code == (
        HTTPStatus.TOO_MANY_REQUESTS
    )


@pytest.mark.parametrize("handler", ["database", "cache"])
def test_an_account_named_like_an_ip_address_is_locked_and_released_as_any(settings, handler):
    settings.AXES_HANDLER = f"axes.handlers.{handler}.Axes{handler.title()}Handler"
    user = UserFactory(username="10.1.2.3")
    for i in range(5):
        _login(Client(), "10.1.2.3", "wrong-password", ip=f"198.51.100.{i}")
    assert _login(Client(), "10.1.2.3", ip="192.0.2.1").status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert _login(Client(), "bystander", "x", ip="10.1.2.3").status_code == HTTPStatus.OK
    from accounts import lockout

    assert lockout.forget_failures(username=user.username) >= 1
    assert _login(Client(), "10.1.2.3", ip="192.0.2.1").status_code == HTTPStatus.FOUND


# ------------------------------------------------------------------------------
# Who has an account here?
# ------------------------------------------------------------------------------
def _reset_pages(email: str, sent) -> list[str]:
    """What a visitor sees asking for a reset of `email`: the answer, the next page, and the
    page after a wrong code, with the address itself blanked out."""
    client = Client()
    with sent():
        first = client.post(RESET_URL, {"email": email})
    confirm = client.get(first["Location"])
    wrong = client.post(RESET_CONFIRM_URL, _reset_data("000000"))
    pages = [f"{first.status_code} {first['Location']}", confirm, wrong]
    texts = [pages[0]] + [f"{page.status_code} {page.content.decode()}" for page in pages[1:]]
    # Blank the address and the per-request CSRF token, which differ by design.
    texts = [re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text) for text in texts]
    return [text.replace(email, "ADDRESS") for text in texts]


def test_reset_pages_are_the_same_for_known_unknown_blocked_and_throttled_addresses(sent):
    UserFactory(email="known@example.com")
    UserFactory(email="blocked@example.com", is_active=False)
    UserFactory(email="throttled@example.com")
    services.password_reset_request(email="throttled@example.com")

    known = _reset_pages("known@example.com", sent)
    for other in ["unknown@example.com", "blocked@example.com", "throttled@example.com"]:
        assert _reset_pages(other, sent) == known, other
    assert "That code is not right" in known[2]


def _reset_answers(email: str, sent, passwords: list[str], later=None) -> list[str]:
    """The confirm page's answers to a reset of `email`, one per wrong code, each with its new
    password; `later` (a timedelta) first moves the clock on. The address and CSRF tokens are
    blanked out."""
    from unittest import mock

    from django.utils import timezone

    client = Client()
    with sent():
        client.post(RESET_URL, {"email": email})
    when = timezone.now() + (later or timedelta(0))
    answers = []
    with mock.patch("django.utils.timezone.now", return_value=when):
        for k, password in enumerate(passwords):
            data = {"code": _wrong("000000", k + 1), "new_password1": password}
            response = client.post(RESET_CONFIRM_URL, {**data, "new_password2": password})
            text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.text)
            answers.append(f"{response.status_code} {text.replace(email, 'ADDRESS')}")
    return answers


def test_wrong_reset_codes_are_answered_alike_for_known_and_unknown_addresses(sent):
    UserFactory(email="known@example.com")
    tries = [NEW_PASSWORD] * (otp.OTP_MAX_ATTEMPTS + 1)
    known = _reset_answers("known@example.com", sent, tries)
    assert _reset_answers("unknown@example.com", sent, tries) == known
    assert "That code is not right" in known[0]
    assert "Too many wrong tries" in known[-2] and "Too many wrong tries" in known[-1]


def test_an_expired_reset_is_answered_alike_for_known_and_unknown_addresses(sent):
    UserFactory(email="known@example.com")
    later = otp.OTP_LIFETIME + timedelta(seconds=1)
    known = _reset_answers("known@example.com", sent, [NEW_PASSWORD], later=later)
    assert _reset_answers("unknown@example.com", sent, [NEW_PASSWORD], later=later) == known
    assert "This code has expired" in known[0]


def test_a_new_password_like_the_account_is_answered_alike_for_any_address(sent):
    """The similarity check sees the typed address only, never the account's name."""
    UserFactory(username="margaretha", first_name="Margaretha", email="known@example.com")
    tries = ["known@example.com", "margaretha1", "Margaretha!9"]
    known = _reset_answers("known@example.com", sent, tries)
    assert _reset_answers("unknown@example.com", sent, tries) == known
    assert "too similar" in known[0]


def test_sign_in_says_the_same_for_an_unknown_name_and_a_wrong_password(client):
    UserFactory(username="alice")
    pages = []
    for name in ["alice", "nobody-here", "alice@example.com", "nobody@example.com"]:
        response = _login(Client(), name, "wrong-password")
        text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
        pages.append((response.status_code, text.replace(name, "NAME")))
    assert len(set(pages)) == 1


# ------------------------------------------------------------------------------
# Sessions
# ------------------------------------------------------------------------------
def test_signing_in_rotates_the_session_id_so_a_planted_one_is_useless(client):
    UserFactory(username="alice")
    # A guest's cart gives the visitor a session: the id an attacker could have planted.
    client.post(reverse("carts:add", kwargs={"product_id": ProductFactory().pk}))
    planted = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert _login(client, "alice").status_code == HTTPStatus.FOUND
    rotated = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert rotated != planted
    fixated = Client()
    fixated.cookies[settings.SESSION_COOKIE_NAME] = planted
    assert fixated.get(ORDERS_URL).status_code == HTTPStatus.FOUND  # not signed in


def test_confirming_the_signup_code_rotates_the_session_id(client, sent, mailoutbox, code_in):
    UserFactory(username="newbie", email_verified=False)
    with sent():
        client.post(LOGIN_URL, {"username": "newbie", "password": DEFAULT_PASSWORD})
    before = client.cookies[settings.SESSION_COOKIE_NAME].value
    response = client.post(VERIFY_URL, {"code": code_in(mailoutbox[-1])})
    assert response.status_code == HTTPStatus.FOUND
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != before
    assert client.get(ORDERS_URL).status_code == HTTPStatus.OK


def test_a_thiefs_session_ends_when_the_owner_changes_or_resets_the_password(
    client, sent, mailoutbox, code_in
):
    user = UserFactory(username="alice", email="alice@example.com")
    thief = Client()
    _login(thief, "alice", ip="203.0.113.66")
    _login(client, "alice")
    client.post(
        reverse("accounts:password-change"),
        {
            "old_password": DEFAULT_PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert thief.get(ORDERS_URL).status_code == HTTPStatus.FOUND
    assert client.get(ORDERS_URL).status_code == HTTPStatus.OK  # this one stays signed in

    # The thief signs in again with the new password; the owner resets it from a new device.
    _login(thief, "alice", NEW_PASSWORD, ip="203.0.113.66")
    assert thief.get(ORDERS_URL).status_code == HTTPStatus.OK
    owner = Client()
    with sent():
        owner.post(RESET_URL, {"email": "alice@example.com"})
    code = code_in(mailoutbox[-1])
    response = owner.post(
        RESET_CONFIRM_URL,
        {"code": code, "new_password1": "an0ther-Pass!", "new_password2": "an0ther-Pass!"},
    )
    assert response.status_code == HTTPStatus.FOUND
    assert thief.get(ORDERS_URL).status_code == HTTPStatus.FOUND
    assert client.get(ORDERS_URL).status_code == HTTPStatus.FOUND  # every session ends
    user.refresh_from_db()
    assert user.check_password("an0ther-Pass!")


def test_a_stolen_session_cannot_change_the_password_without_the_old_one(client):
    user = UserFactory(username="alice")
    client.force_login(user)
    response = client.post(
        reverse("accounts:password-change"),
        {"old_password": "guess", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == HTTPStatus.OK
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)
