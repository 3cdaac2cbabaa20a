"""Receivers of other apps' signals; connected in `CartsConfig.ready`."""

from django.contrib import messages
from django.utils.translation import gettext as _

from .services import cart_merge


def merge_session_cart_on_login(sender, request, user, **kwargs) -> None:
    """On sign-in, move the guest's session cart into the user's cart and say what changed."""
    session = getattr(request, "session", None)
    if session is None:
        return
    result = cart_merge(user=user, session=session)
    # fail_silently: logins without the messages middleware (tests' force_login, scripts).
    if result.merged:
        messages.info(
            request,
            _("The items you picked before signing in are in your cart."),
            fail_silently=True,
        )
    if result.capped:
        messages.warning(
            request,
            _("We lowered the quantity of %(names)s to what we have in stock.")
            % {"names": ", ".join(product.name for product in result.capped)},
            fail_silently=True,
        )
    if result.skipped:
        messages.warning(
            request,
            _("We could not add %(names)s to your cart: unavailable, or your cart is full.")
            % {"names": ", ".join(product.name for product in result.skipped)},
            fail_silently=True,
        )
