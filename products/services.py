from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from .catalogue_cache import catalogue_version_bump
from .models import Product, StockMovement


class InsufficientStock(ValidationError):
    """Raised when a stock decrease would take a product below zero."""


@transaction.atomic
def product_stock_adjust(
    *,
    product_id: int,
    change: int,
    reason: str,
    by: User | None = None,
    note: str = "",
) -> StockMovement:
    """Add `change` (may be negative) to a product's stock and record the movement.

    The decrease is one conditional UPDATE (`stock = stock + change WHERE stock >= -change`),
    so two concurrent buyers can never take the same unit: on PostgreSQL the second waits
    for the first's row lock and then re-checks the condition.
    """
    if change == 0:
        raise ValidationError(_("A stock change must not be zero."), code="zero_change")
    rows = Product.objects.filter(pk=product_id)
    if change < 0:
        rows = rows.filter(stock__gte=-change)
    if not rows.update(stock=F("stock") + change, updated_at=timezone.now()):
        if not Product.objects.filter(pk=product_id).exists():
            raise ValidationError(_("This product no longer exists."), code="missing")
        raise InsufficientStock(_("Not enough stock."), code="insufficient_stock")
    # An UPDATE sends no signal: the stock badge on cached pages must change all the same.
    catalogue_version_bump()
    resulting = Product.objects.values_list("stock", flat=True).get(pk=product_id)
    return StockMovement.objects.create(
        product_id=product_id,
        change=change,
        reason=reason,
        note=note[:255],
        resulting_stock=resulting,
        created_by=by,
    )


@transaction.atomic
def product_stock_set(
    *,
    product_id: int,
    new_stock: int,
    reason: str,
    by: User | None = None,
    note: str = "",
) -> StockMovement | None:
    """Set a product's stock to an absolute value (an admin edit), recording the difference.

    Returns None when the stock already had that value.
    """
    if new_stock < 0:
        raise ValidationError(_("Stock cannot be negative."), code="negative_stock")
    current = Product.objects.select_for_update().values_list("stock", flat=True).get(pk=product_id)
    if current == new_stock:
        return None
    return product_stock_adjust(
        product_id=product_id, change=new_stock - current, reason=reason, by=by, note=note
    )


def product_save_but_stock(product: Product, *, create: bool) -> None:
    """Save every field of `product` but its stock, which only the stock services above write
    (each change a StockMovement). A new product is inserted with no stock; an existing one's
    stock column is left alone, so an order placed meanwhile keeps its decrease. The caller
    then sets the wanted stock with `product_stock_set` (the admin, the CSV import).
    """
    if create:
        wanted, product.stock = product.stock, 0
        try:
            product.save(force_insert=True)
        finally:
            product.stock = wanted
        return
    product.save(
        update_fields=[
            f.attname
            for f in product._meta.concrete_fields
            if not f.primary_key and f.name != "stock"
        ]
    )
