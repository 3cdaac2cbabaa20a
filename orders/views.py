from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Sum
from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import DetailView, FormView, ListView, View
from django.views.generic.detail import SingleObjectMixin

from accounts.mixins import SignInRequiredMixin
from carts.selectors import cart_for_request, cart_get_summary

from .forms import CheckoutForm
from .models import Order, OrderItem, OrderStatusChange
from .services import OrderAlreadyPlaced, checkout_token_for, order_cancel, order_place


class CheckoutView(SignInRequiredMixin, FormView):
    sign_in_reason = gettext_lazy("Sign in to check out.")
    form_class = CheckoutForm
    template_name = "orders/checkout.html"
    http_method_names = ["get", "post", "head", "options"]  # FormView would take PUT as POST

    def get(self, request, *args, **kwargs):
        if not self.cart:
            return self.redirect_to_empty_cart()
        return super().get(request, *args, **kwargs)

    @property
    def cart(self):
        if not hasattr(self, "_cart"):
            self._cart = cart_get_summary(cart=cart_for_request(self.request))
        return self._cart

    def redirect_to_empty_cart(self):
        messages.info(self.request, _("Your cart is empty: add something before checking out."))
        return redirect("carts:detail")

    def checkout_token(self) -> str:
        return checkout_token_for(session=self.request.session)

    def get_initial(self):
        return CheckoutForm.initial_for(self.request.user, checkout_token=self.checkout_token())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["cart"] = self.cart
        context["cart_count"] = self.cart.item_count  # the lines are loaded already
        # Always the live token: a form re-shown after an error must still be submittable.
        context["checkout_token"] = self.checkout_token()
        return context

    def form_invalid(self, form):
        if not self.cart:
            return self.redirect_to_empty_cart()
        return super().form_invalid(form)

    def form_valid(self, form):
        try:
            order = order_place(
                user=self.request.user,
                shipping_address=form.shipping_address(),
                billing_address=form.billing_address(),
                payment_method=form.cleaned_data["payment_method"],
                checkout_token=form.cleaned_data["checkout_token"],
                session=self.request.session,
            )
        except OrderAlreadyPlaced as exc:
            return self.already_placed(exc.order)
        except ValidationError as exc:
            # A stale form: shown again, with the live token.
            if getattr(exc, "code", None) == "bad_token":
                form.add_error(
                    "checkout_token",
                    ValidationError(form.error_messages["bad_token"], code="bad_token"),
                )
                return self.form_invalid(form)
            # Nothing was written: back to the cart, naming each line and what is wrong.
            for message in exc.messages:
                messages.error(self.request, message)
            return redirect("carts:detail")
        messages.success(
            self.request,
            _("Thank you! Your order %(number)s has been placed.") % {"number": order.number},
        )
        return HttpResponseRedirect(order.get_absolute_url())

    def already_placed(self, order: Order):
        messages.info(
            self.request,
            _("Order %(number)s was already placed from this form.") % {"number": order.number},
        )
        return HttpResponseRedirect(order.get_absolute_url())


class OrderListView(SignInRequiredMixin, ListView):
    sign_in_reason = gettext_lazy("Sign in to see your orders.")
    template_name = "orders/order_list.html"
    context_object_name = "orders"
    paginate_by = 20

    def get_queryset(self):
        return (
            Order.objects.filter(user=self.request.user)
            .annotate(item_count=Sum("items__quantity"))
            .only("number", "status", "total", "currency", "payment_method", "created_at")
            .order_by("-created_at", "-pk")
        )


class OrderDetailView(SignInRequiredMixin, DetailView):
    sign_in_reason = gettext_lazy("Sign in to see your orders.")
    template_name = "orders/order_detail.html"
    context_object_name = "order"
    slug_field = "number"
    slug_url_kwarg = "number"

    def get_queryset(self):
        orders = Order.objects.prefetch_related(
            Prefetch("items", queryset=OrderItem.objects.order_by("pk")),
            Prefetch(
                "status_changes", queryset=OrderStatusChange.objects.order_by("created_at", "pk")
            ),
        )
        # Other customers' orders (names, addresses, phones) need the permission, not just
        # is_staff: a staff user without it is a customer here. Superusers have every permission.
        if self.request.user.has_perm("orders.view_order"):
            return orders
        # Anyone else's order is simply not found.
        return orders.filter(user=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        order = self.object
        context["can_cancel"] = order.is_pending and order.user_id == self.request.user.pk
        if order.awaits_bank_transfer:
            context["bank_transfer_instructions"] = settings.STORE_BANK_TRANSFER_INSTRUCTIONS
        return context


class OrderCancelView(LoginRequiredMixin, SingleObjectMixin, View):
    http_method_names = ["post"]
    slug_field = "number"
    slug_url_kwarg = "number"

    def get_queryset(self):
        # Only the customer cancels here (staff use the admin): anyone else gets a 404.
        return Order.objects.filter(user=self.request.user)

    def post(self, request, *args, **kwargs):
        order = self.get_object()
        try:
            order_cancel(order=order, by=request.user)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(
                request, _("Order %(number)s has been cancelled.") % {"number": order.number}
            )
        return HttpResponseRedirect(order.get_absolute_url())
