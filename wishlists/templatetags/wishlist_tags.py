from django import template

from ..selectors import wishlist_product_ids

register = template.Library()

# The ids are cached on the request, so a page of 24 product cards costs one query in all.
_CACHE_ATTR = "_wishlist_product_ids"


@register.simple_tag(takes_context=True)
def in_wishlist(context, product) -> bool:
    """{% in_wishlist product as wished %}: whether the product is on the visitor's wishlist."""
    request = context.get("request")
    if request is None:
        return False
    ids = getattr(request, _CACHE_ATTR, None)
    if ids is None:
        ids = wishlist_product_ids(user=getattr(request, "user", None))
        setattr(request, _CACHE_ATTR, ids)
    return product.pk in ids
