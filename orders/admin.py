from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import Order, OrderItem, OrderStatusChange
from .services import order_set_status


class OrderItemInline(admin.TabularInline):
    """The lines as bought: copies of name, sku and price, never edited afterwards."""

    model = OrderItem
    extra = 0
    fields = ["product", "product_name", "product_sku", "unit_price", "quantity", "line_total"]
    readonly_fields = fields
    can_delete = False

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
    list_display = [
        "number",
        "customer_name",
        "customer_email",
        "status",
        "payment_method",
        "total_display",
        "created_at",
    ]
    list_filter = ["status", "created_at", "payment_method"]
    search_fields = ["number", "customer_email", "customer_name"]
    date_hierarchy = "created_at"
    list_per_page = 50
    inlines = [OrderItemInline, OrderStatusChangeInline]
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
        (_("Totals"), {"fields": ["subtotal", "shipping_cost", "total", "currency"]}),
        (
            _("Shipping address"),
            {
                "fields": [
                    "shipping_full_name",
                    "shipping_address_line1",
                    "shipping_address_line2",
                    "shipping_city",
                    "shipping_postal_code",
                    "shipping_country",
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
                    "billing_country",
                ]
            },
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        # Everything on an order is a copy made at checkout; the status moves only through
        # the actions, which go through orders.services.order_set_status.
        return [name for _title, options in self.fieldsets for name in options["fields"]]

    @admin.display(description=_("total"), ordering="total")
    def total_display(self, obj: Order) -> str:
        return f"{obj.total} {obj.currency}"

    def has_add_permission(self, request):
        # Orders are placed at checkout, never typed in.
        return False

    def has_delete_permission(self, request, obj=None):
        # An order is a record of a sale: cancel it (which restocks) instead.
        return False

    @admin.action(description=_("Mark selected orders as paid"), permissions=["change"])
    def mark_paid(self, request, queryset):
        self._set_status(request, queryset, Order.Status.PAID)

    @admin.action(description=_("Mark selected orders as shipped"), permissions=["change"])
    def mark_shipped(self, request, queryset):
        self._set_status(request, queryset, Order.Status.SHIPPED)

    @admin.action(description=_("Mark selected orders as delivered"), permissions=["change"])
    def mark_delivered(self, request, queryset):
        self._set_status(request, queryset, Order.Status.DELIVERED)

    @admin.action(description=_("Mark selected orders as cancelled"), permissions=["change"])
    def mark_cancelled(self, request, queryset):
        self._set_status(request, queryset, Order.Status.CANCELLED)

    def _set_status(self, request, queryset, to_status: str) -> None:
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
