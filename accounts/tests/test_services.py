import io
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from accounts import otp, services
from accounts.models import OneTimeCode, User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SIGNUP = OneTimeCode.Purpose.SIGNUP
RESET = OneTimeCode.Purpose.RESET
EMAIL_CHANGE = OneTimeCode.Purpose.EMAIL_CHANGE


@pytest.fixture
def issue(sent, mailoutbox, code_in):
    """Issue a code and return (row, the code from the e-mail)."""

    def _issue(user, purpose=SIGNUP, **kwargs):
        with sent():
            otc = otp.otp_issue(user=user, purpose=purpose, **kwargs)
        return otc, code_in(mailoutbox[-1])

    return _issue


def _age(otc, **delta):
    """Pretend a code was issued earlier (moves created_at and expires_at back)."""
    OneTimeCode.objects.filter(pk=otc.pk).update(
        created_at=otc.created_at - timedelta(**delta),
        expires_at=otc.expires_at - timedelta(**delta),
    )


def _error_code(excinfo) -> str:
    return excinfo.value.code


# ------------------------------------------------------------------------------
# otp_issue
# ------------------------------------------------------------------------------
def test_issued_code_is_six_digits_from_secrets_and_only_its_hash_is_stored(sent, mailoutbox):
    user = UserFactory()
    randbelow = mock.patch("accounts.otp.secrets.randbelow", return_value=42)
    with randbelow as patched, sent():
        otc = otp.otp_issue(user=user, purpose=SIGNUP)
    patched.assert_called_once_with(1_000_000)
    assert "000042" in mailoutbox[0].body
    assert "000042" not in otc.code_hash
    assert len(otc.code_hash) == 64
    assert otc.code_hash == otp.otp_hash(user_id=user.pk, purpose=SIGNUP, code="000042")


def test_issued_code_lives_ten_minutes(issue):
    otc, _code = issue(UserFactory())
    assert otc.expires_at - otc.created_at == timedelta(minutes=10)


def test_code_email_has_text_and_html_and_goes_to_the_user(issue, mailoutbox):
    user = UserFactory()
    _otc, code = issue(user)
    message = mailoutbox[0]
    assert message.to == [user.email]
    assert code in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and code in html


