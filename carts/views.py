from http import HTTPStatus

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.generic import FormView, TemplateView

from myecommerce.redirects import safe_back_url, wants_json
from products.catalogue_cache import (
    PageStore,
    has_flash_messages,
    page_cache_mark,
    page_store_enabled,
    serve_from_store,
)
from products.models import Product

from .forms import CartAddForm, CartUpdateForm
from .selectors import (
    CartLine,
    cart_for_request,
    cart_get_line,
    cart_get_summary,
    cart_item_count,
    cart_version,
)
from .services import (
    CartLineNotFound,
    ProductNotFound,
    cart_add_product,
    cart_remove_item,
    cart_set_quantity,
)

CART_PAGES = PageStore("carts:page")


def cart_count_text(count: int) -> str:
    """'Cart: 3 items': the whole cart's unit count, as the navbar badge shows it."""
    return ngettext("Cart: %(count)d item", "Cart: %(count)d items", count) % {"count": count}


class CartDetailView(TemplateView):
    """The visitor's cart. A signed-in user's page is kept in the cache, per user, and reused
    while their cart, their name and the catalogue version are unchanged: rendering ten lines
    costs far more than checking that nothing changed. Whether the cart changed is the cart's
    version (`carts.selectors.cart_version`, in the cache), so a reused page costs no query.
    """

    template_name = "carts/cart_detail.html"

    def get(self, request, *args, **kwargs):
        user = request.user
        if (
            not user.is_authenticated
            or not page_store_enabled()
            # Flash messages are shown once, by a real render (and never stored).
            or has_flash_messages(request)
            # The page repeats its query string (the navbar's search box): only /cart/ itself.
            or request.GET
        ):
            return page_cache_mark(super().get(request, *args, **kwargs), "bypass")
        page = CART_PAGES.open(
            CART_PAGES.key(user.pk),
            (
                user.get_username(),
                user.is_staff,
                cart_version(user=user),
            ),
        )
        return serve_from_store(
            request, page, lambda: super(CartDetailView, self).get(request, *args, **kwargs)
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        cart = cart_get_summary(cart=cart_for_request(self.request))
        context["cart"] = cart
        # The navbar count comes from the lines already loaded: no extra query.
        context["cart_count"] = cart.item_count
        return context


class CartActionView(FormView):
    """A POST that changes the cart, flashes a message and goes back where it came from.

    Asked for JSON (the page's script), it answers instead with the message and the cart's
    new item count, and a refusal with a 4xx: 400 for bad input, 409 when a rule refuses
    (stock, a withdrawn product), 404 for an unknown product or line.
    Subclasses implement `perform`, which calls a service and returns the success message.
    Bad input and refused changes become error messages; nothing here can answer a 500.
    """

    http_method_names = ["post"]
    form_class = forms.Form  # no input unless a subclass asks for some
    cart_count: int | None = None  # set by a `perform` that counted the cart already

    def get_success_url(self) -> str:
        return safe_back_url(self.request, default=reverse("carts:detail"))

    def answer(self, message: str, *, level: int, status: HTTPStatus = HTTPStatus.OK):
        if wants_json(self.request):
            count = self.cart_count
            if count is None:
                count = cart_item_count(request=self.request)
            return JsonResponse({"message": str(message), "cart_count": count}, status=status)
        messages.add_message(self.request, level, message)
        return HttpResponseRedirect(self.get_success_url())

    def not_found(self):
        if wants_json(self.request):
            return JsonResponse(
                {"message": str(ProductNotFound.message)}, status=HTTPStatus.NOT_FOUND
            )
        raise Http404

    def refuse(self, errors: list[str], *, status: HTTPStatus):
        """Bad input or a refused change: one error message each, or one JSON 4xx."""
        if wants_json(self.request):
            return self.answer(" ".join(errors), level=messages.ERROR, status=status)
        for error in errors:
            messages.error(self.request, error)
        return HttpResponseRedirect(self.get_success_url())

    def form_invalid(self, form):
        errors = [str(error) for errors in form.errors.values() for error in errors]
        return self.refuse(errors, status=HTTPStatus.BAD_REQUEST)

    def form_valid(self, form):
        try:
            message = self.perform(form.cleaned_data)
        except (ProductNotFound, CartLineNotFound):
            return self.not_found()
        except ValidationError as exc:
            return self.refuse(exc.messages, status=HTTPStatus.CONFLICT)
        return self.answer(message, level=messages.SUCCESS)

    def perform(self, data: dict) -> str:
        raise NotImplementedError


class CartAddView(CartActionView):
    form_class = CartAddForm

    def post(self, request, *args, **kwargs):
        # An unknown product is a 404 whatever the quantity says.
        self.product = Product.objects.filter(pk=kwargs["product_id"]).first()
        if self.product is None:
            return self.not_found()
        return super().post(request, *args, **kwargs)

    def perform(self, data: dict) -> str:
        cart_add_product(
            cart=cart_for_request(self.request),
            product_id=self.product.pk,
            quantity=data["quantity"],
        )
        # The whole cart's count, as the badge shows it: the line's own quantity beside a
        # different badge figure read as a contradiction.
        self.cart_count = cart_item_count(request=self.request)
        return _("Added %(name)s to your cart. %(cart)s.") % {
            "name": self.product.name,
            "cart": cart_count_text(self.cart_count),
        }


class CartLineActionView(CartActionView):
    """An action on one line of the visitor's own cart: anyone else's line is a 404."""

    line: CartLine

    def post(self, request, *args, **kwargs):
        line = cart_get_line(cart=cart_for_request(request), product_id=kwargs["product_id"])
        if line is None:
            return self.not_found()
        self.line = line
        return super().post(request, *args, **kwargs)


class CartUpdateView(CartLineActionView):
    form_class = CartUpdateForm

    def perform(self, data: dict) -> str:
        quantity = cart_set_quantity(
            cart=cart_for_request(self.request),
            product_id=self.line.id,
            quantity=data["quantity"],
        )
        if quantity == 0:
            return _("Removed %(name)s from your cart.") % {"name": self.line.product.name}
        return _("%(name)s: quantity updated to %(quantity)d.") % {
            "name": self.line.product.name,
            "quantity": quantity,
        }


class CartRemoveView(CartLineActionView):
    def perform(self, data: dict) -> str:
        product = cart_remove_item(cart=cart_for_request(self.request), product_id=self.line.id)
        return _("Removed %(name)s from your cart.") % {"name": product.name}
