"""The cart's rules: every view, the sign-in merge, orders, wishlists and the tests go through
these functions.

Each service takes the visitor's `cart` (a `carts.stores.CartStore`: ``cart_for(user=...,
session=...)``, or ``cart_for_request(request)`` in a view) and a line is always named by its
product id, whoever shops: the rules below never ask whether the cart is a guest's.

Rules: a quantity is a whole number from 1 to the product's stock, and at most
``settings.ORDER_MAX_QUANTITY_PER_LINE`` (one order may not take a product's whole stock); an
inactive or out-of-stock product cannot be added; a cart holds at most ``settings.CART_MAX_LINES``
distinct lines. A refused change raises `ValidationError` and changes nothing. Stock is
only *checked* here: it is taken at checkout, which checks again with `cart_check_line`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from products.models import Product

from .stores import CartStore, DatabaseCartStore, SessionCartStore, cart_for

if TYPE_CHECKING:
    from accounts.models import User

__all__ = [
    "CartLineNotFound",
    "CartMergeResult",
    "ProductNotFound",
    "cart_add_product",
    "cart_check_line",
    "cart_clear",
    "cart_for",
    "cart_merge",
    "cart_remove_item",
    "cart_remove_products",
    "cart_set_quantity",
]


class ProductNotFound(ObjectDoesNotExist):
    """No product has this id."""

    # What a page's script is told (a page shows the 404 page instead).
    message = gettext_lazy("We could not find that product: reload the page.")


class CartLineNotFound(ObjectDoesNotExist):
    """The product is not in this visitor's cart."""

    message = ProductNotFound.message


@dataclass
class CartMergeResult:
    """What happened to a guest's lines when they were merged into a user's cart."""

    merged: list[Product] = field(default_factory=list)
    capped: list[Product] = field(default_factory=list)  # quantity lowered to the stock
    limited: list[Product] = field(default_factory=list)  # lowered to the most one order may hold
    unavailable: list[Product] = field(default_factory=list)  # inactive or out of stock
    no_room: list[Product] = field(default_factory=list)  # the cart already had the most lines


def _check_whole(quantity: int) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise ValidationError(_("Quantity must be a whole number of at least 1."), code="invalid")


def cart_check_line(
    *, product: Product | None, quantity: int, already: int = 0, checkout: bool = False
) -> None:
    """The one availability rule, and its messages: may a cart line hold `quantity`?

    `already` is what the line holds now (named in the message when adding to it). At
    `checkout` the line is judged as it stands and the message asks the shopper to fix their
    cart. Raises `ValidationError` (codes ``inactive``, ``out_of_stock``, ``exceeds_stock``,
    ``exceeds_line_limit``; at checkout a short stock is ``insufficient_stock``); `product`
    None is a product deleted meanwhile.
    """
    if product is None or not product.is_active:
        name = product.name if product else _("A product")
        if checkout:
            message = _("“%(name)s” is no longer available; please remove it from your cart.")
        else:
            message = _("Sorry, %(name)s is no longer available.")
        raise ValidationError(message % {"name": name}, code="inactive")
    if product.stock <= 0:
        if checkout:
            message = _("“%(name)s” is out of stock; please remove it from your cart.")
        else:
            message = _("Sorry, %(name)s is out of stock.")
        code = "insufficient_stock" if checkout else "out_of_stock"
        raise ValidationError(message % {"name": product.name}, code=code)
    if quantity > product.stock:
        if checkout:
            message = _("“%(name)s”: only %(stock)d left in stock, but your cart has %(already)d.")
            already = quantity
        elif already:
            message = ngettext(
                "Only %(stock)d of %(name)s is in stock and you already have %(already)d in "
                "your cart.",
                "Only %(stock)d of %(name)s are in stock and you already have %(already)d in "
                "your cart.",
                product.stock,
            )
        else:
            message = ngettext(
                "Only %(stock)d of %(name)s is in stock.",
                "Only %(stock)d of %(name)s are in stock.",
                product.stock,
            )
        raise ValidationError(
            message % {"stock": product.stock, "name": product.name, "already": already},
            code="insufficient_stock" if checkout else "exceeds_stock",
        )
    # One shopper must not take a product's whole stock off the shelf with one unpaid order.
    limit = settings.ORDER_MAX_QUANTITY_PER_LINE
    if quantity > limit:
        message = _("You can buy at most %(max)d of %(name)s per order.")
        if already and not checkout:
            message += " " + _("Your cart already has %(already)d.")
        raise ValidationError(
            message % {"max": limit, "name": product.name, "already": already},
            code="exceeds_line_limit",
        )