def test_code_email_is_sent_only_after_commit(django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        otp.otp_issue(user=UserFactory(), purpose=SIGNUP)
    assert mailoutbox == []
    assert len(callbacks) == 1


def test_email_change_code_goes_to_the_new_address(issue, mailoutbox):
    user = UserFactory()
    issue(user, EMAIL_CHANGE, new_email="new@example.com")
    assert mailoutbox[0].to == ["new@example.com"]


def test_second_code_within_a_minute_is_refused(issue):
    user = UserFactory()
    issue(user)
    with pytest.raises(ValidationError) as excinfo:
        otp.otp_issue(user=user, purpose=SIGNUP)
    assert _error_code(excinfo) == "throttled"
    assert "seconds" in excinfo.value.messages[0]


def test_second_code_after_a_minute_is_sent(issue, mailoutbox):
    user = UserFactory()
    first, _code = issue(user)
    _age(first, seconds=61)
    issue(user)
    assert len(mailoutbox) == 2


def test_throttle_is_per_purpose(issue, mailoutbox):
    user = UserFactory()
    issue(user, SIGNUP)
    issue(user, RESET)
    assert len(mailoutbox) == 2


# ------------------------------------------------------------------------------
# otp_verify
# ------------------------------------------------------------------------------
def test_right_code_is_accepted_once(issue):
    user = UserFactory()
    otc, code = issue(user)
    assert otp.otp_verify(user=user, purpose=SIGNUP, code=code).pk == otc.pk
    otc.refresh_from_db()
    assert otc.used_at is not None


def test_reusing_a_code_is_refused(issue):
    user = UserFactory()
    _otc, code = issue(user)
    otp.otp_verify(user=user, purpose=SIGNUP, code=code)
    with pytest.raises(ValidationError) as excinfo:
        otp.otp_verify(user=user, purpose=SIGNUP, code=code)
    assert _error_code(excinfo) == "used"
    assert "already been used" in excinfo.value.messages[0]


def test_wrong_code_is_refused_and_counted(issue):
    user = UserFactory()
    otc, code = issue(user)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    with pytest.raises(ValidationError) as excinfo:
        otp.otp_verify(user=user, purpose=SIGNUP, code=wrong)
    assert _error_code(excinfo) == "invalid"
    otc.refresh_from_db()
    assert otc.attempts == 1 and otc.used_at is None


def test_sixth_try_is_refused_even_with_the_right_code(issue):
    user = UserFactory()
    otc, code = issue(user)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    outcomes = []
    for _ in range(5):
        with pytest.raises(ValidationError) as excinfo:
            otp.otp_verify(user=user, purpose=SIGNUP, code=wrong)
        outcomes.append(_error_code(excinfo))
    assert outcomes == ["invalid"] * 4 + ["too_many_attempts"]
    with pytest.raises(ValidationError) as excinfo:
        otp.otp_verify(user=user, purpose=SIGNUP, code=code)
    assert _error_code(excinfo) == "too_many_attempts"
    otc.refresh_from_db()
    assert otc.attempts == 5 and otc.used_at is None


def test_four_wrong_tries_then_the_right_code_works(issue):
    user = UserFactory()
    _otc, code = issue(user)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(4):
        with pytest.raises(ValidationError):
            otp.otp_verify(user=user, purpose=SIGNUP, code=wrong)
    otp.otp_verify(user=user, purpose=SIGNUP, code=code)


def test_expired_code_is_refused(issue):
    user = UserFactory()
    _otc, code = issue(user)
    later = timezone.now() + timedelta(minutes=10, seconds=1)
    frozen = mock.patch("django.utils.timezone.now", return_value=later)
    with frozen, pytest.raises(ValidationError) as excinfo:
        otp.otp_verify(user=user, purpose=SIGNUP, code=code)
    assert _error_code(excinfo) == "expired"
    assert "expired" in excinfo.value.messages[0]


def test_code_still_works_just_before_expiry(issue):
    user = UserFactory()
    _otc, code = issue(user)
    later = timezone.now() + timedelta(minutes=9, seconds=55)
    with mock.patch("django.utils.timezone.now", return_value=later):
        otp.otp_verify(user=user, purpose=SIGNUP, code=code)


def test_wrong_code_after_expiry_says_expired(issue):
    user = UserFactory()
    otc, code = issue(user)
    _age(otc, minutes=11)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    with pytest.raises(ValidationError) as excinfo:
        otp.otp_verify(user=user, purpose=SIGNUP, code=wrong)
    assert _error_code(excinfo) == "expired"


def test_code_for_another_purpose_is_refused_with_its_purpose_named(issue):
    user = UserFactory()
    _signup, signup_code = issue(user, SIGNUP)
    reset, _reset_code = issue(user, RESET)
    with pytest.raises(ValidationError) as excinfo:
        otp.otp_verify(user=user, purpose=RESET, code=signup_code)
    assert _error_code(excinfo) == "wrong_purpose"
    assert "sign-up" in excinfo.value.messages[0]
    reset.refresh_from_db()
    assert reset.attempts == 1


def test_code_of_another_user_is_refused(issue):
    owner, other = UserFactory(), UserFactory()
    _otc, code = issue(owner)
    issue(other)
    with pytest.raises(ValidationError) as excinfo:
        otp.otp_verify(user=other, purpose=SIGNUP, code=code)
    assert _error_code(excinfo) == "invalid"


def test_older_code_is_refused_once_a_newer_one_was_sent(issue):
    user = UserFactory()
    first, old_code = issue(user)
    _age(first, seconds=61)
    _second, new_code = issue(user)
    if new_code == old_code:  # one chance in a million
        pytest.skip("both codes happen to be equal")
    with pytest.raises(ValidationError) as excinfo:
        otp.otp_verify(user=user, purpose=SIGNUP, code=old_code)
    assert _error_code(excinfo) == "superseded"
    otp.otp_verify(user=user, purpose=SIGNUP, code=new_code)


def test_verifying_without_any_code_is_refused():
    with pytest.raises(ValidationError) as excinfo:
        otp.otp_verify(user=UserFactory(), purpose=SIGNUP, code="123456")
    assert _error_code(excinfo) == "no_code"


def test_verifying_for_no_user_looks_like_a_wrong_code():
    with pytest.raises(ValidationError) as excinfo:
        otp.otp_verify(user=None, purpose=RESET, code="123456")
    assert _error_code(excinfo) == "invalid"


# ------------------------------------------------------------------------------
# Sign-up and verification
# ------------------------------------------------------------------------------
def test_signup_creates_an_unverified_customer_and_emails_a_code(sent, mailoutbox):
    with sent():
        user = services.user_signup(
            username="newbie", email="Newbie@Example.com", password="a-Str0ng-pass!"
        )
    assert user.email == "newbie@example.com"
    assert not user.email_verified and user.is_active
    assert user.check_password("a-Str0ng-pass!")
    assert list(user.groups.values_list("name", flat=True)) == ["Customers"]
    assert mailoutbox[0].to == ["newbie@example.com"]
    assert user.one_time_codes.get().purpose == SIGNUP


@pytest.fixture
def work():
    """Count the costly steps of a request: password hashes, code hashes, e-mails handed to
    the mail queue (sent or not) and database queries."""
    from contextlib import contextmanager

    from django.contrib.auth.hashers import MD5PasswordHasher
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    @contextmanager
    def count():
        counts = {}
        with (
            mock.patch.object(
                MD5PasswordHasher, "encode", autospec=True, side_effect=MD5PasswordHasher.encode
            ) as hashes,
            mock.patch("accounts.otp.otp_hash", wraps=otp.otp_hash) as code_hashes,
            mock.patch("accounts.services.email_dispatch", wraps=services.email_dispatch) as mail,
            mock.patch("accounts.otp.email_dispatch", wraps=otp.email_dispatch) as code_mail,
            CaptureQueriesContext(connection) as queries,
        ):
            yield counts
        counts.update(
            passwords=hashes.call_count,
            codes=code_hashes.call_count,
            mails=mail.call_count + code_mail.call_count,
            queries=len(queries),
        )

    return count


def test_signup_with_a_taken_address_makes_nothing_and_tells_its_owner(sent, mailoutbox):
    """Issue 16.5: no second account, no error to the visitor, an e-mail to the owner."""
    owner = UserFactory(username="owner", email="owner@example.com")
    with sent():
        result = services.user_signup(
            username="prober", email="Owner@Example.com", password="a-Str0ng-pass!"
        )
    assert result is None
    assert list(User.objects.values_list("username", flat=True)) == ["owner"]
    [notice] = mailoutbox
    assert notice.to == ["owner@example.com"]
    assert "tried to create a new" in notice.body and "Hello owner" in notice.body
    assert "tried to create a new" in notice.alternatives[0][0]
    assert owner.one_time_codes.count() == 0


def test_the_owner_is_told_of_sign_up_attempts_at_most_once_a_minute(sent, mailoutbox):
    UserFactory(email="owner@example.com")
    for _ in range(3):
        with sent():
            services.user_signup(username="p", email="owner@example.com", password="x-Pass-1!")
    assert len(mailoutbox) == 1


def test_signup_does_the_same_work_whether_or_not_the_address_is_taken(sent, work):
    UserFactory(email="owner@example.com")
    with work() as new, sent():
        services.user_signup(username="new", email="new@example.com", password="a-Str0ng-pass!")
    with work() as taken, sent():
        services.user_signup(username="p", email="owner@example.com", password="a-Str0ng-pass!")
    assert new["passwords"] == taken["passwords"] == 1
    assert new["mails"] == taken["mails"] == 1


def test_reset_request_does_the_same_work_whether_or_not_the_address_has_an_account(
    sent, work, mailoutbox
):
    UserFactory(email="real@example.com")
    with work() as real, sent():
        services.password_reset_request(email="real@example.com")
    with work() as unknown, sent():
        services.password_reset_request(email="nobody@example.com")
    assert real["codes"] == unknown["codes"] == 1
    assert real["mails"] == unknown["mails"] == 1  # the decoy's is addressed to nobody
    assert [m.to for m in mailoutbox] == [["real@example.com"]]


def test_a_wrong_reset_code_costs_the_same_whether_or_not_the_address_has_an_account(sent, work):
    real = UserFactory(email="real@example.com")
    with sent():
        services.password_reset_request(email="real@example.com")
        services.password_reset_request(email="nobody@example.com")
    outcomes = {}
    for name, user, email in [
        ("real", real, "real@example.com"),
        ("unknown", None, "nobody@example.com"),
    ]:
        with work() as outcomes[name], pytest.raises(ValidationError) as excinfo:
            services.password_reset_confirm(user=user, email=email, code="000000", password="x")
        assert excinfo.value.code == "invalid"
    assert outcomes["real"]["codes"] == outcomes["unknown"]["codes"] == 4
    assert outcomes["real"]["queries"] == outcomes["unknown"]["queries"]


def test_signup_with_a_taken_username_is_refused_not_crashed():
    UserFactory(username="taken")
    with pytest.raises(ValidationError) as excinfo:
        services.user_signup(username="taken", email="x@example.com", password="a-Str0ng-pass!")
    assert excinfo.value.code == "taken"
    assert User.objects.filter(email="x@example.com").count() == 0


def test_verify_email_marks_the_address_verified(issue):
    user = UserFactory(email_verified=False)
    _otc, code = issue(user)
    services.user_verify_email(user=user, code=code)
    user.refresh_from_db()
    assert user.email_verified


def test_verification_send_is_skipped_within_a_minute(issue, sent):
    user = UserFactory(email_verified=False)
    issue(user)
    with sent():
        assert services.user_verification_send(user=user) is False


# ------------------------------------------------------------------------------
# Password reset
# ------------------------------------------------------------------------------
def test_reset_request_for_an_unknown_address_sends_nothing(sent, mailoutbox):
    with sent():
        assert services.password_reset_request(email="nobody@example.com") is None
    assert mailoutbox == []


def test_reset_request_for_a_blocked_user_sends_nothing(sent, mailoutbox):
    UserFactory(email="blocked@example.com", is_active=False)
    with sent():
        assert services.password_reset_request(email="blocked@example.com") is None
    assert mailoutbox == []


def test_reset_request_emails_a_reset_code(sent, mailoutbox):
    user = UserFactory(email="me@example.com")
    with sent():
        assert services.password_reset_request(email=" ME@example.com ") == user
    assert mailoutbox[0].to == ["me@example.com"]
    assert user.one_time_codes.get().purpose == RESET


def test_repeated_reset_request_within_a_minute_is_quietly_ignored(sent, mailoutbox):
    user = UserFactory()
    with sent():
        services.password_reset_request(email=user.email)
        assert services.password_reset_request(email=user.email) == user
    assert len(mailoutbox) == 1


def test_reset_confirm_sets_the_password(issue):
    user = UserFactory(email_verified=False)
    _otc, code = issue(user, RESET)
    services.password_reset_confirm(user=user, code=code, password="n3w-Passw0rd!")
    user.refresh_from_db()
    assert user.check_password("n3w-Passw0rd!")
    assert user.email_verified


def test_reset_confirm_with_a_wrong_code_keeps_the_password(issue):
    user = UserFactory()
    _otc, code = issue(user, RESET)
    with pytest.raises(ValidationError):
        services.password_reset_confirm(
            user=user, code=f"{(int(code) + 1) % 1_000_000:06d}", password="n3w-Passw0rd!"
        )
    user.refresh_from_db()
    assert not user.check_password("n3w-Passw0rd!")


def test_reset_changes_the_session_auth_hash(issue):
    user = UserFactory()
    before = user.get_session_auth_hash()
    _otc, code = issue(user, RESET)
    services.password_reset_confirm(user=user, code=code, password="n3w-Passw0rd!")
    assert User.objects.get(pk=user.pk).get_session_auth_hash() != before


# ------------------------------------------------------------------------------
# Profile and e-mail change
# ------------------------------------------------------------------------------
def _image_upload(size=(600, 400), fmt="PNG", name="me.png", mode="RGB"):
    buffer = io.BytesIO()
    Image.new(mode, size, "red").save(buffer, format=fmt)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=f"image/{fmt.lower()}")


