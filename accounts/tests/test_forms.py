import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.forms import (
    CodeForm,
    LoginForm,
    PasswordResetConfirmForm,
    PasswordResetForm,
    ProfileForm,
    SignupForm,
)
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SIGNUP = {
    "username": "newbie",
    "email": "Newbie@Example.com",
    "password1": "a-Str0ng-pass!",
    "password2": "a-Str0ng-pass!",
}


def _codes(form, field):
    return [error.code for error in form.errors.as_data()[field]]


def test_signup_form_accepts_good_input_and_lowercases_the_email():
    form = SignupForm(data=SIGNUP)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["email"] == "newbie@example.com"


def test_signup_form_requires_an_email():
    form = SignupForm(data={**SIGNUP, "email": ""})
    assert "email" in form.errors


def test_signup_form_refuses_mismatched_passwords():
    form = SignupForm(data={**SIGNUP, "password2": "different-Pass1"})
    assert _codes(form, "password2") == ["password_mismatch"]


@pytest.mark.parametrize(
    ("password", "code"),
    [("short1!", "password_too_short"), ("password123", "password_too_common")],
)
def test_signup_form_applies_djangos_password_validators(password, code):
    form = SignupForm(data={**SIGNUP, "password1": password, "password2": password})
    assert code in _codes(form, "password2")


def test_signup_form_refuses_a_username_taken_in_another_case():
    UserFactory(username="Newbie")
    form = SignupForm(data=SIGNUP)
    assert _codes(form, "username") == ["username_taken"]


@pytest.mark.parametrize("lookalike", ["ALİCE", "ＡＬＩＣＥ", "alıce", "Alicé"])
def test_signup_form_refuses_a_username_that_only_looks_different(lookalike):
    UserFactory(username="alice")
    form = SignupForm(data={**SIGNUP, "username": lookalike})
    assert _codes(form, "username") == ["username_taken"]


def test_profile_form_refuses_renaming_to_a_lookalike_of_another_username():
    UserFactory(username="alice")
    user = UserFactory(username="bob")
    form = ProfileForm(data=_profile(user, username="ALİCE"), instance=user)
    assert _codes(form, "username") == ["username_taken"]


def test_signup_form_does_not_say_that_an_email_is_taken():
    """Issue 16.5: the service tells the address's owner instead (see test_views)."""
    UserFactory(email="newbie@example.com")
    form = SignupForm(data=SIGNUP)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["email"] == "newbie@example.com"


def test_signup_form_refuses_an_at_sign_in_the_username():
    form = SignupForm(data={**SIGNUP, "username": "me@home"})
    assert _codes(form, "username") == ["username_at_sign"]


@pytest.mark.parametrize(
    ("code", "valid"),
    [("123456", True), (" 123456 ", True), ("12345", False), ("12a456", False), ("٣٣٣٣٣٣", False)],
)
def test_code_form_takes_exactly_six_ascii_digits(code, valid):
    assert CodeForm(data={"code": code}).is_valid() is valid


def test_login_form_says_a_blocked_account_is_blocked(rf):
    UserFactory(username="alice", is_active=False)
    request = rf.post("/accounts/login/")
    form = LoginForm(request, data={"username": "alice", "password": DEFAULT_PASSWORD})
    assert not form.is_valid()
    assert [e.code for e in form.non_field_errors().as_data()] == ["inactive"]


def test_login_form_refuses_a_wrong_password_with_a_generic_message(rf):
    UserFactory(username="alice")
    request = rf.post("/accounts/login/")
    form = LoginForm(request, data={"username": "alice", "password": "nope"})
    assert not form.is_valid()
    assert [e.code for e in form.non_field_errors().as_data()] == ["invalid_login"]


def test_password_reset_form_needs_a_valid_email():
    assert not PasswordResetForm(data={"email": "nope"}).is_valid()
    assert PasswordResetForm(data={"email": "a@example.com"}).is_valid()


def test_reset_confirm_form_checks_the_passwords_against_the_user():
    user = UserFactory(username="marvellous")
    data = {"code": "123456", "new_password1": "marvellous1", "new_password2": "marvellous1"}
    form = PasswordResetConfirmForm(data=data, user=user)
    assert "password_too_similar" in _codes(form, "new_password2")


def test_reset_confirm_form_works_without_a_user():
    data = {"code": "123456", "new_password1": "n3w-Passw0rd!", "new_password2": "n3w-Passw0rd!"}
    assert PasswordResetConfirmForm(data=data, user=None).is_valid()


def _profile(user, **changes):
    return {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "phone": "",
        "address_line1": "",
        "address_line2": "",
        "city": "",
        "postal_code": "",
        "country": "",
        **changes,
    }


