from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from PIL import Image

from products.models import Category, Product, ProductImage
from products.tests.factories import CategoryFactory, ProductFactory, ProductImageFactory, png_bytes

pytestmark = pytest.mark.django_db


def test_product_slug_is_made_from_the_name():
    product = Product.objects.create(
        name="Blue Kettle 1.5 L", sku="K-1", price=Decimal("10.00"), category=CategoryFactory()
    )
    assert product.slug == "blue-kettle-15-l"
    assert product.get_absolute_url() == "/products/blue-kettle-15-l/"


def test_product_slug_gets_a_suffix_when_the_name_is_taken():
    category = CategoryFactory()
    slugs = [
        Product.objects.create(name="Kettle", sku=f"K-{n}", price="1.00", category=category).slug
        for n in range(3)
    ]
    assert slugs == ["kettle", "kettle-2", "kettle-3"]


def test_product_slug_stays_when_the_name_changes():
    product = ProductFactory(name="Kettle", slug="")
    product.name = "Better kettle"
    product.save()
    product.refresh_from_db()
    assert product.slug == "kettle"


def test_product_without_latin_letters_still_gets_a_slug():
    product = ProductFactory(name="Чайник", slug="")
    assert product.slug == "product"


def test_category_slug_is_made_from_the_name_and_unique():
    first = Category.objects.create(name="Tea & Coffee")
    second = Category.objects.create(name="Tea & coffee")
    assert (first.slug, second.slug) == ("tea-coffee", "tea-coffee-2")


def test_database_refuses_a_negative_price():
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductFactory(price="-0.01")


