from decimal import Decimal
from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db.models import FileField

from products.models import Category, Product, ProductImage

from .factories import ProductFactory

pytestmark = pytest.mark.django_db


def generate(**options) -> str:
    out = StringIO()
    call_command("generate_catalogue", no_progress=True, stdout=out, **options)
    return out.getvalue()


def generated_products():
    return Product.objects.filter(sku__startswith="GEN-")


def test_generates_the_requested_numbers_of_products_and_categories():
    output = generate(products=120, categories=20)

    assert generated_products().count() == 120
    assert Category.objects.filter(slug__startswith="gen-").count() == 20
    assert "120 products" in output


def test_categories_are_nested_three_levels_and_products_sit_in_leaves():
    generate(products=80, categories=20)

    categories = Category.objects.filter(slug__startswith="gen-")
    assert categories.filter(parent__isnull=True).exists()
    assert categories.filter(parent__parent__isnull=False).exists()
    assert not categories.filter(parent__parent__parent__isnull=False).exists()
    parents = set(categories.exclude(parent=None).values_list("parent_id", flat=True))
    assert not generated_products().filter(category_id__in=parents).exists()


def test_every_product_has_a_category_an_image_row_and_sane_values():
    generate(products=200, categories=12)

    products = generated_products()
    assert not products.filter(images__isnull=True).exists()
    assert not products.filter(category__isnull=True).exists()
    assert products.filter(stock=0).exists()
    assert products.filter(stock__gt=0, stock__lte=5).exists()
    assert products.filter(stock__gt=5).exists()
    assert products.values("slug").distinct().count() == 200
    assert products.values("name").distinct().count() > 50
    product = products.first()
    assert isinstance(product.price, Decimal)
    assert product.price >= 0
    assert product.description
    image = ProductImage.objects.filter(product__in=products).first()
    assert default_storage.exists(image.image.name)
    # Thumbnail fields the pages read are filled too, with files that exist.
    for field in ProductImage._meta.get_fields():
        if isinstance(field, FileField):
            assert default_storage.exists(getattr(image, field.name).name), field.name
    # A handful of files is shared by every row.
    assert ProductImage.objects.values("image").distinct().count() <= 8


def test_running_again_tops_up_instead_of_duplicating():
    generate(products=50, categories=10)
    generate(products=50, categories=10)
    assert generated_products().count() == 50
    assert Category.objects.filter(slug__startswith="gen-").count() == 10

    generate(products=70, categories=10)
    assert generated_products().count() == 70
    assert generated_products().values("sku").distinct().count() == 70


def test_clear_replaces_generated_data_and_keeps_everything_else():
    own = ProductFactory(name="Hand-made teapot")
    generate(products=40, categories=10)

    generate(products=15, categories=6, clear=True)

    assert generated_products().count() == 15
    assert Category.objects.filter(slug__startswith="gen-").count() == 6
    assert Product.objects.filter(pk=own.pk).exists()


def test_the_same_seed_gives_the_same_catalogue():
    generate(products=30, categories=8, seed=7)
    first = list(generated_products().order_by("sku").values_list("name", "price", "stock"))

    generate(products=30, categories=8, seed=7, clear=True)
    second = list(generated_products().order_by("sku").values_list("name", "price", "stock"))

    assert first == second


def test_bulk_loads_and_clears_make_cached_pages_stale():
    from django.test import Client
    from django.urls import reverse

    generate(products=5, categories=3)
    url = reverse("products:list")
    Client().get(url)
    assert Client().get(url)["X-Page-Cache"] == "hit"
    generate(products=12, categories=3)  # bulk_create sends no signals
    assert "12 products" in Client().get(url).text
    Client().get(url)
    generate(products=2, categories=3, clear=True)  # plain DELETEs, no signals either
    page = Client().get(url)
    assert page["X-Page-Cache"] == "miss"
    assert "2 products" in page.text


def test_generated_descriptions_read_as_correct_english():
    from myecommerce.tests.wording import wording_problems

    generate(products=300, categories=20)

    descriptions = list(generated_products().values_list("description", flat=True))
    problems = [(text, found) for text in descriptions if (found := wording_problems(text))]
    assert problems == []
    assert all(text.startswith("This ") and text.endswith(".") for text in descriptions)
