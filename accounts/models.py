import unicodedata

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField


def username_key(username: str) -> str:
    """What two usernames must not share: "ALİCE", "Alice", "ＡＬＩＣＥ" and "alice" look alike.

    Compatibility forms folded (NFKD: full-width letters, ligatures), accents and other
    combining marks dropped ("İ" is "I" with a dot above), then Unicode case folding ("ß" is
    "ss") and the dotless "ı" read as "i".
    """
    decomposed = unicodedata.normalize("NFKD", username.strip())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return unicodedata.normalize("NFKC", bare.casefold().replace("ı", "i"))


def username_lookalikes(username: str) -> models.Q:
    """Accounts whose username looks like `username` (same key, or equal to the database)."""
    key = username_key(username)
    return (
        models.Q(username__iexact=username.strip())
        | models.Q(username_key=key)
        | models.Q(username_key__startswith=f"{key}#")
    )


class User(AbstractUser):
    """A shopper or a member of staff. The e-mail address is unique and required."""

    email = models.EmailField(_("email address"), unique=True)
    email_verified = models.BooleanField(_("email verified"), default=False)
    phone = PhoneNumberField(_("phone"), max_length=32, blank=True)
    avatar = models.ImageField(_("avatar"), upload_to="avatars/%Y/%m/", blank=True)
    # Default shipping address, copied into the checkout form.
    address_line1 = models.CharField(_("address line 1"), max_length=255, blank=True)
    address_line2 = models.CharField(_("address line 2"), max_length=255, blank=True)
    city = models.CharField(_("city"), max_length=128, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=32, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    # Part of the session auth hash: bumping it ends every session of the user at once
    # (blocking), and they stay ended after an unblock.
    session_epoch = models.PositiveIntegerField(default=0, editable=False)
    # username_key(username), unique: no two accounts with look-alike names. (Accounts that
    # already shared a key when it was introduced keep it suffixed with "#<id>" until renamed.)
    username_key = models.CharField(max_length=150, editable=False, default="")
    # The last undone e-mail change: when it had been made and when it was undone. An undo link
    # for a change made between the two is dead, so a thief who changed the address twice cannot
    # undo the owner's undo with the second link (accounts.services.email_change_undo_check).
    email_undone_change_at = models.DateTimeField(null=True, blank=True, editable=False)
    email_undone_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = UserManager()

    REQUIRED_FIELDS = ["email"]
    # What a shopper edits on their profile page, in the page's order. The e-mail address
    # is saved only once a code confirms it (accounts.services.email_change_request).
    PROFILE_FIELDS = [
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

    class Meta:
        ordering = ["username", "pk"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            models.UniqueConstraint(
                fields=["username_key"], name="accounts_user_username_key_unique"
            ),
        ]
        indexes = [models.Index(fields=["phone"], name="accounts_user_phone_idx")]

    def __str__(self) -> str:
        return self.username

    def clean(self):
        super().clean()
        if self.username:
            others = User.objects.filter(username_lookalikes(self.username)).exclude(pk=self.pk)
            if others.exists():
                raise ValidationError(
                    {"username": _("That username is already taken.")}, code="username_taken"
                )

    def save(self, *args, **kwargs):
        self.email = self.email.strip().lower() if self.email else self.email
        key = username_key(self.username or "")
        if self.username_key.split("#", 1)[0] != key:
            self.username_key = key
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "username" in update_fields:
            kwargs["update_fields"] = {*update_fields, "username_key"}
        super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        return self.get_full_name() or self.username

    def _get_session_auth_hash(self, secret=None):
        # Django's hash covers only the password; ours adds session_epoch so that blocking
        # invalidates live sessions. Both get_session_auth_hash() and the SECRET_KEY_FALLBACKS
        # variant go through this method.
        return salted_hmac(
            "accounts.User.get_session_auth_hash",
            f"{self.password}:{self.session_epoch}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()


class OneTimeCode(models.Model):
    """A 6-digit code sent by e-mail. Only its hash is stored; it is single use."""

    class Purpose(models.TextChoices):
        SIGNUP = "signup", _("Sign-up")
        RESET = "reset", _("Password reset")
        EMAIL_CHANGE = "email_change", _("E-mail change")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="one_time_codes"
    )
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    code_hash = models.CharField(max_length=128)
    # For an e-mail change: the address that takes effect once the code is entered.
    new_email = models.EmailField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    # Where the code went and who asked: the per-address and per-IP send limits count these.
    sent_to = models.EmailField(blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["user", "purpose", "-created_at"], name="accounts_otc_lookup_idx"),
            models.Index(fields=["sent_to", "-created_at"], name="accounts_otc_sent_to_idx"),
            models.Index(fields=["client_ip", "-created_at"], name="accounts_otc_client_ip_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} code for {self.user}"

    @property
    def is_used(self) -> bool:
        return self.used_at is not None

    @property
    def is_expired(self) -> bool:
        return timezone.now() >= self.expires_at
