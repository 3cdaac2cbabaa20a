import uuid

from django import forms
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from accounts.models import User

from .models import Order
from .services import Address

ADDRESS_FIELDS = ("full_name", "address_line1", "address_line2", "city", "postal_code", "country")
BILLING_PREFIX = "billing_"
# Billing fields needed when billing is not the same as shipping.
BILLING_REQUIRED = ("full_name", "address_line1", "city", "postal_code", "country")


def _country_choices():
    return [("", _("Choose a country…")), *countries]


def _address_fields(*, required: bool) -> dict[str, forms.Field]:
    return {
        "full_name": forms.CharField(label=_("Full name"), max_length=255, required=required),
        "address_line1": forms.CharField(
            label=_("Address line 1"), max_length=255, required=required
        ),
        "address_line2": forms.CharField(label=_("Address line 2"), max_length=255, required=False),
        "city": forms.CharField(label=_("City"), max_length=128, required=required),
        "postal_code": forms.CharField(label=_("Postal code"), max_length=32, required=required),
        "country": forms.ChoiceField(
            label=_("Country"),
            choices=_country_choices,
            required=required,
            error_messages={"invalid_choice": _("Choose a country from the list.")},
        ),
    }


class CheckoutForm(forms.Form):
    """Shipping and billing address, payment method, and the form's one-time token."""

    error_messages = {
        "billing_required": _("Required unless billing is the same as shipping."),
        "bad_token": _("This checkout form has expired. Please check your order and try again."),
    }

    # The one phone rule (django-phonenumber-field), as on the profile: the model's own field.
    phone = Order._meta.get_field("shipping_phone").formfield(
        label=_("Phone"), help_text=_("For the courier, if they need to reach you.")
    )
    billing_same_as_shipping = forms.BooleanField(
        label=_("Billing address is the same as shipping"), required=False, initial=True
    )
    payment_method = forms.ChoiceField(
        label=_("Payment method"),
        choices=Order.PaymentMethod.choices,
        widget=forms.RadioSelect,
        initial=Order.PaymentMethod.COD,
        error_messages={"required": _("Choose a payment method.")},
    )
    checkout_token = forms.CharField(
        widget=forms.HiddenInput,
        max_length=64,
        error_messages={"required": error_messages["bad_token"]},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Shipping fields first, then phone, then the billing block, then payment.
        shipping = _address_fields(required=True)
        billing = {
            f"{BILLING_PREFIX}{name}": field
            for name, field in _address_fields(required=False).items()
        }
        ordered = {
            **shipping,
            "phone": self.fields["phone"],
            "billing_same_as_shipping": self.fields["billing_same_as_shipping"],
            **billing,
            "payment_method": self.fields["payment_method"],
            "checkout_token": self.fields["checkout_token"],
        }
        self.fields = ordered

    @classmethod
    def initial_for(cls, user: User, *, checkout_token: str) -> dict[str, str | bool]:
        """The form prefilled from the user's profile address."""
        return {
            "full_name": user.get_full_name(),
            "address_line1": user.address_line1,
            "address_line2": user.address_line2,
            "city": user.city,
            "postal_code": user.postal_code,
            "country": user.country if user.country in countries else "",
            "phone": user.phone,
            "billing_same_as_shipping": True,
            "payment_method": Order.PaymentMethod.COD,
            "checkout_token": checkout_token,
        }

    def clean_checkout_token(self) -> str:
        token = self.cleaned_data["checkout_token"]
        try:
            return uuid.UUID(token).hex
        except ValueError:
            raise forms.ValidationError(
                self.error_messages["bad_token"], code="bad_token"
            ) from None

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("billing_same_as_shipping"):
            for name in BILLING_REQUIRED:
                key = f"{BILLING_PREFIX}{name}"
                if not cleaned.get(key) and key not in self.errors:
                    self.add_error(
                        key,
                        forms.ValidationError(
                            self.error_messages["billing_required"], code="billing_required"
                        ),
                    )
        return cleaned

    def shipping_address(self) -> Address:
        data = self.cleaned_data
        phone = data.get("phone")
        return Address(
            **{name: data[name].strip() for name in ADDRESS_FIELDS},
            phone=phone.as_e164 if phone else "",
        )

    def billing_address(self) -> Address | None:
        """None when billing is the same as shipping."""
        data = self.cleaned_data
        if data.get("billing_same_as_shipping"):
            return None
        return Address(**{name: data[f"{BILLING_PREFIX}{name}"].strip() for name in ADDRESS_FIELDS})