def test_database_refuses_negative_stock():
    product = ProductFactory(stock=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(stock=-1)


def test_sku_is_unique():
    ProductFactory(sku="SAME")
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductFactory(sku="SAME")


def test_a_category_cannot_be_moved_below_itself():
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    grandchild = CategoryFactory(parent=child)
    root.parent = grandchild
    with pytest.raises(ValidationError) as error:
        root.full_clean()
    assert "parent" in error.value.message_dict
    root.parent = root
    with pytest.raises(ValidationError):
        root.full_clean()


def test_thumbnails_are_made_when_an_image_is_saved():
    image = ProductImageFactory(
        image=ContentFile(png_bytes(size=(1200, 600)), name="wide.png"), alt_text=""
    )
    with Image.open(image.thumbnail_list.path) as card:
        assert card.size == (400, 400) and card.format == "WEBP"
    with Image.open(image.thumbnail_detail.path) as detail:
        assert detail.size == (900, 450)  # proportions kept
    assert image.image.name.endswith(".png")
    assert image.alt == image.product.name


def test_thumbnails_are_remade_when_the_image_is_replaced():
    image = ProductImageFactory()
    old = image.thumbnail_list.name
    image.image = ContentFile(png_bytes(color=(0, 0, 255)), name="new.png")
    image.save()
    assert image.thumbnail_list.name != old
    image.alt_text = "Just text"
    image.save()  # nothing new to draw
    assert ProductImage.objects.get(pk=image.pk).thumbnail_list.name == image.thumbnail_list.name


def test_a_file_that_is_not_an_image_is_refused_by_validation():
    image = ProductImage(
        product=ProductFactory(), image=ContentFile(b"not an image", name="fake.png")
    )
    with pytest.raises(ValidationError) as error:
        image.full_clean()
    assert "image" in error.value.message_dict


def test_primary_image_is_the_first_by_position():
    product = ProductFactory()
    ProductImageFactory(product=product, position=2, alt_text="second")
    ProductImageFactory(product=product, position=1, alt_text="first")
    assert product.primary_image.alt_text == "first"
    assert ProductFactory().primary_image is None


@pytest.mark.parametrize(
    ("stock", "low", "available"),
    [(0, False, False), (3, True, True), (5, True, True), (6, False, True)],
)
def test_low_stock_is_at_or_below_the_threshold(settings, stock, low, available):
    settings.LOW_STOCK_THRESHOLD = 5
    product = ProductFactory(stock=stock)
    assert (product.is_low_stock, product.is_available) == (low, available)


def test_an_unreadable_image_saved_without_validation_gets_no_thumbnails_and_no_error():
    image = ProductImage.objects.create(
        product=ProductFactory(), image=ContentFile(b"not an image", name="broken.png")
    )
    assert image.pk and not image.thumbnail_list and not image.thumbnail_detail
    assert not image.image  # the unreadable bytes are not kept either (issue 16.9)


def test_saving_some_fields_still_stores_thumbnails_made_on_the_way():
    image = ProductImageFactory()
    ProductImage.objects.filter(pk=image.pk).update(thumbnail_list="", thumbnail_detail="")
    image = ProductImage.objects.get(pk=image.pk)
    image.alt_text = "New words"
    image.save(update_fields=["alt_text"])
    stored = ProductImage.objects.get(pk=image.pk)
    assert stored.alt_text == "New words" and stored.thumbnail_list and stored.thumbnail_detail


def test_links_follow_the_script_prefix_and_the_slug():
    from django.urls import set_script_prefix

    from products.selectors import category_tree

    product = ProductFactory(name="Blue Kettle")
    assert product.get_absolute_url() == "/products/blue-kettle/"
    node = category_tree().get(slug=product.category.slug)
    assert node.get_absolute_url() == f"/categories/{product.category.slug}/"
    set_script_prefix("/shop/")  # the shop mounted under a path (SCRIPT_NAME)
    try:
        assert product.get_absolute_url() == "/shop/products/blue-kettle/"
        assert product.category.get_absolute_url().startswith("/shop/categories/")
    finally:
        set_script_prefix("/")
    product.slug = "teal-kettle"
    assert product.get_absolute_url() == "/products/teal-kettle/"


def test_prefetched_images_need_no_query(django_assert_num_queries):
    product = ProductFactory()
    ProductImageFactory(product=product, position=1)
    first = ProductImageFactory(product=product, position=0)
    loaded = Product.objects.prefetch_related("images").get(pk=product.pk)
    with django_assert_num_queries(0):
        assert loaded.primary_image == first
        assert len(loaded.prefetched_images()) == 2
    plain = Product.objects.get(pk=product.pk)
    with django_assert_num_queries(1):  # not prefetched: one query for the images
        assert plain.primary_image == first


def _stored(image):
    return [getattr(image, field).name for field in ("image", "thumbnail_list", "thumbnail_detail")]


def test_deleting_an_image_deletes_its_original_and_thumbnails(django_capture_on_commit_callbacks):
    image = ProductImageFactory()
    names = _stored(image)
    storage = image.image.storage
    assert all(storage.exists(name) for name in names)
    with django_capture_on_commit_callbacks(execute=True):
        image.delete()
    assert not any(storage.exists(name) for name in names)


def test_deleting_a_product_deletes_its_image_files(django_capture_on_commit_callbacks):
    image = ProductImageFactory()
    names = _stored(image)
    with django_capture_on_commit_callbacks(execute=True):
        image.product.delete()
    assert not any(image.image.storage.exists(name) for name in names)


def test_a_file_another_image_row_still_names_is_kept(django_capture_on_commit_callbacks):
    first = ProductImageFactory()
    names = _stored(first)
    ProductImage.objects.bulk_create(  # as generate_catalogue shares files between rows
        [
            ProductImage(
                product=ProductFactory(),
                image=names[0],
                thumbnail_list=names[1],
                thumbnail_detail=names[2],
            )
        ]
    )
    with django_capture_on_commit_callbacks(execute=True):
        first.delete()
    assert all(first.image.storage.exists(name) for name in names)


def test_a_delete_that_rolls_back_keeps_the_files(django_capture_on_commit_callbacks):
    image = ProductImageFactory()
    names = _stored(image)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        image.delete()
        raise RuntimeError("rolled back")
    assert callbacks == []
    assert all(image.image.storage.exists(name) for name in names)
