from django import forms
from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth import forms as auth_forms
from django.core import validators
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from myecommerce.validators import validate_image_upload

from .models import User, username_lookalikes


def _clean_username(username: str, *, exclude_pk: int | None = None) -> str:
    username = username.strip()
    if "@" in username:
        # "@" marks an e-mail address at sign-in, so a username must not contain one.
        raise forms.ValidationError(_("A username cannot contain “@”."), code="username_at_sign")
    # Look-alikes too: "ALİCE" or "ＡＬＩＣＥ" beside "alice" (accounts.models.username_key).
    others = User.objects.filter(username_lookalikes(username))
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    if others.exists():
        raise forms.ValidationError(_("That username is already taken."), code="username_taken")
    return username


def _current_password_is_right(request, user: User, password: str) -> bool:
    """Check a signed-in user's password as a sign-in would: through django-axes, so wrong
    guesses count towards the account's lock-out and a stolen session cannot try passwords
    freely. (Without a request, a form built in code, there is no lock-out to count towards.)"""
    if request is None:
        return user.check_password(password)
    return authenticate(request, username=user.get_username(), password=password) == user


def _clean_email(email: str, *, exclude_pk: int | None = None) -> str:
    email = email.strip().lower()
    others = User.objects.filter(email__iexact=email)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    if others.exists():
        raise forms.ValidationError(
            _("Another account already uses that address."), code="email_taken"
        )
    return email


class SignupForm(auth_forms.BaseUserCreationForm):
    """`username, email, password1, password2`; Django's password validators apply."""

    error_messages = {
        **auth_forms.BaseUserCreationForm.error_messages,
        "password_mismatch": _("The two passwords do not match."),
    }

    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        help_text=_("We will e-mail you a code to confirm it."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    class Meta:
        model = User
        fields = ["username"]
        field_classes = {"username": auth_forms.UsernameField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # No "password-based authentication" switch on a public sign-up form.
        self.fields.pop("usable_password", None)

    def clean_username(self):
        return _clean_username(self.cleaned_data["username"])

    def clean_email(self):
        # An address another account uses is not refused here: the sign-up answers the same
        # either way, and services.user_signup tells that account's owner instead. (A plain
        # field, not in Meta.fields, so the model's unique checks leave it alone; the
        # instance carries it for the password similarity check.)
        email = self.cleaned_data["email"].strip().lower()
        self.instance.email = email
        return email


class CodeForm(forms.Form):
    """A 6-digit one-time code (sign-up verification, e-mail change)."""

    code = forms.CharField(
        label=_("Code"),
        max_length=6,
        min_length=6,
        strip=True,
        error_messages={
            "required": _("Enter the 6-digit code from the e-mail."),
            "min_length": _("The code has 6 digits."),
            "max_length": _("The code has 6 digits."),
        },
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]*"}
        ),
    )

    def clean_code(self):
        code = self.cleaned_data["code"]
        if not code.isascii() or not code.isdigit():
            raise forms.ValidationError(_("The code has 6 digits."), code="code_not_digits")
        return code


# Told to a blocked user who signs in, and on the sign-in page their ended session leads to.
BLOCKED_MESSAGE = _(
    "Your account is blocked. If you think this is a mistake, contact us at %(email)s."
)


class LoginForm(auth_forms.AuthenticationForm):
    """`username` (username or e-mail address) and `password`."""

    error_messages = {
        "invalid_login": _(
            "Please enter a correct username or e-mail address and password. "
            "Both fields may be case-sensitive."
        ),
        "inactive": BLOCKED_MESSAGE,
    }

    def confirm_login_allowed(self, user):
        if not user.is_active:  # blocked: say so, and where to write
            raise forms.ValidationError(
                self.error_messages["inactive"],
                code="inactive",
                params={"email": settings.STORE_CONTACT_EMAIL},
            )

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        # Long enough for an e-mail address, not just a username (150).
        field = self.fields["username"]
        field.label = _("Username or e-mail")
        field.max_length = 254
        field.validators = [
            v for v in field.validators if not isinstance(v, validators.MaxLengthValidator)
        ] + [validators.MaxLengthValidator(254)]
        field.widget.attrs["maxlength"] = 254


class PasswordResetForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail"),
        max_length=254,
        error_messages={
            "required": _("Enter the e-mail address of your account."),
            "invalid": _("Enter a valid e-mail address."),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class PasswordResetConfirmForm(CodeForm):
    """`code, new_password1, new_password2`. `user` may be None (unknown address)."""

    error_messages = {"password_mismatch": _("The two passwords do not match.")}

    new_password1 = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    new_password2 = forms.CharField(
        label=_("New password (again)"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, user=None, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_new_password2(self):
        password1 = self.cleaned_data.get("new_password1")
        password2 = self.cleaned_data["new_password2"]
        if password1 and password1 != password2:
            raise forms.ValidationError(
                self.error_messages["password_mismatch"], code="password_mismatch"
            )
        password_validation.validate_password(password2, self.user)
        return password2


class EmailUndoForm(forms.Form):
    """The signed token of the undo link sent to the old address after an e-mail change."""

    token = forms.CharField(widget=forms.HiddenInput, max_length=1000)


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """`old_password, new_password1, new_password2`."""

    error_messages = {
        **auth_forms.PasswordChangeForm.error_messages,
        "password_incorrect": _("Your current password is not right. Please try again."),
        "password_mismatch": _("The two passwords do not match."),
    }

    def __init__(self, user, *args, request=None, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        if not _current_password_is_right(self.request, self.user, old_password):
            raise forms.ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old_password


class ProfileForm(forms.ModelForm):
    """The profile page. A changed `email` is not saved here: it needs a code first."""

    country = forms.ChoiceField(
        label=_("Country"),
        required=False,
        choices=[("", "—")] + list(countries),
        error_messages={"invalid_choice": _("Choose a country from the list.")},
    )
    avatar = forms.ImageField(
        label=_("Avatar"),
        required=False,
        validators=[validate_image_upload],
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/gif,image/webp"}),
        help_text=_("JPEG, PNG, GIF or WebP. It is cropped to a square."),
        error_messages={"invalid_image": _("Upload a valid image: JPEG, PNG, GIF or WebP.")},
    )
    avatar_clear = forms.BooleanField(label=_("Remove my avatar"), required=False)
    # A signed-in session alone must not move the account to another address (from where a
    # password reset would take it over for good).
    current_password = forms.CharField(
        label=_("Current password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("Needed to change your e-mail address."),
    )

    error_messages = {
        "password_required": _("Enter your current password to change your e-mail address."),
        "password_incorrect": _("Your current password is not right. Please try again."),
    }

    class Meta:
        model = User
        fields = User.PROFILE_FIELDS
        field_classes = {"username": auth_forms.UsernameField}
        help_texts = {
            "username": "",
            "email": _("A new address takes effect once you enter the code we send to it."),
        }

    def __init__(self, *args, request=None, **kwargs):
        self.request = request
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True
        self.current_email = self.instance.email
        if not self.instance.avatar:
            del self.fields["avatar_clear"]  # nothing to remove

    def clean_username(self):
        return _clean_username(self.cleaned_data["username"], exclude_pk=self.instance.pk)

    def clean_email(self):
        return _clean_email(self.cleaned_data["email"], exclude_pk=self.instance.pk)

    def clean(self):
        cleaned_data = super().clean()
        email = cleaned_data.get("email")
        if email and email != self.current_email.lower():
            password = cleaned_data.get("current_password") or ""
            if not password:
                code = "password_required"
            elif not _current_password_is_right(self.request, self.instance, password):
                code = "password_incorrect"
            else:
                return cleaned_data
            self.add_error(
                "current_password", forms.ValidationError(self.error_messages[code], code=code)
            )
        return cleaned_data

    def _post_clean(self):
        super()._post_clean()
        # Never let the bound instance (request.user) carry an unconfirmed address.
        self.instance.email = self.current_email

    @property
    def email_changed(self) -> bool:
        return self.is_valid() and self.cleaned_data["email"] != self.current_email.lower()
