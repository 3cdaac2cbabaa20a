from django import forms
from django.utils.translation import gettext_lazy as _

# The largest value a quantity column can hold; anything beyond is certainly not in stock.
MAX_QUANTITY = 2_147_483_647

QUANTITY_ERRORS = {
    "required": _("Enter a quantity."),
    "invalid": _("Enter a whole number for the quantity."),
    "min_value": _("The quantity must be at least %(limit_value)s."),
    "max_value": _("That quantity is far more than we have in stock."),
}


class CartAddForm(forms.Form):
    """Quantity to add; left out or empty, it is 1."""

    quantity = forms.IntegerField(
        label=_("Quantity"),
        required=False,
        min_value=1,
        max_value=MAX_QUANTITY,
        error_messages=QUANTITY_ERRORS,
    )

    def clean_quantity(self) -> int:
        quantity = self.cleaned_data.get("quantity")
        return 1 if quantity is None else quantity


class CartUpdateForm(forms.Form):
    """New quantity of a cart line; 0 removes the line."""

    quantity = forms.IntegerField(
        label=_("Quantity"),
        min_value=0,
        max_value=MAX_QUANTITY,
        error_messages=QUANTITY_ERRORS,
    )