def test_profile_form_offers_countries_from_django_countries():
    form = ProfileForm(instance=UserFactory())
    choices = dict(form.fields["country"].choices)
    assert choices["DE"] == "Germany" and "" in choices


def test_profile_form_refuses_an_unknown_country():
    user = UserFactory()
    form = ProfileForm(data=_profile(user, country="XX"), instance=user)
    assert _codes(form, "country") == ["invalid_choice"]


def test_profile_form_keeps_your_own_username_in_another_case():
    user = UserFactory(username="ada")
    form = ProfileForm(data=_profile(user, username="Ada"), instance=user)
    assert form.is_valid(), form.errors


@pytest.mark.parametrize(
    ("password", "code"), [("", "password_required"), ("not-my-password", "password_incorrect")]
)
def test_profile_form_asks_for_the_current_password_to_change_the_email(password, code):
    """Issue 16.2: a signed-in session alone cannot move the account to another address."""
    user = UserFactory(email="old@example.com")
    data = _profile(user, email="new@example.com", current_password=password)
    form = ProfileForm(data=data, instance=user)
    assert _codes(form, "current_password") == [code]


def test_profile_form_needs_no_password_for_other_changes():
    user = UserFactory(email="old@example.com")
    form = ProfileForm(data=_profile(user, city="Lyon"), instance=user)
    assert form.is_valid(), form.errors


def test_profile_form_never_puts_a_new_email_on_the_instance():
    user = UserFactory(email="old@example.com")
    data = _profile(user, email="New@example.com", current_password=DEFAULT_PASSWORD)
    form = ProfileForm(data=data, instance=user)
    assert form.is_valid(), form.errors
    assert form.email_changed
    assert form.cleaned_data["email"] == "new@example.com"
    assert user.email == "old@example.com"


def test_profile_form_same_email_is_not_a_change():
    user = UserFactory(email="same@example.com")
    form = ProfileForm(data=_profile(user, email="SAME@example.com"), instance=user)
    assert form.is_valid() and not form.email_changed


@pytest.mark.parametrize(
    ("phone", "e164"),
    [
        ("+1 (201) 555-0123", "+12015550123"),
        ("201.555.0123", "+12015550123"),  # no country code: PHONENUMBER_DEFAULT_REGION (US)
        ("+44 20 7946 0000", "+442079460000"),
    ],
)
def test_profile_form_accepts_phone_numbers_and_stores_them_in_e164(phone, e164):
    user = UserFactory()
    form = ProfileForm(data=_profile(user, phone=phone), instance=user)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["phone"].as_e164 == e164


@pytest.mark.parametrize("phone", ["call me", "12", "<script>", "555.123.4567", "020 7946 0000"])
def test_profile_form_refuses_bad_phone_numbers(phone):
    user = UserFactory()
    form = ProfileForm(data=_profile(user, phone=phone), instance=user)
    assert _codes(form, "phone") == ["invalid"]
    assert form.errors["phone"] == [
        "Enter a valid phone number (e.g. (201) 555-0123) "
        "or a number with an international call prefix."
    ]


def test_profile_form_refuses_a_renamed_text_file_as_avatar():
    user = UserFactory()
    fake = SimpleUploadedFile("a.jpg", b"not an image at all", content_type="image/jpeg")
    form = ProfileForm(data=_profile(user), files={"avatar": fake}, instance=user)
    assert "avatar" in form.errors


@pytest.mark.parametrize(
    ("name", "code"), [("a.bmp", "invalid_image_extension"), ("a.png", "invalid_image_format")]
)
def test_profile_form_refuses_a_bmp_avatar_by_its_name_or_its_content(name, code):
    user = UserFactory()
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, format="BMP")
    bmp = SimpleUploadedFile(name, buffer.getvalue(), content_type="image/bmp")
    form = ProfileForm(data=_profile(user), files={"avatar": bmp}, instance=user)
    assert code in _codes(form, "avatar")


def test_login_form_accepts_a_long_email_address(rf):
    email = f"{'a' * 60}.{'b' * 60}@{'c' * 40}.example.com"
    assert len(email) > 150
    user = UserFactory(email=email)
    form = LoginForm(
        rf.post("/accounts/login/"), data={"username": email, "password": DEFAULT_PASSWORD}
    )
    assert form.is_valid(), form.errors
    assert form.get_user() == user


def test_login_form_refuses_absurdly_long_input(rf):
    form = LoginForm(rf.post("/accounts/login/"), data={"username": "a" * 300, "password": "x"})
    assert "username" in form.errors
