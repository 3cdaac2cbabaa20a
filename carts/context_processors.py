from django.utils.functional import SimpleLazyObject

from .selectors import cart_item_count


def cart(request):
    """The navbar's cart count, computed only if a template shows it."""
    return {"cart_count": SimpleLazyObject(lambda: cart_item_count(request=request))}
