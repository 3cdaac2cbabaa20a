"""The cart's rules: every view, the sign-in merge and the tests go through these functions.

A cart belongs either to a signed-in user (the `Cart` row) or to a guest's session
(``session[SESSION_CART_KEY] = {"<product id>": quantity}``). Each service takes ``user``
and ``session``: a signed-in ``user`` means the database cart, anything else the session.

Rules: a quantity is a whole number from 1 to the product's stock, and at most
``settings.ORDER_MAX_QUANTITY_PER_LINE`` (one order may not take a product's whole stock); an
inactive or out-of-stock product cannot be added; a cart holds at most ``settings.CART_MAX_LINES``
distinct lines. A refused change raises `ValidationError` and changes nothing. Stock is
only *checked* here: it is taken at checkout, which checks again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from products.models import Product

from .models import Cart, CartItem
from .selectors import MAX_DB_ID, SESSION_CART_KEY, session_cart_read

if TYPE_CHECKING:
    from accounts.models import User

    from .selectors import Shopper


class CartLineNotFound(ObjectDoesNotExist):
    """The line is not in this visitor's cart (or does not exist at all)."""


class ProductNotFound(ObjectDoesNotExist):
    """No product has this id."""


@dataclass
class CartMergeResult:
    """What happened to a guest's lines when they were merged into a user's cart."""

    merged: list[Product] = field(default_factory=list)
    capped: list[Product] = field(default_factory=list)  # quantity lowered to the stock
    limited: list[Product] = field(default_factory=list)  # lowered to the most one order may hold
    unavailable: list[Product] = field(default_factory=list)  # inactive or out of stock
    no_room: list[Product] = field(default_factory=list)  # the cart already had the most lines


def _signed_in(user: Shopper) -> bool:
    return user is not None and user.is_authenticated


def _require_session(session: SessionBase | None) -> SessionBase:
    if session is None:
        raise ValueError("A guest's cart needs a session.")
    return session


def _write_session_cart(session: SessionBase, cart: dict[int, int]) -> None:
    session[SESSION_CART_KEY] = {str(pk): quantity for pk, quantity in cart.items()}
    session.modified = True


def _check_available(product: Product) -> None:
    if not product.is_active:
        raise ValidationError(
            _("Sorry, %(name)s is no longer available.") % {"name": product.name},
            code="inactive",
        )
    if product.stock <= 0:
        raise ValidationError(
            _("Sorry, %(name)s is out of stock.") % {"name": product.name}, code="out_of_stock"
        )


def _check_whole(quantity: int) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise ValidationError(_("Quantity must be a whole number of at least 1."), code="invalid")


def _check_quantity(product: Product, quantity: int, *, already: int = 0) -> None:
    """`quantity` is what the line would hold; `already` is what it holds now (for messages)."""
    _check_whole(quantity)
    _check_available(product)
    if quantity > product.stock:
        if already:
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
            code="exceeds_stock",
        )
    cart_check_line_limit(name=product.name, quantity=quantity, already=already)