def test_profile_update_saves_fields_but_not_the_email():
    user = UserFactory(email="old@example.com")
    services.user_profile_update(
        user=user, data={"first_name": "Ada", "city": "London", "email": "new@example.com"}
    )
    user.refresh_from_db()
    assert (user.first_name, user.city, user.email) == ("Ada", "London", "old@example.com")


def test_avatar_is_stored_as_a_square_jpeg_thumbnail(sent):
    user = UserFactory()
    with sent():
        services.user_profile_update(user=user, data={}, avatar=_image_upload(mode="RGBA"))
    user.refresh_from_db()
    with Image.open(user.avatar) as image:
        assert image.format == "JPEG"
        assert image.size == services.AVATAR_SIZE


def test_replacing_an_avatar_removes_the_old_file(sent):
    user = UserFactory()
    with sent():
        services.user_profile_update(user=user, data={}, avatar=_image_upload())
    old_name = user.avatar.name
    storage = user.avatar.storage
    with sent():
        services.user_profile_update(user=user, data={}, avatar=_image_upload(fmt="JPEG"))
    assert user.avatar.name != old_name
    assert not storage.exists(old_name)
    assert storage.exists(user.avatar.name)


def test_email_change_takes_effect_only_with_the_code(issue, sent, mailoutbox, code_in):
    user = UserFactory(email="old@example.com")
    with sent():
        services.email_change_request(user=user, new_email="New@Example.com")
    assert mailoutbox[0].to == ["new@example.com"]
    user.refresh_from_db()
    assert user.email == "old@example.com"
    services.email_change_confirm(user=user, code=code_in(mailoutbox[0]), undo_url=_undo_url)
    user.refresh_from_db()
    assert user.email == "new@example.com" and user.email_verified


