import pytest

from carts.forms import CartAddForm, CartUpdateForm


@pytest.mark.parametrize(
    ("value", "expected"), [("", 1), (None, 1), ("1", 1), ("7", 7), (" 3 ", 3), ("2.0", 2)]
)
def test_add_form_accepts_whole_numbers_and_defaults_to_one(value, expected):
    form = CartAddForm(data={} if value is None else {"quantity": value})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["quantity"] == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("0", "min_value"),
        ("-1", "min_value"),
        ("abc", "invalid"),
        ("1.5", "invalid"),
        ("1e3", "invalid"),
        ("99999999999", "max_value"),
    ],
)
def test_add_form_refuses_bad_quantities_with_a_coded_error(value, code):
    form = CartAddForm(data={"quantity": value})
    assert not form.is_valid()
    assert form.has_error("quantity", code)


def test_update_form_accepts_zero_to_remove():
    form = CartUpdateForm(data={"quantity": "0"})
    assert form.is_valid()
    assert form.cleaned_data["quantity"] == 0


@pytest.mark.parametrize(
    ("value", "code"), [("", "required"), ("-1", "min_value"), ("x", "invalid")]
)
def test_update_form_refuses_bad_quantities(value, code):
    form = CartUpdateForm(data={"quantity": value})
    assert not form.is_valid()
    assert form.has_error("quantity", code)
