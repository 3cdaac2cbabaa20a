from decimal import Decimal

import pytest

from products.forms import ProductFilterForm
from products.selectors import category_tree
from products.tests.factories import CategoryFactory

pytestmark = pytest.mark.django_db


def make_form(data, **kwargs):
    return ProductFilterForm(data, tree=category_tree(), **kwargs)


def test_valid_filters_become_selector_arguments():
    parent = CategoryFactory(name="Home")
    CategoryFactory(name="Cookware", parent=parent)
    form = make_form(
        {
            "q": "  kettle ",
            "category": "home",
            "min_price": "5",
            "max_price": "9.99",
            "in_stock": "1",
            "sort": "-price",
        }
    )
    assert form.is_valid(), form.errors
    assert form.filters() == {
        "q": "kettle",
        "category_id": parent.pk,
        "min_price": Decimal("5"),
        "max_price": Decimal("9.99"),
        "in_stock": True,
        "sort": "-price",
    }
    # Sub-categories are offered, indented under their parent.
    labels = dict(form.fields["category"].choices)
    assert labels["cookware"] == "\u2003Cookware"


def test_bad_values_are_errors_and_left_out_while_good_ones_still_apply():
    form = make_form(
        {"q": "mug", "category": "no-such", "min_price": "abc", "max_price": "-1", "sort": "zzz"}
    )
    assert not form.is_valid()
    assert set(form.errors) == {"category", "min_price", "max_price", "sort"}
    assert form.errors["category"] == ["There is no such category."]
    assert form.filters() == {
        "q": "mug",
        "category_id": None,
        "min_price": None,
        "max_price": None,
        "in_stock": False,
        "sort": "",
    }


@pytest.mark.parametrize("value", ["NaN", "Infinity", "1e400", "12345678901", "1.234"])
def test_prices_that_are_not_money_are_refused(value):
    form = make_form({"min_price": value})
    assert "min_price" in form.errors
    assert form.filters()["min_price"] is None


def test_a_min_price_above_the_max_price_is_an_error():
    form = make_form({"min_price": "20", "max_price": "10"})
    assert form.errors["max_price"] == ["The max price must not be below the min price."]
    assert form.filters()["min_price"] == Decimal("20")
    assert form.filters()["max_price"] is None


def test_a_very_long_search_is_cut_not_refused():
    form = make_form({"q": "x" * 5000})
    assert form.is_valid()
    assert len(form.filters()["q"]) == 200


def test_a_null_character_in_the_search_is_refused():
    form = make_form({"q": "ket\x00tle"})
    assert "q" in form.errors
    assert form.filters()["q"] == ""


def test_querystring_keeps_only_valid_filters():
    CategoryFactory(name="Books")
    form = make_form(
        {"q": "a b", "category": "books", "min_price": "x", "in_stock": "1", "page": "3"}
    )
    assert form.querystring() == "q=a+b&category=books&in_stock=1"


def test_the_category_field_is_left_out_on_a_category_page():
    form = make_form({"category": "anything"}, show_category=False)
    assert "category" not in form.fields
    assert form.is_valid()


@pytest.mark.parametrize(
    ("data", "labels"),
    [
        ({}, ["Name", "Price: low to high", "Price: high to low", "Newest"]),
        ({"q": "  "}, ["Name", "Price: low to high", "Price: high to low", "Newest"]),
        (
            {"q": "lamp"},
            ["Best match", "Price: low to high", "Price: high to low", "Name", "Newest"],
        ),
        # A link that asked for name order still works and shows what it chose.
        ({"sort": "name"}, ["Name", "Price: low to high", "Price: high to low", "Name", "Newest"]),
    ],
)
def test_the_sort_choices_say_what_the_default_order_is(data, labels):
    form = make_form(data)
    assert [str(label) for _value, label in form.fields["sort"].choices] == labels
    assert form.is_valid()
