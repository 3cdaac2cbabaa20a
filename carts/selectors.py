from django.db.models import Sum
from django.http import HttpRequest

from .models import CartItem

# A guest's cart lives in the session as {"<product id>": quantity}.
SESSION_CART_KEY = "cart"


def cart_item_count(*, request: HttpRequest) -> int:
    """Number of units in the current visitor's cart: one query for a user, none for a guest."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        total = CartItem.objects.filter(cart__user=user).aggregate(n=Sum("quantity"))["n"]
        return total or 0
    session_cart = request.session.get(SESSION_CART_KEY, {})
    return sum(q for q in session_cart.values() if isinstance(q, int))
