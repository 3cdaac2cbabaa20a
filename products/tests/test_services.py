import pytest
from django.core.exceptions import ValidationError

from accounts.tests.factories import StaffFactory
from products.models import Product, StockMovement
from products.services import InsufficientStock, product_stock_adjust, product_stock_set
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_stock_adjust_records_a_movement_with_who_and_why():
    product = ProductFactory(stock=3)
    staff = StaffFactory()
    movement = product_stock_adjust(
        product_id=product.pk, change=4, reason=StockMovement.Reason.RESTOCK, by=staff
    )
    product.refresh_from_db()
    assert product.stock == 7
    assert (movement.change, movement.resulting_stock, movement.created_by) == (4, 7, staff)


def test_stock_cannot_go_below_zero_and_nothing_is_recorded():
    product = ProductFactory(stock=2)
    with pytest.raises(InsufficientStock):
        product_stock_adjust(
            product_id=product.pk, change=-3, reason=StockMovement.Reason.ORDER_PLACED
        )
    assert Product.objects.get(pk=product.pk).stock == 2
    assert not StockMovement.objects.exists()


def test_stock_set_records_the_difference_and_ignores_no_change():
    product = ProductFactory(stock=10)
    movement = product_stock_set(
        product_id=product.pk, new_stock=4, reason=StockMovement.Reason.ADMIN_EDIT
    )
    assert movement.change == -6 and movement.resulting_stock == 4
    assert (
        product_stock_set(
            product_id=product.pk, new_stock=4, reason=StockMovement.Reason.ADMIN_EDIT
        )
        is None
    )
    with pytest.raises(ValidationError):
        product_stock_set(
            product_id=product.pk, new_stock=-1, reason=StockMovement.Reason.ADMIN_EDIT
        )


def test_thumbnails_refresh_fills_missing_thumbnails_only():
    from django.core.management import call_command

    from products.images import product_image_thumbnails_refresh
    from products.models import ProductImage
    from products.tests.factories import ProductImageFactory

    fresh, missing = ProductImageFactory.create_batch(2)
    ProductImage.objects.filter(pk=missing.pk).update(thumbnail_list="", thumbnail_detail="")
    assert product_image_thumbnails_refresh() == (1, 0)
    missing.refresh_from_db()
    assert missing.thumbnail_list and missing.thumbnail_detail
    call_command("thumbnails_refresh", "--all")
    fresh_after = ProductImage.objects.get(pk=fresh.pk)
    assert fresh_after.thumbnail_list.name != fresh.thumbnail_list.name
