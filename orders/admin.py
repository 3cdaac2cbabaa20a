from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import Order, OrderItem, OrderStatusChange
from .services import ALLOWED_TRANSITIONS, order_set_status


def _money(amount, currency: str) -> str:
    return f"{intcomma(amount)} {currency}"


# The changelist action that moves an order to each status.
STATUS_ACTIONS = {
    Order.Status.PAID: "mark_paid",
    Order.Status.SHIPPED: "mark_shipped",
    Order.Status.DELIVERED: "mark_delivered",
    Order.Status.CANCELLED: "mark_cancelled",
}


class OrderItemInline(admin.TabularInline):
    """The lines as bought: copies of name, sku and price, never edited afterwards."""

    model = OrderItem
    extra = 0
    fields = [
        "product",
        "product_name",
        "product_sku",
        "unit_price_display",
        "quantity",
        "line_total_display",
    ]
    readonly_fields = fields
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order", "product")

    @admin.display(description=_("unit price"))
    def unit_price_display(self, obj: OrderItem) -> str:
        return _money(obj.unit_price, obj.order.currency)

    @admin.display(description=_("line total"))
    def line_total_display(self, obj: OrderItem) -> str:
        return _money(obj.line_total, obj.order.currency)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OrderStatusChangeInline(admin.TabularInline):
    model = OrderStatusChange
    extra = 0
    fields = ["created_at", "from_status", "to_status", "changed_by"]
    readonly_fields = fields
    can_delete = False
    verbose_name = _("status change")
    verbose_name_plural = _("status history")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("changed_by")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    # Few, narrow columns: the list fits 1280 px with both sidebars (e-mail under the name).
    list_display = [
        "number",
        "customer",
        "status",
        "payment_method",
        "total_display",
        "placed",
    ]
    list_filter = ["status", "created_at", "payment_method"]
    search_fields = ["number", "customer_email", "customer_name"]
    date_hierarchy = "created_at"
    list_per_page = 50
    inlines = [OrderItemInline, OrderStatusChangeInline]
    change_form_template = "admin/orders/order/change_form.html"
    actions = ["mark_paid", "mark_shipped", "mark_delivered", "mark_cancelled"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "number",
                    "status",
                    "created_at",
                    "updated_at",
                    "user",
                    "customer_name",
                    "customer_email",
                    "payment_method",
                ]
            },
        ),
        (_("Totals"), {"fields": ["subtotal_display", "shipping_display", "total_display"]}),
        (
            _("Shipping address"),
            {
                "fields": [
                    "shipping_full_name",
                    "shipping_address_line1",
                    "shipping_address_line2",
                    "shipping_city",
                    "shipping_postal_code",
                    "shipping_country_display",
                    "shipping_phone",
                ]
            },
        ),
        (
            _("Billing address"),
            {
                "fields": [
                    "billing_full_name",
                    "billing_address_line1",
                    "billing_address_line2",
                    "billing_city",
                    "billing_postal_code",
                    "billing_country_display",
                ]
            },
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        # Everything on an order is a copy made at checkout; the status moves only through
        # the actions, which go through orders.services.order_set_status.
        return [name for _title, options in self.fieldsets for name in options["fields"]]

    @admin.display(description=_("customer"), ordering="customer_name")
    def customer(self, obj: Order) -> str:
        return format_html(
            '{}<span class="list-second-line">{}</span>', obj.customer_name, obj.customer_email
        )

    @admin.display(description=_("placed"), ordering="created_at")
    def placed(self, obj: Order) -> str:
        return date_format(timezone.localtime(obj.created_at), "SHORT_DATETIME_FORMAT")

    # Amounts as the shop shows them (1,418.45 USD) and countries by name, not code.
    @admin.display(description=_("total"), ordering="total")
    def total_display(self, obj: Order) -> str:
        return _money(obj.total, obj.currency)

    @admin.display(description=_("subtotal"))
    def subtotal_display(self, obj: Order) -> str:
        return _money(obj.subtotal, obj.currency)

    @admin.display(description=_("shipping"))
    def shipping_display(self, obj: Order) -> str:
        return _money(obj.shipping_cost, obj.currency)

    @admin.display(description=_("country"))
    def shipping_country_display(self, obj: Order) -> str:
        return obj.shipping_country_name

    @admin.display(description=_("country"))
    def billing_country_display(self, obj: Order) -> str:
        return obj.billing_country_name

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Buttons for the order's next statuses; they post to the same actions as the list.
        order = self.get_object(request, unquote(object_id))
        buttons = []
        if order is not None and self.has_change_permission(request, order):
            buttons = [
                (STATUS_ACTIONS[status], Order.Status(status).label)
                for status in Order.Status.values
                if status in ALLOWED_TRANSITIONS.get(order.status, ())
            ]
        context = {
            "status_buttons": buttons,
            # Every field is a read-only copy: there is nothing to save on this page.
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra_context=context)

    def has_add_permission(self, request):
        # Orders are placed at checkout, never typed in.
        return False

    def has_delete_permission(self, request, obj=None):
        # An order is a record of a sale: cancel it (which restocks) instead.
        return False

    @admin.action(description=_("Mark selected orders as paid"), permissions=["change"])
    def mark_paid(self, request, queryset):
        return self._set_status(request, queryset, Order.Status.PAID)

    @admin.action(description=_("Mark selected orders as shipped"), permissions=["change"])
    def mark_shipped(self, request, queryset):
        return self._set_status(request, queryset, Order.Status.SHIPPED)

    @admin.action(description=_("Mark selected orders as delivered"), permissions=["change"])
    def mark_delivered(self, request, queryset):
        return self._set_status(request, queryset, Order.Status.DELIVERED)

    @admin.action(description=_("Mark selected orders as cancelled"), permissions=["change"])
    def mark_cancelled(self, request, queryset):
        return self._set_status(request, queryset, Order.Status.CANCELLED)

    def _set_status(self, request, queryset, to_status: str):
        changed = 0
        for order in queryset.order_by("pk"):
            try:
                order_set_status(order=order, to_status=to_status, by=request.user)
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
            else:
                changed += 1
        if changed:
            self.message_user(
                request,
                ngettext(
                    "%(count)d order marked as %(status)s; the customer was e-mailed.",
                    "%(count)d orders marked as %(status)s; the customers were e-mailed.",
                    changed,
                )
                % {"count": changed, "status": Order.Status(to_status).label.lower()},
                messages.SUCCESS,
            )
        if request.POST.get("_from_order") and queryset.count() == 1:
            order = queryset.get()
            return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
        return None