def test_email_change_to_a_taken_address_is_refused():
    UserFactory(email="taken@example.com")
    with pytest.raises(ValidationError) as excinfo:
        services.email_change_request(user=UserFactory(), new_email="TAKEN@example.com")
    assert excinfo.value.code == "taken"


def test_email_change_is_refused_if_the_address_was_taken_meanwhile(issue):
    user = UserFactory()
    _otc, code = issue(user, EMAIL_CHANGE, new_email="late@example.com")
    UserFactory(email="late@example.com")
    with pytest.raises(ValidationError) as excinfo:
        services.email_change_confirm(user=user, code=code, undo_url=_undo_url)
    assert excinfo.value.code == "taken"


# ------------------------------------------------------------------------------
# Issue 16.2: an e-mail change ends other sessions, tells the old address, can be undone
# ------------------------------------------------------------------------------
def _undo_url(token: str) -> str:
    return f"https://shop.example.com/accounts/email/undo/?token={token}"


@pytest.fixture
def changed(issue, sent, mailoutbox):
    """A user whose address was changed from old@ to thief@; returns (user, undo token)."""
    user = UserFactory(email="old@example.com")
    _otc, code = issue(user, EMAIL_CHANGE, new_email="thief@example.com")
    with sent():
        services.email_change_confirm(user=user, code=code, undo_url=_undo_url)
    notice = mailoutbox[-1]
    token = notice.body.split("?token=", 1)[1].split()[0]
    return user, token


