"""Where a cart's lines are kept: the one place that knows a signed-in user from a guest.

`cart_for(user=..., session=...)` (or `cart_for_request(request)`, once per request) chooses the
storage: a signed-in user's cart is the `Cart` row and its `CartItem` lines, a guest's lives in
the session as ``{"<product id>": quantity}``. Either way a cart is the same thing to everyone
else: an ordered ``{product id: quantity}`` (a product is in a cart at most once), read with
`quantities()` and changed inside `editing()`. The services (carts.services) hold the rules and
never ask which storage it is.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from myecommerce.converters import MAX_DB_ID
from myecommerce.prepared import PreparedQuery
from products.models import Product

from .models import Cart, CartItem

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

    # Whoever is shopping: a signed-in user, or a guest (AnonymousUser, or None in scripts).
    Shopper = User | AnonymousUser | None

# A guest's cart lives in the session as {"<product id>": quantity}.
SESSION_CART_KEY = "cart"
# Where `cart_for_request` keeps the request's cart, so it is chosen once per request.
REQUEST_ATTRIBUTE = "shop_cart"
# A signed-in user's cart version (see `DatabaseCartStore.version`).
VERSION_KEY_PREFIX = "carts:version"


class CartStore:
    """The lines of one cart, wherever they are kept."""

    #: The signed-in owner, None for a guest's cart.
    user: User | None = None

    def quantities(self) -> dict[int, int]:
        """{product id: quantity}, in the order the products were first added."""
        raise NotImplementedError

    @contextmanager
    def editing(self) -> Iterator[dict[int, int]]:
        """Yield the quantities to change in place; they are saved when the block ends without
        an exception (and nothing is saved when it raises). Concurrent edits of one cart queue."""
        raise NotImplementedError

    def item_count(self) -> int:
        """Units in the cart, counting only products that still exist (as the cart page)."""
        raise NotImplementedError

    def product_lines(self, products: QuerySet[Product]) -> list[tuple[Product, int]]:
        """(product, quantity) of each line, in cart order, the products read with `products`
        (in one query). A product deleted since it was added is left out."""
        quantities = self.quantities()
        if not quantities:
            return []
        found = products.filter(pk__in=quantities).in_bulk()
        return [(found[pk], qty) for pk, qty in quantities.items() if pk in found]

    def clear(self) -> None:
        with self.editing() as lines:
            lines.clear()


class SessionCartStore(CartStore):
    """A guest's cart: ``session[SESSION_CART_KEY] = {"<product id>": quantity}``."""

    def __init__(self, session: SessionBase | None):
        # Without a session (a script, a bare request) the cart reads as empty and keeps nothing.
        self.session = session

    def quantities(self) -> dict[int, int]:
        """Silently drops anything malformed (a session is only as tidy as its oldest write)."""
        raw = self.session.get(SESSION_CART_KEY) if self.session is not None else None
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

    @contextmanager
    def editing(self) -> Iterator[dict[int, int]]:
        if self.session is None:
            raise ValueError("A guest's cart needs a session.")
        lines = self.quantities()
        yield lines
        stored = {str(pk): qty for pk, qty in lines.items()}
        if stored == self.session.get(SESSION_CART_KEY, {}):
            return  # unchanged: the session is not written again
        if stored:
            self.session[SESSION_CART_KEY] = stored
        else:
            self.session.pop(SESSION_CART_KEY, None)

    def item_count(self) -> int:
        # None with an empty cart; else one: a product deleted since it was added is gone.
        quantities = self.quantities()
        if not quantities:
            return 0
        existing = Product.objects.filter(pk__in=quantities).values_list("pk", flat=True)
        return sum(quantities[pk] for pk in existing)


