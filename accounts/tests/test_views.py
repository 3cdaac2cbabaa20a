import io
import re
from datetime import timedelta
from http import HTTPStatus
from urllib.parse import unquote

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.signals import user_logged_in
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from accounts import otp, services
from accounts.models import OneTimeCode, User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SIGNUP_URL = reverse("accounts:signup")
VERIFY_URL = reverse("accounts:verify")
RESEND_URL = reverse("accounts:verify-resend")
LOGIN_URL = reverse("accounts:login")
LOGOUT_URL = reverse("accounts:logout")
RESET_URL = reverse("accounts:password-reset")
RESET_CONFIRM_URL = reverse("accounts:password-reset-confirm")
PASSWORD_CHANGE_URL = reverse("accounts:password-change")
PROFILE_URL = reverse("accounts:profile")
EMAIL_VERIFY_URL = reverse("accounts:email-verify")

NEW_PASSWORD = "n3w-Passw0rd!x"


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _signed_in_user_id(client):
    return client.session.get("_auth_user_id")


def _login(client, username, password=DEFAULT_PASSWORD, **extra):
    return client.post(LOGIN_URL, {"username": username, "password": password, **extra})


def _age_codes(user, **delta):
    """Pretend the user's codes were sent earlier."""
    for otc in user.one_time_codes.all():
        otc.created_at -= timedelta(**delta)
        otc.expires_at -= timedelta(**delta)
        otc.save()


@pytest.fixture
def logged_in_signals():
    received = []

    def receiver(sender, user, **kwargs):
        received.append(user.pk)

    user_logged_in.connect(receiver)
    yield received
    user_logged_in.disconnect(receiver)


# ------------------------------------------------------------------------------
# Sign-up and verification
# ------------------------------------------------------------------------------
SIGNUP_DATA = {
    "username": "newbie",
    "email": "newbie@example.com",
    "password1": "a-Str0ng-pass!",
    "password2": "a-Str0ng-pass!",
}


def test_signup_page_renders(client):
    response = client.get(SIGNUP_URL)
    assert response.status_code == HTTPStatus.OK
    for name in ["username", "email", "password1", "password2"]:
        assert f'name="{name}"' in response.content.decode()


def test_signup_creates_unverified_user_emails_code_and_redirects_to_verify(
    client, sent, mailoutbox, code_in
):
    with sent():
        response = client.post(SIGNUP_URL, SIGNUP_DATA)
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == VERIFY_URL
    user = User.objects.get(username="newbie")
    assert not user.email_verified
    assert user.groups.filter(name="Customers").exists()
    assert mailoutbox[0].to == ["newbie@example.com"]
    assert _signed_in_user_id(client) is None
    page = client.get(VERIFY_URL)
    assert "newbie@example.com" in page.content.decode()


def test_verify_with_the_emailed_code_signs_in_and_redirects_home(
    client, sent, mailoutbox, code_in, logged_in_signals
):
    with sent():
        client.post(SIGNUP_URL, SIGNUP_DATA)
    response = client.post(VERIFY_URL, {"code": code_in(mailoutbox[0])})
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == "/"
    user = User.objects.get(username="newbie")
    assert user.email_verified
    assert _signed_in_user_id(client) == str(user.pk)
    # The cart merge listens to this signal: every sign-in must send it.
    assert logged_in_signals == [user.pk]


def test_verify_keeps_a_safe_next_and_drops_an_unsafe_one(client, sent, mailoutbox, code_in):
    with sent():
        client.post(f"{SIGNUP_URL}?next=/products/", SIGNUP_DATA)
    response = client.post(VERIFY_URL, {"code": code_in(mailoutbox[0])})
    assert response.url == "/products/"

    other = Client()
    with sent():
        other.post(
            f"{SIGNUP_URL}?next=https://evil.example.com/",
            {**SIGNUP_DATA, "username": "second", "email": "second@example.com"},
        )
    response = other.post(VERIFY_URL, {"code": code_in(mailoutbox[-1])})
    assert response.url == "/"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"password2": "something-else-1"}, "password2"),
        ({"password1": "password", "password2": "password"}, "password2"),
        ({"username": "NEWBIE"}, "username"),
        ({"username": "ＮＥＷＢＩＥ"}, "username"),
        ({"username": "a@b"}, "username"),
        ({"email": "not-an-email"}, "email"),
    ],
)
def test_signup_with_bad_input_shows_errors_and_creates_nothing(client, changes, field):
    UserFactory(username="newbie", email="newbie@example.com")
    data = {**SIGNUP_DATA, "username": "fresh", "email": "fresh@example.com", **changes}
    response = client.post(SIGNUP_URL, data)
    assert response.status_code == HTTPStatus.OK
    assert field in response.context["form"].errors
    assert User.objects.count() == 1