def test_an_email_change_ends_every_session_and_tells_the_old_address(changed, mailoutbox):
    user, _token = changed
    notice = mailoutbox[-1]
    assert notice.to == ["old@example.com"]
    assert "thief@example.com" in notice.body and "7 days" in notice.body
    assert "https://shop.example.com/accounts/email/undo/?token=" in notice.body
    assert "https://shop.example.com/accounts/email/undo/?token=" in notice.alternatives[0][0]
    assert User.objects.get(pk=user.pk).session_epoch == 1  # every session hash changed


def test_undoing_an_email_change_restores_the_address_and_locks_out_whoever_changed_it(
    changed, sent, mailoutbox
):
    user, token = changed
    with sent():
        services.email_change_undo(token=token)
    user = User.objects.get(pk=user.pk)
    assert user.email == "old@example.com" and user.email_verified
    assert not user.has_usable_password()  # the thief may know the password
    assert user.session_epoch == 2  # every session ended again
    reset = mailoutbox[-1]  # and a code to choose a new password goes to the owner
    assert reset.to == ["old@example.com"] and "reset the password" in reset.body
    assert OneTimeCode.objects.filter(user=user, purpose=RESET, used_at=None).count() == 1


def test_undoing_cancels_an_email_change_still_waiting_for_its_code(changed, issue):
    user, token = changed
    _age(OneTimeCode.objects.get(user=user, purpose=EMAIL_CHANGE), minutes=2)
    _otc, code = issue(user, EMAIL_CHANGE, new_email="again@example.com")
    services.email_change_undo(token=token)
    with pytest.raises(ValidationError):
        services.email_change_confirm(user=user, code=code, undo_url=_undo_url)
    assert User.objects.get(pk=user.pk).email == "old@example.com"


