"""Receivers of other apps' signals; connected in `CartsConfig.ready`."""

from django.conf import settings
from django.contrib import messages
from django.utils.translation import gettext as _

from .services import cart_merge


def _names(products) -> str:
    return ", ".join(product.name for product in products)


def merge_session_cart_on_login(sender, request, user, **kwargs) -> None:
    """On sign-in, move the guest's session cart into the user's cart and say what changed."""
    session = getattr(request, "session", None)
    if session is None:
        return
    result = cart_merge(user=user, session=session)

    def tell(level: int, message: str) -> None:
        # fail_silently: sign-ins without the messages middleware (force_login, scripts).
        messages.add_message(request, level, message, fail_silently=True)

    if result.merged:
        tell(messages.INFO, _("The items you picked before signing in are now in your cart."))
    if result.capped:
        tell(
            messages.WARNING,
            _("We lowered the quantity of %(names)s to what we have in stock.")
            % {"names": _names(result.capped)},
        )
    if result.limited:
        tell(
            messages.WARNING,
            _("We lowered the quantity of %(names)s to %(max)d, the most one order may hold.")
            % {"names": _names(result.limited), "max": settings.ORDER_MAX_QUANTITY_PER_LINE},
        )
    if result.unavailable:
        tell(
            messages.WARNING,
            _("%(names)s could not be added to your cart: no longer available or out of stock.")
            % {"names": _names(result.unavailable)},
        )
    if result.no_room:
        tell(
            messages.WARNING,
            _("%(names)s could not be added to your cart: it is full.")
            % {"names": _names(result.no_room)},
        )
