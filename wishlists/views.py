from http import HTTPStatus

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import ListView

from accounts.mixins import SignInRequiredMixin
from carts.selectors import cart_for_request, cart_item_count, cart_quantities
from myecommerce.redirects import safe_back_url, wants_json
from products.models import Product

from .selectors import wishlist_items
from .services import (
    ProductNotFound,
    WishlistItemNotFound,
    wishlist_add_product,
    wishlist_move_to_cart,
    wishlist_remove_product,
)


class WishlistDetailView(SignInRequiredMixin, ListView):
    sign_in_reason = gettext_lazy("Sign in to see your wishlist.")
    template_name = "wishlists/wishlist_detail.html"
    context_object_name = "items"

    def get_queryset(self):
        return wishlist_items(user=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        in_cart = cart_quantities(cart=cart_for_request(self.request))
        context["cart_product_ids"] = set(in_cart)
        # The navbar count from the same query: no second one.
        context["cart_count"] = sum(in_cart.values())
        return context


class WishlistActionView(View):
    """A POST that changes the wishlist, flashes a message and goes back where it came from.

    A guest is sent to sign in and then back to the page they were on (not to this POST-only
    URL, which would answer a GET with 405). Asked for JSON (the page's script), it answers
    with the message and whether the product is now on the wishlist instead: a refusal is a
    409, an unknown product a 404, a guest a 403 with the sign-in address.
    """

    http_method_names = ["post"]
    # Whether the product is on the wishlist after `perform` (for the script's heart).
    in_wishlist: bool | None = None

    def get_success_url(self) -> str:
        return safe_back_url(self.request, default=reverse("wishlists:detail"))

    def post(self, request, *args, **kwargs):
        as_json = wants_json(request)
        if not request.user.is_authenticated:
            message = _("Sign in to keep a wishlist.")
            messages.info(request, message)  # the script goes to sign in too, and shows it
            to_login = redirect_to_login(self.get_success_url())
            if as_json:
                return JsonResponse(
                    {"message": message, "login_url": to_login.url}, status=HTTPStatus.FORBIDDEN
                )
            return to_login
        try:
            message = self.perform(kwargs["product_id"])
        except (ProductNotFound, WishlistItemNotFound):
            if as_json:
                return JsonResponse(
                    {"message": str(ProductNotFound.message)},
                    status=HTTPStatus.NOT_FOUND,
                )
            raise Http404 from None
        except ValidationError as exc:
            if as_json:
                return JsonResponse({"message": " ".join(exc.messages)}, status=HTTPStatus.CONFLICT)
            for error in exc.messages:
                messages.error(request, error)
        else:
            if as_json:
                return JsonResponse(self.json_answer(message))
            messages.success(request, message)
        return HttpResponseRedirect(self.get_success_url())

    def json_answer(self, message: str) -> dict:
        return {"message": message, "in_wishlist": self.in_wishlist}

    def perform(self, product_id: int) -> str:
        raise NotImplementedError

    def product_name(self, product_id: int) -> str:
        return Product.objects.values_list("name", flat=True).get(pk=product_id)


class WishlistAddView(WishlistActionView):
    def perform(self, product_id: int) -> str:
        created = wishlist_add_product(user=self.request.user, product_id=product_id)
        self.in_wishlist = True
        name = self.product_name(product_id)
        if created:
            return _("Added %(name)s to your wishlist.") % {"name": name}
        return _("%(name)s is already in your wishlist.") % {"name": name}


class WishlistRemoveView(WishlistActionView):
    def perform(self, product_id: int) -> str:
        removed = wishlist_remove_product(user=self.request.user, product_id=product_id)
        self.in_wishlist = False
        name = self.product_name(product_id)
        if removed:
            return _("Removed %(name)s from your wishlist.") % {"name": name}
        return _("%(name)s was not in your wishlist.") % {"name": name}


class WishlistMoveToCartView(WishlistActionView):
    def json_answer(self, message: str) -> dict:
        return {
            "message": message,
            "in_wishlist": False,
            "cart_count": cart_item_count(request=self.request),
        }

    def perform(self, product_id: int) -> str:
        added = wishlist_move_to_cart(user=self.request.user, product_id=product_id)
        name = self.product_name(product_id)
        if added:
            return _("Moved %(name)s to your cart.") % {"name": name}
        return _("%(name)s is already in your cart; it has left your wishlist.") % {"name": name}