def _change_again(user, issue, sent, mailoutbox, new):
    """A further change of `user`'s address (a minute later); returns its undo token."""
    for otc in OneTimeCode.objects.filter(user=user):
        _age(otc, minutes=2)
    _otc, code = issue(user, EMAIL_CHANGE, new_email=new)
    with sent():
        services.email_change_confirm(user=user, code=code, undo_url=_undo_url)
    return mailoutbox[-1].body.split("?token=", 1)[1].split()[0]


def test_a_thief_who_changed_the_address_twice_cannot_undo_the_owners_undo(
    changed, issue, sent, mailoutbox
):
    user, owners_token = changed  # old@ → thief@
    thiefs_token = _change_again(user, issue, sent, mailoutbox, "thief2@example.com")
    assert mailoutbox[-1].to == ["thief@example.com"]  # the second link went to the thief
    services.email_change_undo(token=owners_token)
    with pytest.raises(ValidationError) as excinfo:
        services.email_change_undo(token=thiefs_token)
    assert excinfo.value.code == "undone"
    assert User.objects.get(pk=user.pk).email == "old@example.com"


def test_the_owners_link_still_works_after_a_thiefs_undo(changed, issue, sent, mailoutbox):
    user, owners_token = changed
    thiefs_token = _change_again(user, issue, sent, mailoutbox, "thief2@example.com")
    services.email_change_undo(token=thiefs_token)  # back to thief@, the thief hopes
    assert User.objects.get(pk=user.pk).email == "thief@example.com"
    services.email_change_undo(token=owners_token)
    assert User.objects.get(pk=user.pk).email == "old@example.com"
    with pytest.raises(ValidationError):
        services.email_change_undo(token=thiefs_token)


def test_a_change_made_after_an_undo_can_be_undone_too(changed, issue, sent, mailoutbox):
    user, owners_token = changed
    services.email_change_undo(token=owners_token)
    user.refresh_from_db()
    later = _change_again(user, issue, sent, mailoutbox, "new@example.com")
    services.email_change_undo(token=later)
    assert User.objects.get(pk=user.pk).email == "old@example.com"


def test_an_undo_link_works_once(changed):
    _user, token = changed
    services.email_change_undo(token=token)
    with pytest.raises(ValidationError) as excinfo:
        services.email_change_undo(token=token)
    assert excinfo.value.code == "undone"


def test_an_undo_link_expires_after_the_configured_days(changed, settings):
    _user, token = changed
    settings.EMAIL_CHANGE_UNDO_DAYS = 7
    later = timezone.now() + timedelta(days=7, minutes=1)
    with (
        mock.patch("django.core.signing.time.time", return_value=later.timestamp()),
        pytest.raises(ValidationError) as excinfo,
    ):
        services.email_change_undo(token=token)
    assert excinfo.value.code == "expired"
    assert User.objects.get(pk=_user.pk).email == "thief@example.com"


