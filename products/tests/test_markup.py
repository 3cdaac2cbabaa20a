"""The catalogue pages' HTML: what the Nu Html Checker, pa11y and Lighthouse check (make audit),
asserted here on every test run."""

import re
from http import HTTPStatus

import pytest
from django.urls import reverse

from myecommerce.tests.markup import heading_problems, outline
from products.tests.factories import CategoryFactory, ProductFactory, ProductImageFactory

pytestmark = pytest.mark.django_db

LIST_URL = reverse("products:list")


@pytest.fixture
def catalogue():
    audio = CategoryFactory(name="Audio")
    headphones = ProductFactory(
        name="Blue Headphones",
        category=audio,
        description="A pair of <b>closed</b> headphones in blue.\n\nFolds flat.",
    )
    ProductImageFactory.create_batch(2, product=headphones)
    ProductFactory(name="Red Mug", description="")
    return {"audio": audio, "headphones": headphones}


def page(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == HTTPStatus.OK
    return response.content.decode()


def catalogue_pages(catalogue):
    return {
        "home": reverse("products:home"),
        "list": LIST_URL,
        "search": f"{LIST_URL}?q=headphones",
        "no results": f"{LIST_URL}?q=zzzz",
        "category": catalogue["audio"].get_absolute_url(),
        "product": catalogue["headphones"].get_absolute_url(),
    }


# Issue 15.2
def test_an_invalid_price_filter_keeps_what_the_shopper_typed(client, catalogue):
    html = page(client, LIST_URL, min_price="abc", max_price="12,5x")

    field = re.search(r'<input [^>]*name="min_price"[^>]*>', html).group(0)
    assert 'value="abc"' in field
    # A number input would show an empty box (and "abc" is no valid value for it).
    assert 'type="number"' not in field and 'type="text"' in field
    assert 'aria-invalid="true"' in field
    assert 'value="12,5x"' in re.search(r'<input [^>]*name="max_price"[^>]*>', html).group(0)


# Issue 15.8
def test_every_catalogue_page_has_a_meta_description(client, catalogue):
    descriptions = {
        name: outline(page(client, url)).metas.get("description", "")
        for name, url in catalogue_pages(catalogue).items()
    }
    assert all(descriptions.values()), descriptions
    assert descriptions["product"].startswith("A pair of closed headphones in blue.")
    assert "Audio" in descriptions["category"]
    assert "“headphones”" in descriptions["search"]
    # A product without a description is described by its name.
    mug = ProductFactory(name="Green Mug", description="")
    assert "Green Mug" in outline(page(client, mug.get_absolute_url())).metas["description"]


# Issue 15.8
@pytest.mark.parametrize(
    ("params", "canonical"),
    [
        ({"q": "headphones", "sort": "price", "min_price": "1", "in_stock": "1"}, "?q=headphones"),
        ({"sort": "-price", "max_price": "x"}, ""),
        ({"category": "audio", "sort": "name"}, "?category=audio"),
    ],
)
def test_list_pages_name_their_canonical_url(client, catalogue, params, canonical):
    links = outline(page(client, LIST_URL, **params)).links
    assert links["canonical"] == f"http://testserver{LIST_URL}{canonical}"


def test_category_and_product_pages_name_their_canonical_url(client, catalogue):
    category_url = catalogue["audio"].get_absolute_url()
    links = outline(page(client, category_url, sort="price", in_stock="1")).links
    assert links["canonical"] == f"http://testserver{category_url}"
    product_url = catalogue["headphones"].get_absolute_url()
    assert (
        outline(page(client, product_url)).links["canonical"] == f"http://testserver{product_url}"
    )


def test_the_second_page_of_a_list_is_its_own_canonical_page(client):
    ProductFactory.create_batch(30)
    links = outline(page(client, LIST_URL, page="2", sort="price")).links
    assert links["canonical"] == f"http://testserver{LIST_URL}?page=2"


# Issue 15.9
@pytest.mark.parametrize("name", ["home", "list", "search", "no results", "category", "product"])
def test_headings_start_with_the_h1_and_never_skip_a_level(client, catalogue, name):
    assert heading_problems(page(client, catalogue_pages(catalogue)[name])) == []


def test_list_headings_with_filter_errors_signed_in(client, catalogue, django_user_model):
    client.force_login(django_user_model.objects.create_user("ada", "ada@example.com", "x"))
    assert heading_problems(page(client, LIST_URL, min_price="abc")) == []


# Issue 15.10
def test_the_product_gallery_is_a_labelled_region(client, catalogue):
    html = page(client, catalogue["headphones"].get_absolute_url())
    gallery = re.search(r'<div id="product-gallery"[^>]*>', html).group(0)
    assert 'role="region"' in gallery
    assert 'aria-label="Images of Blue Headphones"' in gallery
    # No other plain div carries a label.
    for tag in re.findall(r"<div\b[^>]*\baria-label=[^>]*>", html):
        assert "role=" in tag, tag