def test_verify_without_a_pending_signup_sends_you_to_sign_in(client):
    response = client.get(VERIFY_URL)
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == LOGIN_URL


def test_verify_with_a_wrong_code_shows_why(client, sent, mailoutbox, code_in):
    with sent():
        client.post(SIGNUP_URL, SIGNUP_DATA)
    wrong = f"{(int(code_in(mailoutbox[0])) + 1) % 1_000_000:06d}"
    response = client.post(VERIFY_URL, {"code": wrong})
    assert response.status_code == HTTPStatus.OK
    assert "not right" in response.content.decode()
    assert _signed_in_user_id(client) is None


@pytest.mark.parametrize("code", ["", "abc", "12345", "1234567", "１２３４５６", "12 456"])
def test_verify_with_garbage_is_a_form_error(client, sent, code):
    with sent():
        client.post(SIGNUP_URL, SIGNUP_DATA)
    response = client.post(VERIFY_URL, {"code": code})
    assert response.status_code == HTTPStatus.OK
    assert response.context["form"].errors["code"]


def test_verify_with_an_expired_code_says_so(client, sent, mailoutbox, code_in):
    with sent():
        client.post(SIGNUP_URL, SIGNUP_DATA)
    _age_codes(User.objects.get(username="newbie"), minutes=11)
    response = client.post(VERIFY_URL, {"code": code_in(mailoutbox[0])})
    assert "expired" in response.content.decode()


def test_resend_is_post_only(client):
    assert client.get(RESEND_URL).status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_resend_within_a_minute_is_refused_with_a_message(client, sent, mailoutbox):
    with sent():
        client.post(SIGNUP_URL, SIGNUP_DATA)
        response = client.post(RESEND_URL)
    assert response.url == VERIFY_URL
    assert len(mailoutbox) == 1
    assert any("wait" in m for m in _messages(response))


def test_resend_after_a_minute_sends_a_new_code_and_only_it_works(
    client, sent, mailoutbox, code_in
):
    with sent():
        client.post(SIGNUP_URL, SIGNUP_DATA)
    _age_codes(User.objects.get(username="newbie"), seconds=61)
    with sent():
        response = client.post(RESEND_URL)
    assert len(mailoutbox) == 2
    assert any("new code" in m for m in _messages(response))
    response = client.post(VERIFY_URL, {"code": code_in(mailoutbox[1])})
    assert response.status_code == HTTPStatus.FOUND


def test_resend_without_a_pending_signup_sends_you_to_sign_in(client):
    assert client.post(RESEND_URL).url == LOGIN_URL


# ------------------------------------------------------------------------------
# Sign-in and sign-out
# ------------------------------------------------------------------------------
def test_login_page_renders(client):
    response = client.get(LOGIN_URL)
    assert response.status_code == HTTPStatus.OK
    assert 'name="username"' in response.content.decode()


def test_login_by_username_signs_in(client, logged_in_signals):
    user = UserFactory(username="alice")
    response = _login(client, "Alice")
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == "/"
    assert _signed_in_user_id(client) == str(user.pk)
    assert logged_in_signals == [user.pk]


def test_login_by_email_signs_in(client):
    user = UserFactory(email="alice@example.com")
    response = _login(client, "ALICE@example.com")
    assert response.status_code == HTTPStatus.FOUND
    assert _signed_in_user_id(client) == str(user.pk)


def test_login_with_a_wrong_password_is_refused(client):
    UserFactory(username="alice")
    response = _login(client, "alice", "wrong-password")
    assert response.status_code == HTTPStatus.OK
    assert "correct username or e-mail" in response.content.decode()
    assert _signed_in_user_id(client) is None


