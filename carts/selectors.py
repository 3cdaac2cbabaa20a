"""Reads of the current visitor's cart.

A signed-in user's cart is the `Cart` row and its `CartItem` lines. A guest's cart lives in
the session as ``{"<product id>": quantity}``; a guest's *line id* (the ``item_id`` in
``/cart/items/<item_id>/…``) is the product id, a signed-in user's is the `CartItem` pk.
Both are presented as `CartLine` objects so views and templates never care which it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from django.contrib.sessions.backends.base import SessionBase
from django.db.models import Prefetch
from django.http import HttpRequest
from django.utils.functional import cached_property

from myecommerce.prepared import PreparedQuery
from products.models import Product, ProductImage

from .models import CartItem

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

    # Whoever is shopping: a signed-in user, or a guest (AnonymousUser, or None in scripts).
    Shopper = User | AnonymousUser | None

# A guest's cart lives in the session as {"<product id>": quantity}.
SESSION_CART_KEY = "cart"

# Ids in URLs are unbounded integers; anything outside a BigAutoField is simply not found.
MAX_DB_ID = 2**63 - 1

CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    """The one place money is rounded (carts and orders): to whole cents, half-up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class CartLine:
    """One line of a cart, whether stored in the database or in the session."""

    id: int  # CartItem pk for a signed-in user; the product id for a guest
    product: Product
    quantity: int

    @property
    def unit_price(self) -> Decimal:
        return self.product.price

    @property
    def line_total(self) -> Decimal:
        return money(self.product.price * self.quantity)

    @cached_property
    def image(self) -> ProductImage | None:
        return self.product.primary_image  # prefetched by the selectors below

    @property
    def image_url(self) -> str:
        """URL of a small picture of the product, or "" when it has none (show a placeholder)."""
        image = self.image
        if image is None:
            return ""
        # The stored list thumbnail made by the products app; never generate one here.
        thumbnail = getattr(image, "thumbnail_list", None)
        source = thumbnail if thumbnail else image.image
        try:
            return source.url if source else ""
        except ValueError:  # a file field with no file
            return ""

    @property
    def is_available(self) -> bool:
        """False when the line cannot be bought as it stands (inactive or short of stock)."""
        return self.product.is_active and 0 < self.quantity <= self.product.stock


@dataclass
class CartSummary:
    lines: list[CartLine] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return money(sum((line.line_total for line in self.lines), Decimal("0")))

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def line_count(self) -> int:
        return len(self.lines)

    @property
    def has_unavailable_lines(self) -> bool:
        return any(not line.is_available for line in self.lines)

    def __bool__(self) -> bool:
        return bool(self.lines)

    def __len__(self) -> int:
        return len(self.lines)

    def __iter__(self):
        return iter(self.lines)


def session_cart_read(*, session: SessionBase | None) -> dict[int, int]:
    """The guest cart as {product id: quantity}, silently dropping anything malformed."""
    if session is None:
        return {}
    raw = session.get(SESSION_CART_KEY)
    if not isinstance(raw, Mapping):
        return {}
    cart: dict[int, int] = {}
    for key, quantity in raw.items():
        try:
            product_id = int(key)
        except (TypeError, ValueError):
            continue
        if 0 < product_id <= MAX_DB_ID and type(quantity) is int and quantity > 0:
            cart[product_id] = quantity
    return cart


def images_prefetch(lookup: str = "images") -> Prefetch:
    """Product images in display order, for `lookup` (e.g. "product__images")."""
    return Prefetch(lookup, queryset=ProductImage.objects.order_by("position", "pk"))


def _is_signed_in(user: Shopper) -> bool:
    return user is not None and user.is_authenticated


def cart_get_summary(*, user: Shopper, session: SessionBase | None) -> CartSummary:
    """Every line of the visitor's cart with its product, category and images.

    A fixed number of queries whatever the number of lines: one for the lines (or the
    products of a guest's cart) and one for the images.
    """
    if _is_signed_in(user):
        items = (
            CartItem.objects.filter(cart__user=user)
            .select_related("product", "product__category")
            .prefetch_related(images_prefetch("product__images"))
            .order_by("added_at", "pk")
        )
        return CartSummary(
            lines=[
                CartLine(id=item.pk, product=item.product, quantity=item.quantity) for item in items
            ]
        )
    quantities = session_cart_read(session=session)
    if not quantities:
        return CartSummary()
    products = (
        Product.objects.filter(pk__in=quantities)
        .select_related("category")
        .prefetch_related(images_prefetch())
        .in_bulk()
    )
    # Keep the order the guest added things in (dicts keep insertion order).
    return CartSummary(
        lines=[
            CartLine(id=product_id, product=products[product_id], quantity=quantity)
            for product_id, quantity in quantities.items()
            if product_id in products
        ]
    )


def cart_get_line(*, user: Shopper, session: SessionBase | None, item_id: int) -> CartLine | None:
    """One line of the visitor's own cart, or None: another user's line is never found."""
    if not 0 < item_id <= MAX_DB_ID:
        return None
    if _is_signed_in(user):
        item = (
            CartItem.objects.filter(cart__user=user, pk=item_id).select_related("product").first()
        )
        if item is None:
            return None
        return CartLine(id=item.pk, product=item.product, quantity=item.quantity)
    quantity = session_cart_read(session=session).get(item_id)
    if quantity is None:
        return None
    product = Product.objects.filter(pk=item_id).first()
    if product is None:
        return None
    return CartLine(id=item_id, product=product, quantity=quantity)


def cart_quantities(*, user: Shopper, session: SessionBase | None) -> dict[int, int]:
    """{product id: quantity} of the visitor's cart (one query for a user, none for a guest)."""
    if _is_signed_in(user):
        return dict(CartItem.objects.filter(cart__user=user).values_list("product_id", "quantity"))
    return session_cart_read(session=session)


def cart_item_count(*, request: HttpRequest) -> int:
    """Number of units in the current visitor's cart, as the cart page counts them.

    One query for a user; for a guest, none with an empty cart and one otherwise: a product
    deleted since it was added is gone from the cart page, so it is not counted either.
    """
    user = getattr(request, "user", None)
    if _is_signed_in(user):
        # The lines' state: one query whose SQL is built once (every signed-in page runs it).
        return sum(quantity for _line, _product, quantity in cart_lines_state(user=user))
    quantities = session_cart_read(session=getattr(request, "session", None))
    if not quantities:
        return 0
    existing = Product.objects.filter(pk__in=quantities).values_list("pk", flat=True)
    return sum(quantities[pk] for pk in existing)


def cart_lines_state(*, user: User) -> list[tuple[int, int, int]]:
    """(line id, product id, quantity) of every line of a signed-in user's cart, in page order.

    What the cart page shows of the cart itself, so a stored copy of the page is reused only
    while this is unchanged (see carts.views). It runs on every signed-in page (the navbar
    count), so its SQL is written once (myecommerce.prepared).
    """
    return _CART_LINES_STATE.rows(user.pk)


_CART_LINES_STATE = PreparedQuery(
    lambda user_id: (
        CartItem.objects.filter(cart__user_id=user_id)
        .order_by("added_at", "pk")
        .values_list("pk", "product_id", "quantity")
    )
)