class DatabaseCartStore(CartStore):
    """A signed-in user's cart: the `Cart` row (made on the first change) and its lines."""

    def __init__(self, user: User):
        self.user = user

    def quantities(self) -> dict[int, int]:
        # Runs on every signed-in page (the navbar count): its SQL is written once.
        return dict(_LINES.rows(self.user.pk))

    @contextmanager
    def editing(self) -> Iterator[dict[int, int]]:
        with transaction.atomic():
            # The cart row is locked first, so concurrent changes to one cart queue up.
            cart = Cart.objects.select_for_update().filter(user=self.user).first()
            if cart is None:
                Cart.objects.get_or_create(user=self.user)  # a concurrent first change may win
                cart = Cart.objects.select_for_update().get(user=self.user)
            before = dict(
                cart.items.order_by("added_at", "pk").values_list("product_id", "quantity")
            )
            lines = dict(before)
            yield lines
            self._save(cart, before, lines)

    def _save(self, cart: Cart, before: dict[int, int], lines: dict[int, int]) -> None:
        removed = [pk for pk in before if pk not in lines]
        changed = {pk: qty for pk, qty in lines.items() if pk in before and before[pk] != qty}
        added = [
            CartItem(cart=cart, product_id=pk, quantity=qty)
            for pk, qty in lines.items()
            if pk not in before
        ]
        if not (removed or changed or added):
            return
        if removed:
            cart.items.filter(product_id__in=removed).delete()
        for product_id, quantity in changed.items():
            cart.items.filter(product_id=product_id).update(quantity=quantity)
        if added:
            CartItem.objects.bulk_create(added)
        Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
        cart_version_bump(user_id=self.user.pk)

    def item_count(self) -> int:
        # Lines go with their product (CASCADE), so every line counts.
        return sum(self.quantities().values())

    def product_lines(self, products: QuerySet[Product]) -> list[tuple[Product, int]]:
        # The lines and their products in one query.
        rows = (
            products.filter(cart_items__cart__user=self.user)
            .annotate(cart_quantity=F("cart_items__quantity"))
            .order_by("cart_items__added_at", "cart_items__pk")
        )
        return [(product, product.cart_quantity) for product in rows]

    def version(self) -> str:
        """A token that changes after every committed change to this cart's lines.

        Kept in the cache, so a stored cart page can be checked without a query. Bumped after
        commit: a page rendered meanwhile is stored under the old token, never the new one.
        """
        key = f"{VERSION_KEY_PREFIX}:{self.user.pk}"
        token = cache.get(key)
        if token is None:
            cache.add(key, uuid.uuid4().hex, timeout=None)
            token = cache.get(key) or ""
        return token


def cart_version_bump(*, user_id: int) -> None:
    """Make every stored copy of this user's cart page stale, once the change commits."""
    key = f"{VERSION_KEY_PREFIX}:{user_id}"

    def bump() -> None:
        cache.set(key, uuid.uuid4().hex, timeout=None)

    # Now, and again after commit: a page rendered from the old lines meanwhile may have been
    # stored under the first new token; the second makes it stale.
    bump()
    transaction.on_commit(bump, robust=True)


_LINES = PreparedQuery(
    lambda user_id: (
        CartItem.objects.filter(cart__user_id=user_id)
        .order_by("added_at", "pk")
        .values_list("product_id", "quantity")
    )
)


def cart_for(*, user: Shopper = None, session: SessionBase | None = None) -> CartStore:
    """The visitor's cart: the database one when `user` is signed in, else the session's."""
    if user is not None and user.is_authenticated:
        return DatabaseCartStore(user)
    return SessionCartStore(session)


def cart_for_request(request: HttpRequest) -> CartStore:
    """The request's cart, chosen on first use and the same for the rest of the request."""
    user = getattr(request, "user", None)
    owner = user if user is not None and user.is_authenticated else None
    store = getattr(request, REQUEST_ATTRIBUTE, None)
    if store is None or store.user != owner:  # chosen anew only if the request signed in/out
        store = cart_for(user=owner, session=getattr(request, "session", None))
        setattr(request, REQUEST_ATTRIBUTE, store)
    return store
