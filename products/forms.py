from decimal import Decimal
from urllib.parse import urlencode

from django import forms
from django.utils.translation import gettext_lazy as _

from .selectors import SEARCH_MAX_LENGTH, CategoryTree


class ProductFilterForm(forms.Form):
    """The list page's GET parameters. Invalid values become errors and are left out."""

    SORT_CHOICES = [
        ("", _("Best match")),
        ("price", _("Price: low to high")),
        ("-price", _("Price: high to low")),
        ("name", _("Name")),
        ("newest", _("Newest")),
    ]

    q = forms.CharField(
        label=_("Search"),
        required=False,
        strip=True,
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    category = forms.ChoiceField(
        label=_("Category"),
        required=False,
        error_messages={"invalid_choice": _("There is no such category.")},
    )
    min_price = forms.DecimalField(
        label=_("Min price"),
        required=False,
        min_value=Decimal("0"),
        max_digits=10,
        decimal_places=2,
        error_messages={"invalid": _("Enter a price such as 10 or 9.99.")},
    )
    max_price = forms.DecimalField(
        label=_("Max price"),
        required=False,
        min_value=Decimal("0"),
        max_digits=10,
        decimal_places=2,
        error_messages={"invalid": _("Enter a price such as 10 or 9.99.")},
    )
    in_stock = forms.BooleanField(label=_("In stock only"), required=False)
    sort = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=SORT_CHOICES,
        error_messages={"invalid_choice": _("Choose one of the listed orders.")},
    )

    def __init__(self, *args, tree: CategoryTree, show_category: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.tree = tree
        if show_category:
            self.fields["category"].choices = [("", _("All categories"))] + [
                (node.slug, "\u2003" * depth + node.name) for node, depth in tree.walk()
            ]
        else:
            # On a category's own page the category comes from the URL.
            del self.fields["category"]
        self.fields["q"].widget.attrs.update(
            {"maxlength": SEARCH_MAX_LENGTH, "placeholder": _("Search")}
        )
        if not str(self.data.get("q") or "").strip():
            # Nothing searched: the default order is by name (see product_list_filtered), so
            # the first choice says so and a second "Name" is only kept if it was chosen.
            chosen = self.data.get("sort")
            self.fields["sort"].choices = [("", _("Name"))] + [
                (value, label)
                for value, label in self.SORT_CHOICES[1:]
                if value != "name" or chosen == "name"
            ]
        for name in ("min_price", "max_price"):
            self.fields[name].widget.attrs.update({"step": "0.01", "inputmode": "decimal"})

    def clean_q(self) -> str:
        # A very long query is cut, not refused: the shopper still gets results.
        return self.cleaned_data["q"][:SEARCH_MAX_LENGTH]

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("min_price"), cleaned.get("max_price")
        if low is not None and high is not None and low > high:
            self.add_error(
                "max_price",
                forms.ValidationError(
                    _("The max price must not be below the min price."), code="price_range"
                ),
            )
        return cleaned

    def filters(self) -> dict:
        """Keyword arguments for `product_list_filtered` from the values that are valid."""
        self.is_valid()  # fills cleaned_data with the valid fields only
        data = self.cleaned_data
        slug = data.get("category")
        node = self.tree.get(slug=slug) if slug else None
        return {
            "q": data.get("q") or "",
            "category_id": node.id if node else None,
            "min_price": data.get("min_price"),
            "max_price": data.get("max_price"),
            "in_stock": bool(data.get("in_stock")),
            "sort": data.get("sort") or "",
        }

    def canonical_querystring(self, *, page: int = 1) -> str:
        """What names a list page for search engines: the search, the category and the page.

        Sorting and the price or stock filters only narrow or reorder the same list.
        """
        self.is_valid()
        params = {
            name: self.cleaned_data[name]
            for name in ("q", "category")
            if self.cleaned_data.get(name)
        }
        if page > 1:
            params["page"] = str(page)
        return urlencode(params)

    def querystring(self) -> str:
        """The valid filters as a query string, for page links that keep them."""
        self.is_valid()
        params = {}
        for name, value in self.cleaned_data.items():
            if value in (None, "", False):
                continue
            params[name] = "1" if value is True else str(value)
        return urlencode(params)
