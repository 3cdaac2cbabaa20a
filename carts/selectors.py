"""Reads of a cart (a `carts.stores.CartStore`, whoever's it is).

Lines are presented as `CartLine` objects, each named by its product id (the id in
``/cart/items/<product id>/…``), so views, templates and other apps never care where a cart
is kept. Other apps read carts only through these functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Prefetch
from django.http import HttpRequest
from django.utils.functional import cached_property

from myecommerce.money import money
from products.models import Product, ProductImage
from products.selectors import product_images_prefetch

from .stores import SESSION_CART_KEY, CartStore, DatabaseCartStore, cart_for, cart_for_request

if TYPE_CHECKING:
    from accounts.models import User

    from .stores import Shopper  # noqa: F401 (other apps type with it)

__all__ = [
    "SESSION_CART_KEY",
    "CartLine",
    "CartSummary",
    "cart_contains",
    "cart_for",
    "cart_for_request",
    "cart_get_line",
    "cart_get_summary",
    "cart_item_count",
    "cart_lines_for_checkout",
    "cart_quantities",
    "cart_version",
    "images_prefetch",
]


@dataclass
class CartLine:
    """One line of a cart, whether stored in the database or in the session."""

    id: int  # the product id, for everyone
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


def images_prefetch(lookup: str = "images") -> Prefetch:
    """Product images in display order, for `lookup` (e.g. "product__images"): the catalogue's
    own prefetch, which `Product.prefetched_images()` reads."""
    return product_images_prefetch(lookup)


def cart_get_summary(*, cart: CartStore) -> CartSummary:
    """Every line of the cart with its product, category and images, in the order added.

    A fixed number of queries whatever the number of lines: the lines with their products,
    and the images. A product deleted since it was added is left out.
    """
    products = Product.objects.select_related("category").prefetch_related(images_prefetch())
    return CartSummary(
        lines=[
            CartLine(id=product.pk, product=product, quantity=quantity)
            for product, quantity in cart.product_lines(products)
        ]
    )


def cart_get_line(*, cart: CartStore, product_id: int) -> CartLine | None:
    """The cart's line of this product, or None: what is not in this cart is never found."""
    quantity = cart.quantities().get(product_id)
    if quantity is None:
        return None
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        return None
    return CartLine(id=product_id, product=product, quantity=quantity)


def cart_quantities(*, cart: CartStore) -> dict[int, int]:
    """{product id: quantity} of the cart (one query for a user's cart, none for a guest's)."""
    return cart.quantities()


def cart_contains(*, cart: CartStore, product_id: int) -> bool:
    return product_id in cart.quantities()


def cart_item_count(*, request: HttpRequest) -> int:
    """Number of units in the current visitor's cart, as the cart page counts them.

    One query for a user; for a guest, none with an empty cart and one otherwise.
    """
    return cart_for_request(request).item_count()


def cart_lines_for_checkout(*, user: User) -> list[tuple[int, int]]:
    """(product id, quantity) of each line of the user's cart, in product-id order (the order
    checkout locks products in). Call it inside the checkout's transaction."""
    return sorted(DatabaseCartStore(user).quantities().items())


def cart_version(*, user: User) -> str:
    """A token that changes after every committed change to the user's cart lines: a stored
    copy of their cart page is good while it is unchanged. Read from the cache: no query."""
    return DatabaseCartStore(user).version()
