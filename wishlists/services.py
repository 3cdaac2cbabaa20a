"""The wishlist's rules. A wishlist belongs to a signed-in user; guests have none."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction

from carts.selectors import cart_contains, cart_for
from carts.services import ProductNotFound, cart_add_product, cart_check_line
from products.models import Product

from .models import WishlistItem

if TYPE_CHECKING:
    from accounts.models import User

__all__ = [
    "ProductNotFound",
    "WishlistItemNotFound",
    "wishlist_add_product",
    "wishlist_move_to_cart",
    "wishlist_remove_product",
]


class WishlistItemNotFound(ObjectDoesNotExist):
    """The product is not in this user's wishlist."""


def _get_product(product_id: int) -> Product:
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        raise ProductNotFound
    return product


def wishlist_add_product(*, user: User, product_id: int) -> bool:
    """Put a product on the user's wishlist; True if it was not there already.

    Adding twice is harmless. Out-of-stock products are welcome (that is what wishlists are
    for); products withdrawn from sale are not.
    """
    product = _get_product(product_id)
    if not product.is_active:
        # The cart's wording of the rule; out of stock is fine here (that is what wishlists
        # are for).
        cart_check_line(product=product, quantity=1)
    # get_or_create retries the read if a concurrent request created the row first.
    _item, created = WishlistItem.objects.get_or_create(user=user, product=product)
    return created


def wishlist_remove_product(*, user: User, product_id: int) -> bool:
    """Take a product off the user's wishlist; True if it was there."""
    _get_product(product_id)
    deleted, _details = WishlistItem.objects.filter(user=user, product_id=product_id).delete()
    return bool(deleted)


@transaction.atomic
def wishlist_move_to_cart(*, user: User, product_id: int) -> bool:
    """Move a wished-for product into the user's cart (one unit, stock permitting).

    Returns True if a unit was added, False if the product was already in the cart (then it
    only leaves the wishlist). A refused add raises `ValidationError` and the wishlist keeps
    the product.
    """
    # product__pk: Django's lookup on the id itself finds nothing for an id no row can have.
    item = (
        WishlistItem.objects.select_for_update().filter(user=user, product__pk=product_id).first()
    )
    if item is None:
        raise WishlistItemNotFound
    cart = cart_for(user=user)
    added = not cart_contains(cart=cart, product_id=product_id)
    if added:
        cart_add_product(cart=cart, product_id=product_id, quantity=1)
    item.delete()
    return added