@pytest.mark.parametrize("tamper", [lambda t: t[:-2] + "xx", lambda t: "", lambda t: "a:b:c"])
def test_a_forged_undo_link_is_refused(changed, tamper):
    _user, token = changed
    with pytest.raises(ValidationError) as excinfo:
        services.email_change_undo(token=tamper(token))
    assert excinfo.value.code == "invalid"


def test_an_undo_is_refused_if_another_account_took_the_old_address(changed):
    user, token = changed
    UserFactory(email="old@example.com")
    with pytest.raises(ValidationError) as excinfo:
        services.email_change_undo(token=token)
    assert excinfo.value.code == "taken"
    assert User.objects.get(pk=user.pk).email == "thief@example.com"


# ------------------------------------------------------------------------------
# Issue 16.10: code e-mails are limited per destination address and per client address
# ------------------------------------------------------------------------------
def test_other_accounts_cannot_send_a_second_code_to_an_address_within_a_minute(issue, mailoutbox):
    for n in range(3):
        user = UserFactory(username=f"flooder{n}")
        try:
            issue(user, EMAIL_CHANGE, new_email="Victim@Outside.example")
        except ValidationError as error:
            assert error.code == "throttled"
    assert [m.to for m in mailoutbox] == [["victim@outside.example"]]
    first = OneTimeCode.objects.get(sent_to="victim@outside.example")
    _age(first, minutes=1)
    issue(UserFactory(username="later"), EMAIL_CHANGE, new_email="victim@outside.example")
    assert len(mailoutbox) == 2


def test_one_client_address_gets_a_limited_number_of_codes_an_hour(sent, mailoutbox, settings):
    settings.ACCOUNTS_CODES_PER_IP_PER_HOUR = 3
    users = [UserFactory(username=f"u{n}") for n in range(5)]
    for user in users[:3]:
        with sent():
            otp.otp_issue(user=user, purpose=SIGNUP, client_ip="203.0.113.9")
    with pytest.raises(ValidationError) as excinfo:
        otp.otp_issue(user=users[3], purpose=SIGNUP, client_ip="203.0.113.9")
    assert excinfo.value.code == "throttled_ip"
    assert "60 minutes" in excinfo.value.messages[0]
    with sent():  # another address is not held back
        otp.otp_issue(user=users[3], purpose=SIGNUP, client_ip="203.0.113.10")
    for otc in OneTimeCode.objects.filter(client_ip="203.0.113.9"):
        _age(otc, hours=1)
    with sent():  # an hour later, the first address may ask again
        otp.otp_issue(user=users[4], purpose=SIGNUP, client_ip="203.0.113.9")
    assert len(mailoutbox) == 5


def test_a_reset_request_over_the_client_limit_is_quietly_ignored(sent, mailoutbox, settings):
    settings.ACCOUNTS_CODES_PER_IP_PER_HOUR = 1
    UserFactory(email="a@example.com")
    UserFactory(email="b@example.com")
    with sent():
        services.password_reset_request(email="a@example.com", client_ip="203.0.113.9")
        services.password_reset_request(email="b@example.com", client_ip="203.0.113.9")
    assert [m.to for m in mailoutbox] == [["a@example.com"]]


# ------------------------------------------------------------------------------
# Blocking
# ------------------------------------------------------------------------------
def test_blocking_deactivates_the_user_and_changes_the_session_hash():
    staff = UserFactory(is_staff=True)
    user = UserFactory()
    before = user.get_session_auth_hash()
    services.user_block(user=user, by=staff)
    user.refresh_from_db()
    assert not user.is_active
    assert user.get_session_auth_hash() != before


def test_unblocking_does_not_revive_old_sessions():
    staff = UserFactory(is_staff=True)
    user = UserFactory()
    before = user.get_session_auth_hash()
    services.user_block(user=user, by=staff)
    services.user_unblock(user=user, by=staff)
    user.refresh_from_db()
    assert user.is_active
    assert user.get_session_auth_hash() != before


def test_blocking_yourself_is_refused():
    staff = UserFactory(is_staff=True)
    with pytest.raises(ValidationError) as excinfo:
        services.user_block(user=staff, by=staff)
    assert excinfo.value.code == "block_self"
    staff.refresh_from_db()
    assert staff.is_active


