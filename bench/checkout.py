"""The checkout form as the benchmark fills it in (no Django import: run.py uses it too)."""

import re

CHECKOUT_FORM = {
    "full_name": "Bench Shopper",
    "address_line1": "1 Loopback Road",
    "address_line2": "",
    "city": "Localhost",
    "postal_code": "12345",
    "country": "DE",
    "phone": "+49 30 123456",
    "billing_same_as_shipping": "on",
    "payment_method": "cod",
}
INPUT_TAG = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
ATTRIBUTE = re.compile(r'([\w-]+)="([^"]*)"')


def hidden_fields(html: str) -> dict[str, str]:
    """name → value of every hidden input in a page (the CSRF and one-time tokens)."""
    fields = {}
    for tag in INPUT_TAG.findall(html):
        attrs = dict(ATTRIBUTE.findall(tag))
        if attrs.get("type", "").lower() == "hidden" and "name" in attrs:
            fields[attrs["name"]] = attrs.get("value", "")
    return fields