def cart_check_line_limit(*, name: str, quantity: int, already: int = 0) -> None:
    """Refuse more than ORDER_MAX_QUANTITY_PER_LINE of one product in one cart (and order).

    One shopper must not take a product's whole stock off the shelf with one unpaid order;
    the orders app checks again at checkout with this same rule.
    """
    limit = settings.ORDER_MAX_QUANTITY_PER_LINE
    if quantity <= limit:
        return
    message = _("You can buy at most %(max)d of %(name)s per order.")
    if already:
        message += " " + _("Your cart already has %(already)d.")
    raise ValidationError(
        message % {"max": limit, "name": name, "already": already}, code="exceeds_line_limit"
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
    if not 0 < product_id <= MAX_DB_ID:
        raise ProductNotFound
    try:
        return Product.objects.get(pk=product_id)
    except Product.DoesNotExist:
        raise ProductNotFound from None


def _locked_cart(user: User) -> Cart:
    """The user's cart, created if needed, locked so concurrent changes to it queue up."""
    cart, _created = Cart.objects.get_or_create(user=user)
    return Cart.objects.select_for_update().get(pk=cart.pk)


def _touch(cart_id: int) -> None:
    # Every change to a cart's lines moves its updated_at: the cart page keeps a stored copy
    # only while it is unchanged (carts.views.CartDetailView).
    Cart.objects.filter(pk=cart_id).update(updated_at=timezone.now())


def cart_add_product(
    *, user: Shopper, session: SessionBase | None = None, product_id: int, quantity: int = 1
) -> int:
    """Add `quantity` of a product to the visitor's cart; returns the line's new quantity.

    Raises `ProductNotFound` for an unknown id and `ValidationError` when a rule refuses.
    """
    _check_whole(quantity)
    product = _get_product(product_id)
    if not _signed_in(user):
        session = _require_session(session)
        cart = session_cart_read(session=session)
        already = cart.get(product.pk, 0)
        _check_quantity(product, already + quantity, already=already)
        if not already:
            _check_room(len(cart))
        cart[product.pk] = already + quantity
        _write_session_cart(session, cart)
        return cart[product.pk]

    with transaction.atomic():
        cart = _locked_cart(user)
        item = CartItem.objects.filter(cart=cart, product=product).first()
        already = item.quantity if item else 0
        _check_quantity(product, already + quantity, already=already)
        if item is None:
            _check_room(cart.items.count())
            item = CartItem.objects.create(cart=cart, product=product, quantity=quantity)
        else:
            item.quantity = already + quantity
            item.save(update_fields=["quantity"])
        _touch(cart.pk)
        return item.quantity


def cart_set_quantity(
    *, user: Shopper, session: SessionBase | None = None, item_id: int, quantity: int
) -> int:
    """Set a line's quantity (0 removes the line); returns the new quantity.

    Raises `CartLineNotFound` when the line is not the visitor's, `ValidationError` when
    the quantity is refused. Lowering a quantity is always allowed, even for a product
    that has since become unavailable, so a shopper can fix a cart that went stale.
    """
    if type(quantity) is int and quantity == 0:
        cart_remove_item(user=user, session=session, item_id=item_id)
        return 0
    if not 0 < item_id <= MAX_DB_ID:
        raise CartLineNotFound
    if not _signed_in(user):
        session = _require_session(session)
        cart = session_cart_read(session=session)
        if item_id not in cart:
            raise CartLineNotFound
        product = Product.objects.filter(pk=item_id).first()
        if product is None:
            raise CartLineNotFound
        _check_whole(quantity)
        if quantity > cart[item_id]:
            _check_quantity(product, quantity)
        cart[item_id] = quantity
        _write_session_cart(session, cart)
        return quantity

    with transaction.atomic():
        item = (
            CartItem.objects.select_for_update(of=("self",))
            .select_related("product")
            .filter(cart__user=user, pk=item_id)
            .first()
        )
        if item is None:
            raise CartLineNotFound
        _check_whole(quantity)
        if quantity > item.quantity:
            _check_quantity(item.product, quantity)
        item.quantity = quantity
        item.save(update_fields=["quantity"])
        _touch(item.cart_id)
        return quantity


def cart_remove_item(*, user: Shopper, session: SessionBase | None = None, item_id: int) -> Product:
    """Remove a line from the visitor's cart; returns its product (for the message)."""
    if not 0 < item_id <= MAX_DB_ID:
        raise CartLineNotFound
    if not _signed_in(user):
        session = _require_session(session)
        cart = session_cart_read(session=session)
        if item_id not in cart:
            raise CartLineNotFound
        product = Product.objects.filter(pk=item_id).first()
        del cart[item_id]
        _write_session_cart(session, cart)
        if product is None:
            raise CartLineNotFound
        return product

    with transaction.atomic():
        item = (
            CartItem.objects.select_for_update(of=("self",))
            .select_related("product")
            .filter(cart__user=user, pk=item_id)
            .first()
        )
        if item is None:
            raise CartLineNotFound
        item.delete()
        _touch(item.cart_id)
        return item.product


def cart_clear(*, user: Shopper, session: SessionBase | None = None) -> None:
    """Empty the visitor's cart (the orders app does this after a checkout)."""
    if not _signed_in(user):
        if session is not None and SESSION_CART_KEY in session:
            del session[SESSION_CART_KEY]
        return
    cart_remove_lines(user=user)


def cart_remove_lines(*, user: User, item_ids: list[int] | None = None) -> None:
    """Delete these lines (all when None) of a signed-in user's cart, e.g. those just ordered."""
    lines = CartItem.objects.filter(cart__user=user)
    if item_ids is not None:
        lines = lines.filter(pk__in=item_ids)
    lines.delete()
    Cart.objects.filter(user=user).update(updated_at=timezone.now())


@transaction.atomic
def cart_merge(*, user: User, session: SessionBase) -> CartMergeResult:
    """Move a guest's session cart into `user`'s database cart, then empty the session cart.

    Quantities of a product in both carts are added and capped at the stock and at
    ORDER_MAX_QUANTITY_PER_LINE; inactive and
    out-of-stock products are dropped, and so are new lines once the cart is full.
    """
    result = CartMergeResult()
    guest_cart = session_cart_read(session=session)
    if not guest_cart:
        if SESSION_CART_KEY in session:
            del session[SESSION_CART_KEY]
        return result

    cart = _locked_cart(user)
    existing = {item.product_id: item for item in cart.items.all()}
    # Sorted by id so two merges into one cart always touch rows in the same order.
    products = Product.objects.in_bulk(sorted(guest_cart))
    line_count = len(existing)
    to_update: list[CartItem] = []
    to_create: list[CartItem] = []
    for product_id in sorted(guest_cart):
        product = products.get(product_id)
        if product is None:
            continue  # deleted since the guest added it: nothing to tell
        if not product.is_available:
            result.unavailable.append(product)
            continue
        item = existing.get(product_id)
        wanted = guest_cart[product_id] + (item.quantity if item else 0)
        quantity = min(wanted, product.stock, settings.ORDER_MAX_QUANTITY_PER_LINE)
        if quantity < min(wanted, settings.ORDER_MAX_QUANTITY_PER_LINE):
            result.capped.append(product)
        elif quantity < wanted:
            result.limited.append(product)
        if item is not None:
            if item.quantity != quantity:
                item.quantity = quantity
                to_update.append(item)
        elif line_count >= settings.CART_MAX_LINES:
            result.no_room.append(product)
            continue
        else:
            to_create.append(CartItem(cart=cart, product=product, quantity=quantity))
            line_count += 1
        result.merged.append(product)
    if to_update:
        CartItem.objects.bulk_update(to_update, ["quantity"])
    if to_create:
        CartItem.objects.bulk_create(to_create)
    _touch(cart.pk)
    del session[SESSION_CART_KEY]
    return result