def test_login_of_an_unverified_user_sends_a_code_and_goes_to_verify(
    client, sent, mailoutbox, code_in, logged_in_signals
):
    user = UserFactory(username="alice", email_verified=False)
    with sent():
        response = _login(client, "alice")
    assert response.url == VERIFY_URL
    assert _signed_in_user_id(client) is None
    assert mailoutbox[0].to == [user.email]
    response = client.post(VERIFY_URL, {"code": code_in(mailoutbox[0])})
    assert response.url == "/"
    assert _signed_in_user_id(client) == str(user.pk)
    assert logged_in_signals == [user.pk]


def test_login_of_an_unverified_user_does_not_resend_within_a_minute(client, sent, mailoutbox):
    UserFactory(username="alice", email_verified=False)
    with sent():
        _login(client, "alice")
        response = _login(client, "alice")
    assert response.url == VERIFY_URL
    assert len(mailoutbox) == 1
    assert any("a moment ago" in m for m in _messages(response))


def test_login_of_a_blocked_user_says_the_account_is_blocked(client):
    UserFactory(username="alice", is_active=False)
    response = _login(client, "alice")
    assert response.status_code == HTTPStatus.OK
    assert "Your account is blocked" in response.content.decode()
    assert _signed_in_user_id(client) is None


def test_blocked_status_is_not_revealed_without_the_right_password(client):
    UserFactory(username="alice", is_active=False)
    response = _login(client, "alice", "wrong-password")
    assert "blocked" not in response.content.decode()


def test_login_follows_a_safe_next(client):
    UserFactory(username="alice")
    response = _login(client, "alice", next="/products/?q=tea")
    assert response.url == "/products/?q=tea"


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example.com/", "//evil.example.com/", "http:///evil.example.com", "\\\\evil"],
)
def test_login_refuses_an_open_redirect(client, next_url):
    UserFactory(username="alice")
    response = _login(client, "alice", next=next_url)
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == "/"


def test_signed_in_user_visiting_login_is_sent_on_without_a_loop(client):
    client.force_login(UserFactory())
    response = client.get(f"{LOGIN_URL}?next={LOGIN_URL}")
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == "/"


def test_five_failures_for_one_username_lock_sign_in(client):
    UserFactory(username="alice", email="alice@example.com")
    # Spelling the account differently does not buy extra tries.
    for name in ["alice", "ALICE", "alice@example.com", "Alice"]:
        assert _login(client, name, "wrong-password").status_code == HTTPStatus.OK
    fifth = _login(client, "alice", "wrong-password")
    assert fifth.status_code == HTTPStatus.TOO_MANY_REQUESTS
    response = _login(client, "alice")  # even the right password
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "locked for 15 minutes" in response.content.decode()
    assert _signed_in_user_id(client) is None


def test_four_failures_do_not_lock(client):
    UserFactory(username="alice")
    for _ in range(4):
        _login(client, "alice", "wrong-password")
    assert _login(client, "alice").status_code == HTTPStatus.FOUND


def test_lock_out_ends_after_fifteen_minutes(client):
    UserFactory(username="alice")
    for _ in range(5):
        _login(client, "alice", "wrong-password")
    assert _login(client, "alice").status_code == HTTPStatus.TOO_MANY_REQUESTS
    for attempt in AccessAttempt.objects.all():
        attempt.attempt_time -= timedelta(minutes=16)
        attempt.save()
    assert _login(client, "alice").status_code == HTTPStatus.FOUND


def test_a_locked_username_does_not_lock_other_accounts_on_the_same_ip(client):
    UserFactory(username="alice")
    UserFactory(username="bob")
    for _ in range(5):
        _login(client, "alice", "wrong-password")
    assert _login(client, "bob").status_code == HTTPStatus.FOUND


def test_twenty_failures_from_one_ip_lock_sign_in_for_everyone_from_it(client):
    UserFactory(username="bob")
    for i in range(19):
        _login(client, f"guess{i}", "wrong-password")
    assert _login(Client(), "bob").status_code == HTTPStatus.FOUND
    client.post(LOGOUT_URL)
    _login(client, "guess-last", "wrong-password")
    response = _login(Client(), "bob")
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_logout_by_get_is_not_allowed(client):
    client.force_login(UserFactory())
    assert client.get(LOGOUT_URL).status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert _signed_in_user_id(client) is not None


def test_logout_by_post_signs_out(client):
    client.force_login(UserFactory())
    response = client.post(LOGOUT_URL)
    assert response.status_code == HTTPStatus.FOUND
    assert _signed_in_user_id(client) is None