def test_staff_cannot_block_a_superuser():
    staff = UserFactory(is_staff=True)
    boss = UserFactory(is_staff=True, is_superuser=True)
    with pytest.raises(ValidationError) as excinfo:
        services.user_block(user=boss, by=staff)
    assert excinfo.value.code == "block_superuser"
    boss.refresh_from_db()
    assert boss.is_active


def test_a_superuser_can_block_a_superuser():
    root = UserFactory(is_staff=True, is_superuser=True)
    other = UserFactory(is_staff=True, is_superuser=True)
    services.user_block(user=other, by=root)
    other.refresh_from_db()
    assert not other.is_active


# ------------------------------------------------------------------------------
# Demo users
# ------------------------------------------------------------------------------
def test_demo_users_ensure_is_idempotent():
    from accounts.demo import demo_users_ensure

    demo_users_ensure()
    admin, shopper = demo_users_ensure()
    assert User.objects.filter(username__in=["admin", "shopper"]).count() == 2
    assert admin.is_superuser and admin.check_password("123@456")
    assert shopper.email_verified and shopper.groups.filter(name="Customers").exists()
    assert Group.objects.filter(name="Customers").count() == 1


def test_clear_codes_deletes_codes_expired_over_a_day_ago_only():
    from io import StringIO

    from django.core.management import call_command

    user = UserFactory()
    now = timezone.now()

    def code(expired_ago):
        return OneTimeCode.objects.create(
            user=user,
            purpose=SIGNUP,
            code_hash="x",
            created_at=now - expired_ago - otp.OTP_LIFETIME,
            expires_at=now - expired_ago,
        )

    old = code(timedelta(days=2))
    recent = code(timedelta(hours=2))
    live = code(-timedelta(minutes=5))
    out = StringIO()
    call_command("clear_codes", stdout=out)
    assert "Deleted 1 expired one-time code(s)." in out.getvalue()
    assert set(OneTimeCode.objects.values_list("pk", flat=True)) == {recent.pk, live.pk}
    assert not OneTimeCode.objects.filter(pk=old.pk).exists()


def test_a_reset_for_an_unknown_address_refuses_codes_as_a_real_one_would():
    services.password_reset_request(email="nobody@example.com")
    outcomes = []
    for _ in range(otp.OTP_MAX_ATTEMPTS + 1):
        with pytest.raises(ValidationError) as refused:
            services.password_reset_confirm(
                user=None, email="Nobody@Example.com ", code="123456", password="x"
            )
        outcomes.append(refused.value.code)
    assert outcomes == ["invalid"] * 4 + ["too_many_attempts"] * 2
    # Asking again within the minute does not revive it, as with a real code.
    services.password_reset_request(email="nobody@example.com")
    with pytest.raises(ValidationError, match="Too many wrong tries"):
        services.password_reset_confirm(
            user=None, email="nobody@example.com", code="1", password="x"
        )


def test_a_reset_never_asked_for_says_there_is_no_code():
    with pytest.raises(ValidationError) as refused:
        services.password_reset_confirm(user=None, email="x@example.com", code="1", password="x")
    assert refused.value.code == "no_code"


def test_while_the_security_store_is_away_a_reset_for_an_unknown_address_answers_as_a_real_one():
    import redis

    real = UserFactory(email="real@example.com")
    services.password_reset_request(email="real@example.com")
    away = mock.Mock(
        **{"get.side_effect": redis.ConnectionError, "set.side_effect": redis.ConnectionError}
    )
    with mock.patch("accounts.services.security_cache", return_value=away):
        assert services.password_reset_request(email="nobody@example.com") is None
        with pytest.raises(ValidationError) as unknown:
            services.password_reset_confirm(
                user=None, code="000000", password="a-Str0ng-pass!", email="nobody@example.com"
            )
    with pytest.raises(ValidationError) as known:
        services.password_reset_confirm(user=real, code="000000", password="a-Str0ng-pass!")
    assert unknown.value.code == known.value.code == "invalid"
    assert unknown.value.messages == known.value.messages