def _check_room(line_count: int) -> None:
    if line_count >= settings.CART_MAX_LINES:
        raise ValidationError(
            _(
                "Your cart already holds %(max)d different products, the most it can. "
                "Remove something before adding more."
            )
            % {"max": settings.CART_MAX_LINES},
            code="too_many_lines",
        )


def _get_product(product_id: int) -> Product:
    try:
        return Product.objects.get(pk=product_id)
    except Product.DoesNotExist:
        raise ProductNotFound from None


def cart_add_product(*, cart: CartStore, product_id: int, quantity: int = 1) -> int:
    """Add `quantity` of a product to the cart; returns the line's new quantity.

    Raises `ProductNotFound` for an unknown id and `ValidationError` when a rule refuses.
    """
    _check_whole(quantity)
    product = _get_product(product_id)
    with cart.editing() as lines:
        already = lines.get(product.pk, 0)
        cart_check_line(product=product, quantity=already + quantity, already=already)
        if not already:
            _check_room(len(lines))
        lines[product.pk] = already + quantity
    return lines[product.pk]


def cart_set_quantity(*, cart: CartStore, product_id: int, quantity: int) -> int:
    """Set the quantity of a product's line (0 removes the line); returns the new quantity.

    Raises `CartLineNotFound` when the product is not in the cart, `ValidationError` when the
    quantity is refused. Lowering a quantity is always allowed, even for a product that has
    since become unavailable, so a shopper can fix a cart that went stale.
    """
    if type(quantity) is int and quantity == 0:
        cart_remove_item(cart=cart, product_id=product_id)
        return 0
    _check_whole(quantity)
    with cart.editing() as lines:
        if product_id not in lines:
            raise CartLineNotFound
        if quantity > lines[product_id]:
            product = Product.objects.filter(pk=product_id).first()
            if product is None:
                raise CartLineNotFound
            cart_check_line(product=product, quantity=quantity)
        lines[product_id] = quantity
    return quantity


def cart_remove_item(*, cart: CartStore, product_id: int) -> Product:
    """Remove a product's line from the cart; returns the product (for the message)."""
    with cart.editing() as lines:
        if product_id not in lines:
            raise CartLineNotFound
        del lines[product_id]
    product = Product.objects.filter(pk=product_id).first()
    if product is None:  # deleted since: the line is gone all the same
        raise CartLineNotFound
    return product


def cart_clear(*, cart: CartStore) -> None:
    """Empty the cart."""
    cart.clear()


def cart_remove_products(*, cart: CartStore, product_ids: list[int]) -> None:
    """Take these products' lines out of the cart (the orders app: the lines just ordered)."""
    with cart.editing() as lines:
        for product_id in product_ids:
            lines.pop(product_id, None)


def cart_merge(*, user: User, session: SessionBase) -> CartMergeResult:
    """Move a guest's session cart into `user`'s database cart, then empty the session cart.

    Quantities of a product in both carts are added and capped at the stock and at
    ORDER_MAX_QUANTITY_PER_LINE; inactive and
    out-of-stock products are dropped, and so are new lines once the cart is full.
    """
    result = CartMergeResult()
    guest = SessionCartStore(session)
    guest_lines = guest.quantities()
    if not guest_lines:
        guest.clear()  # whatever malformed thing was there
        return result

    # Sorted by id so two merges into one cart always touch rows in the same order.
    products = Product.objects.in_bulk(sorted(guest_lines))
    with DatabaseCartStore(user).editing() as lines:
        for product_id in sorted(guest_lines):
            product = products.get(product_id)
            if product is None:
                continue  # deleted since the guest added it: nothing to tell
            if not product.is_available:
                result.unavailable.append(product)
                continue
            already = lines.get(product_id, 0)
            wanted = guest_lines[product_id] + already
            quantity = min(wanted, product.stock, settings.ORDER_MAX_QUANTITY_PER_LINE)
            if quantity < min(wanted, settings.ORDER_MAX_QUANTITY_PER_LINE):
                result.capped.append(product)
            elif quantity < wanted:
                result.limited.append(product)
            if not already and len(lines) >= settings.CART_MAX_LINES:
                result.no_room.append(product)
                continue
            lines[product_id] = quantity
            result.merged.append(product)
    guest.clear()
    return result