# ------------------------------------------------------------------------------
# Blocking ends sessions
# ------------------------------------------------------------------------------
def test_a_blocked_users_session_stops_working_on_the_next_request(client):
    user = UserFactory()
    staff = UserFactory(is_staff=True)
    _login(client, user.username)
    assert client.get(PROFILE_URL).status_code == HTTPStatus.OK
    services.user_block(user=user, by=staff)
    response = client.get(PROFILE_URL)
    assert response.status_code == HTTPStatus.FOUND
    assert response.url.startswith(LOGIN_URL)
    # Unblocking lets them sign in again, but the old session stays ended.
    services.user_unblock(user=user, by=staff)
    assert client.get(PROFILE_URL).status_code == HTTPStatus.FOUND


# ------------------------------------------------------------------------------
# Password reset
# ------------------------------------------------------------------------------
def test_reset_page_renders(client):
    assert client.get(RESET_URL).status_code == HTTPStatus.OK


def test_reset_answers_the_same_whether_or_not_the_address_exists(client, sent, mailoutbox):
    UserFactory(email="known@example.com")
    with sent():
        known = client.post(RESET_URL, {"email": "known@example.com"})
    with sent():
        unknown = Client().post(RESET_URL, {"email": "unknown@example.com"})
    assert known.status_code == unknown.status_code == HTTPStatus.FOUND
    assert known.url == unknown.url == RESET_CONFIRM_URL
    assert [m.replace("known", "X").replace("unX", "X") for m in _messages(known)] == [
        m.replace("unknown", "X") for m in _messages(unknown)
    ]
    assert [m.to for m in mailoutbox] == [["known@example.com"]]


def test_reset_with_a_bad_email_is_a_form_error(client):
    response = client.post(RESET_URL, {"email": "not an email"})
    assert response.status_code == HTTPStatus.OK
    assert response.context["form"].errors["email"]


def test_reset_confirm_without_a_request_goes_back_to_reset(client):
    assert client.get(RESET_CONFIRM_URL).url == RESET_URL


def _reset_data(code, password=NEW_PASSWORD):
    return {"code": code, "new_password1": password, "new_password2": password}


def test_reset_confirm_sets_the_password_and_ends_every_session(client, sent, mailoutbox, code_in):
    user = UserFactory(email="known@example.com")
    elsewhere = Client()
    _login(elsewhere, user.username)
    assert elsewhere.get(PROFILE_URL).status_code == HTTPStatus.OK

    with sent():
        client.post(RESET_URL, {"email": "known@example.com"})
    response = client.post(RESET_CONFIRM_URL, _reset_data(code_in(mailoutbox[0])))
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == LOGIN_URL

    assert elsewhere.get(PROFILE_URL).status_code == HTTPStatus.FOUND
    assert _login(Client(), user.username).status_code == HTTPStatus.OK  # old password
    assert _login(Client(), user.username, NEW_PASSWORD).status_code == HTTPStatus.FOUND


def test_reset_confirm_keeps_the_current_session_of_the_same_user(
    client, sent, mailoutbox, code_in
):
    user = UserFactory()
    _login(client, user.username)
    with sent():
        client.post(RESET_URL, {"email": user.email})
    response = client.post(RESET_CONFIRM_URL, _reset_data(code_in(mailoutbox[0])))
    assert response.url == PROFILE_URL
    assert client.get(PROFILE_URL).status_code == HTTPStatus.OK


def test_reset_confirm_with_a_wrong_code_changes_nothing(client, sent, mailoutbox, code_in):
    user = UserFactory()
    with sent():
        client.post(RESET_URL, {"email": user.email})
    wrong = f"{(int(code_in(mailoutbox[0])) + 1) % 1_000_000:06d}"
    response = client.post(RESET_CONFIRM_URL, _reset_data(wrong))
    assert response.status_code == HTTPStatus.OK
    assert "not right" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_reset_confirm_for_an_unknown_address_looks_like_a_wrong_code(client):
    client.post(RESET_URL, {"email": "unknown@example.com"})
    response = client.post(RESET_CONFIRM_URL, _reset_data("123456"))
    assert response.status_code == HTTPStatus.OK
    assert "not right" in response.content.decode()


def test_reset_confirm_with_mismatched_passwords_is_a_form_error(client, sent):
    user = UserFactory()
    with sent():
        client.post(RESET_URL, {"email": user.email})
    data = {"code": "123456", "new_password1": NEW_PASSWORD, "new_password2": "other-Pass1!"}
    response = client.post(RESET_CONFIRM_URL, data)
    assert "new_password2" in response.context["form"].errors


