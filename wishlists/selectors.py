from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from products.selectors import product_images_prefetch

from .models import WishlistItem

if TYPE_CHECKING:
    from carts.selectors import Shopper


def wishlist_items(*, user: Shopper) -> QuerySet[WishlistItem]:
    """The user's wishlist, newest first, with products, categories and images: two queries."""
    return (
        WishlistItem.objects.filter(user=user)
        .select_related("product", "product__category")
        .prefetch_related(product_images_prefetch("product__images"))
    )


def wishlist_product_ids(*, user: Shopper) -> set[int]:
    """Ids of the products in the user's wishlist, in one query (none for a guest)."""
    if user is None or not user.is_authenticated:
        return set()
    return set(WishlistItem.objects.filter(user=user).values_list("product_id", flat=True))