def test_signup_code_does_not_reset_a_password(client, sent, mailoutbox, code_in):
    user = UserFactory(email_verified=False)
    with sent():
        otp.otp_issue(user=user, purpose=OneTimeCode.Purpose.SIGNUP)
        client.post(RESET_URL, {"email": user.email})
    signup_code = code_in(mailoutbox[0])
    response = client.post(RESET_CONFIRM_URL, _reset_data(signup_code))
    assert "was sent for sign-up" in response.content.decode()


# ------------------------------------------------------------------------------
# Password change
# ------------------------------------------------------------------------------
def test_password_change_needs_sign_in(client):
    assert client.get(PASSWORD_CHANGE_URL).url.startswith(LOGIN_URL)


def test_password_change_ends_other_sessions_and_keeps_this_one(client):
    user = UserFactory()
    elsewhere = Client()
    _login(elsewhere, user.username)
    _login(client, user.username)
    response = client.post(
        PASSWORD_CHANGE_URL,
        {
            "old_password": DEFAULT_PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.url == PROFILE_URL
    assert client.get(PROFILE_URL).status_code == HTTPStatus.OK
    assert elsewhere.get(PROFILE_URL).status_code == HTTPStatus.FOUND
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_password_change_with_a_wrong_old_password_is_refused(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(
        PASSWORD_CHANGE_URL,
        {"old_password": "nope", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == HTTPStatus.OK
    assert "old_password" in response.context["form"].errors


# ------------------------------------------------------------------------------
# Profile and e-mail change
# ------------------------------------------------------------------------------
def _profile_data(user, **changes):
    data = {
        field: getattr(user, field)
        for field in [
            "username",
            "first_name",
            "last_name",
            "email",
            "phone",
            "address_line1",
            "address_line2",
            "city",
            "postal_code",
            "country",
        ]
    }
    return {**data, **changes}


def _png(size=(300, 200)):
    buffer = io.BytesIO()
    Image.new("RGB", size, "blue").save(buffer, format="PNG")
    return SimpleUploadedFile("me.png", buffer.getvalue(), content_type="image/png")


def test_profile_needs_sign_in(client):
    assert client.get(PROFILE_URL).url.startswith(LOGIN_URL)


def test_profile_page_shows_every_field(client):
    client.force_login(UserFactory())
    html = client.get(PROFILE_URL).content.decode()
    for name in [
        "username",
        "first_name",
        "last_name",
        "email",
        "phone",
        "address_line1",
        "address_line2",
        "city",
        "postal_code",
        "country",
        "avatar",
    ]:
        assert f'name="{name}"' in html


def test_profile_saves_names_and_address(client):
    user = UserFactory()
    client.force_login(user)
    data = _profile_data(
        user,
        first_name="Ada",
        city="London",
        postal_code="N1 9GU",
        country="GB",
        phone="+44 20 7946 0000",
    )
    response = client.post(PROFILE_URL, data)
    assert response.url == PROFILE_URL
    user.refresh_from_db()
    assert (user.first_name, user.city, user.country) == ("Ada", "London", "GB")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"country": "XX"}, "country"),
        ({"phone": "call me"}, "phone"),
        ({"username": ""}, "username"),
        ({"username": "OTHER"}, "username"),
        ({"email": "OTHER@example.com"}, "email"),
        ({"email": "nope"}, "email"),
    ],
)
def test_profile_with_bad_input_shows_errors_and_saves_nothing(client, changes, field):
    UserFactory(username="other", email="other@example.com")
    user = UserFactory(first_name="Before")
    client.force_login(user)
    response = client.post(PROFILE_URL, _profile_data(user, first_name="After", **changes))
    assert response.status_code == HTTPStatus.OK
    assert field in response.context["form"].errors
    user.refresh_from_db()
    assert user.first_name == "Before"
    # The navbar still shows the saved username.
    assert response.context["user"].username == user.username


def test_profile_avatar_upload_is_stored_as_a_thumbnail(client, sent):
    user = UserFactory()
    client.force_login(user)
    with sent():
        response = client.post(PROFILE_URL, {**_profile_data(user), "avatar": _png()})
    assert response.status_code == HTTPStatus.FOUND
    user.refresh_from_db()
    with Image.open(user.avatar) as image:
        assert image.size == services.AVATAR_SIZE
    assert user.avatar.url in client.get(PROFILE_URL).content.decode()


def test_remove_my_avatar_is_offered_only_with_an_avatar_and_removes_it(client, sent):
    user = UserFactory()
    client.force_login(user)
    assert "Remove my avatar" not in client.get(PROFILE_URL).content.decode()
    with sent():
        client.post(PROFILE_URL, {**_profile_data(user), "avatar": _png()})
    assert "Remove my avatar" in client.get(PROFILE_URL).content.decode()

    response = client.post(PROFILE_URL, {**_profile_data(user), "avatar_clear": "on"})

    assert response.status_code == HTTPStatus.FOUND
    user.refresh_from_db()
    assert not user.avatar
    assert "Remove my avatar" not in client.get(PROFILE_URL).content.decode()


def test_profile_refuses_a_file_that_is_not_an_image(client):
    user = UserFactory()
    client.force_login(user)
    fake = SimpleUploadedFile("me.png", b"<svg onload=alert(1)>", content_type="image/png")
    response = client.post(PROFILE_URL, {**_profile_data(user), "avatar": fake})
    assert response.status_code == HTTPStatus.OK
    assert response.context["form"].errors["avatar"]
    user.refresh_from_db()
    assert not user.avatar


def test_profile_refuses_an_image_over_the_size_limit(client, settings):
    settings.MAX_UPLOAD_IMAGE_BYTES = 100
    user = UserFactory()
    client.force_login(user)
    response = client.post(PROFILE_URL, {**_profile_data(user), "avatar": _png((200, 200))})
    assert response.status_code == HTTPStatus.OK
    assert "too large" in response.context["form"].errors["avatar"][0]


def test_changed_email_takes_effect_only_after_its_code(client, sent, mailoutbox, code_in):
    user = UserFactory(email="old@example.com")
    client.force_login(user)
    with sent():
        response = client.post(
            PROFILE_URL,
            _profile_data(user, email="new@example.com", current_password=DEFAULT_PASSWORD),
        )
    assert response.url == EMAIL_VERIFY_URL
    assert mailoutbox[0].to == ["new@example.com"]
    user.refresh_from_db()
    assert user.email == "old@example.com"
    assert "new@example.com" in client.get(EMAIL_VERIFY_URL).content.decode()

    response = client.post(EMAIL_VERIFY_URL, {"code": code_in(mailoutbox[0])})
    assert response.url == PROFILE_URL
    user.refresh_from_db()
    assert user.email == "new@example.com"


def test_email_verify_with_a_wrong_code_keeps_the_old_address(client, sent, mailoutbox, code_in):
    user = UserFactory(email="old@example.com")
    client.force_login(user)
    with sent():
        client.post(
            PROFILE_URL,
            _profile_data(user, email="new@example.com", current_password=DEFAULT_PASSWORD),
        )
    wrong = f"{(int(code_in(mailoutbox[0])) + 1) % 1_000_000:06d}"
    response = client.post(EMAIL_VERIFY_URL, {"code": wrong})
    assert response.status_code == HTTPStatus.OK
    user.refresh_from_db()
    assert user.email == "old@example.com"


def test_email_verify_needs_sign_in(client):
    assert client.get(EMAIL_VERIFY_URL).url.startswith(LOGIN_URL)


def test_profile_page_query_budget(client, django_assert_max_num_queries):
    client.force_login(UserFactory())
    with django_assert_max_num_queries(12):
        assert client.get(PROFILE_URL).status_code == HTTPStatus.OK


def test_a_successful_sign_in_forgets_that_accounts_failures(client):
    UserFactory(username="alice")
    for _ in range(4):
        _login(client, "alice", "wrong-password")
    assert _login(client, "alice").status_code == HTTPStatus.FOUND
    client.post(LOGOUT_URL)
    for _ in range(4):
        assert _login(client, "alice", "wrong-password").status_code == HTTPStatus.OK


def test_profile_refuses_a_truncated_image_without_crashing(client):
    user = UserFactory()
    client.force_login(user)
    whole = _png((400, 400)).read()
    broken = SimpleUploadedFile("me.png", whole[: len(whole) // 2], content_type="image/png")
    response = client.post(PROFILE_URL, {**_profile_data(user), "avatar": broken})
    assert response.status_code == HTTPStatus.OK
    user.refresh_from_db()
    assert not user.avatar


GARBAGE = [
    {},
    {"code": "\x00" * 6, "username": "\x00", "password": "\x00", "email": "\x00@x.com"},
    {"code": "9" * 5000, "username": "u" * 5000, "email": "e" * 5000, "password": "p" * 5000},
    {"code": ["1", "2"], "username": ["a", "b"], "country": ["US", "GB"]},
    {"new_password1": "", "new_password2": "x", "old_password": "\x00"},
]


@pytest.mark.parametrize("data", GARBAGE)
def test_garbage_never_causes_a_server_error(client, sent, data):
    user = UserFactory(email_verified=False)
    with sent():
        _login(client, user.username)  # leaves a pending verification in the session
        client.post(RESET_URL, {"email": user.email})
    for url in [SIGNUP_URL, VERIFY_URL, RESEND_URL, LOGIN_URL, RESET_URL, RESET_CONFIRM_URL]:
        assert client.post(url, data).status_code < 500, url
    client.force_login(UserFactory())
    for url in [PROFILE_URL, EMAIL_VERIFY_URL, PASSWORD_CHANGE_URL, LOGOUT_URL]:
        assert client.post(url, data).status_code < 500, url


def test_profile_shows_a_pending_email_change(client):
    user = UserFactory()
    services.email_change_request(user=user, new_email="pending@example.com")
    client.force_login(user)
    html = client.get(PROFILE_URL).content.decode()
    assert "pending@example.com" in html
    assert EMAIL_VERIFY_URL in html


# ------------------------------------------------------------------------------
# Issue 16.2: a stolen session cannot take the account over through its e-mail address
# ------------------------------------------------------------------------------
EMAIL_UNDO_URL = reverse("accounts:email-undo")


def test_a_session_without_the_password_cannot_change_the_email(client, sent, mailoutbox):
    user = UserFactory(email="old@example.com")
    client.force_login(user)
    for password in ["", "a-guess"]:
        data = _profile_data(user, email="thief@example.com", current_password=password)
        with sent():
            response = client.post(PROFILE_URL, data)
        assert response.status_code == HTTPStatus.OK
        assert "current password" in response.context["form"].errors["current_password"][0]
    assert mailoutbox == []
    assert not OneTimeCode.objects.exists()


@pytest.mark.parametrize("page", ["profile", "password-change"])
def test_guessing_the_current_password_locks_the_account_like_sign_in_does(client, page):
    """A stolen session gets 5 guesses at the password, as the sign-in page gives."""
    user = UserFactory(username="alice", email="old@example.com")
    client.force_login(user)

    def attempt(password):
        if page == "profile":
            data = _profile_data(user, email="thief@example.com", current_password=password)
            return client.post(PROFILE_URL, data)
        return client.post(
            PASSWORD_CHANGE_URL,
            {
                "old_password": password,
                "new_password1": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
        )

    for n in range(4):
        assert attempt(f"guess-{n}").status_code == HTTPStatus.OK
    assert attempt("guess-4").status_code == HTTPStatus.TOO_MANY_REQUESTS
    locked = attempt(DEFAULT_PASSWORD)  # even the right one, now
    assert locked.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "locked for 15 minutes" in locked.content.decode()
    assert _login(Client(), "alice").status_code == HTTPStatus.TOO_MANY_REQUESTS
    user.refresh_from_db()
    assert user.email == "old@example.com" and user.check_password(DEFAULT_PASSWORD)


def _change_email(client, user, sent, mailoutbox, code_in, new="thief@example.com"):
    """Change `user`'s address through the pages; returns the undo link sent to the old one."""
    with sent():
        client.post(PROFILE_URL, _profile_data(user, email=new, current_password=DEFAULT_PASSWORD))
    with sent():
        response = client.post(EMAIL_VERIFY_URL, {"code": code_in(mailoutbox[-1])})
    assert response.url == PROFILE_URL
    notice = mailoutbox[-1]
    assert notice.to == [user.email]  # the old address
    return notice.body.split("http://testserver", 1)[1].split()[0]


def test_an_email_change_signs_out_other_devices_and_keeps_this_one(
    client, sent, mailoutbox, code_in
):
    user = UserFactory(email="old@example.com")
    other_device = Client()
    other_device.force_login(user)
    client.force_login(user)
    _change_email(client, user, sent, mailoutbox, code_in)
    assert client.get(PROFILE_URL).status_code == HTTPStatus.OK
    assert other_device.get(PROFILE_URL).status_code == HTTPStatus.FOUND  # signed out


def test_the_old_address_can_undo_a_change_and_take_the_account_back(
    client, sent, mailoutbox, code_in
):
    user = UserFactory(email="old@example.com")
    thief = Client()
    thief.force_login(user)
    link = _change_email(thief, user, sent, mailoutbox, code_in)
    assert link.startswith(f"{EMAIL_UNDO_URL}?token=")

    owner = Client(enforce_csrf_checks=True)
    page = owner.get(link)  # a GET changes nothing
    assert page.status_code == HTTPStatus.OK
    assert "old@example.com" in page.content.decode()
    assert User.objects.get(pk=user.pk).email == "thief@example.com"

    token = page.context["form"]["token"].value()
    csrf = owner.cookies["csrftoken"].value
    with sent():
        response = owner.post(EMAIL_UNDO_URL, {"token": token, "csrfmiddlewaretoken": csrf})
    assert response.url == RESET_CONFIRM_URL
    user.refresh_from_db()
    assert user.email == "old@example.com" and not user.has_usable_password()
    assert thief.get(PROFILE_URL).status_code == HTTPStatus.FOUND  # the thief is signed out
    assert not _login(Client(), "old@example.com").wsgi_request.user.is_authenticated

    # The owner chooses a new password with the code e-mailed to the old address.
    assert mailoutbox[-1].to == ["old@example.com"]
    response = owner.post(
        RESET_CONFIRM_URL,
        {**_reset_data(code_in(mailoutbox[-1])), "csrfmiddlewaretoken": csrf},
    )
    assert response.url == LOGIN_URL
    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)


@pytest.mark.parametrize("token", ["", "garbage", "eyJ1Ijo1fQ:1abc:xyz"])
def test_a_bad_undo_link_says_so_without_a_form(client, token):
    response = client.get(EMAIL_UNDO_URL, {"token": token})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "This link is not valid" in response.content.decode()
    assert '<form method="post">' not in response.content.decode()
    response = client.post(EMAIL_UNDO_URL, {"token": token})
    assert response.status_code == HTTPStatus.BAD_REQUEST


def test_an_undo_link_used_twice_says_it_is_done(client, sent, mailoutbox, code_in):
    user = UserFactory(email="old@example.com")
    client.force_login(user)
    link = _change_email(client, user, sent, mailoutbox, code_in)
    token = unquote(link.split("token=", 1)[1])
    with sent():
        client.post(EMAIL_UNDO_URL, {"token": token})
    response = Client().get(link)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "already been undone" in response.content.decode()


# ------------------------------------------------------------------------------
# Issue 16.5: sign-up answers the same for a taken address
# ------------------------------------------------------------------------------
def _without_tokens(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def _sign_up_and_look(email: str, username: str, sent) -> list:
    """What a visitor sees: the sign-up answer, the code page, a wrong code, a resend."""
    client = Client()
    with sent():
        signup = client.post(SIGNUP_URL, {**SIGNUP_DATA, "username": username, "email": email})
    seen = [(signup.status_code, signup["Location"], _messages(signup))]
    for response in [
        client.get(VERIFY_URL),
        client.post(VERIFY_URL, {"code": "000000"}),
        client.post(RESEND_URL, follow=True),
    ]:
        seen.append((response.status_code, _without_tokens(response.content.decode())))
    return seen


def test_signup_with_a_taken_address_looks_exactly_like_a_new_one(sent, mailoutbox):
    # The first sign-up with the address makes an account (no code e-mail matches "000000")…
    with mock_code("123456"):
        new = _sign_up_and_look("someone@example.com", "first", sent)
    # …the second finds the address taken: the visitor cannot tell.
    taken = _sign_up_and_look("someone@example.com", "second", sent)
    assert taken == new
    assert "That code is not right" in new[2][1]
    assert "less than a minute ago" in new[3][1]
    assert list(User.objects.values_list("username", flat=True)) == ["first"]
    assert [m.to for m in mailoutbox] == [["someone@example.com"]] * 2
    assert "tried to create a new" in mailoutbox[1].body


def mock_code(code: str):
    from unittest import mock

    return mock.patch("accounts.otp.secrets.randbelow", return_value=int(code))
