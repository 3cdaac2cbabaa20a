from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections, models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from phonenumber_field.modelfields import PhoneNumberField

from products.models import Product


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PAID = "paid", _("Paid")
        SHIPPED = "shipped", _("Shipped")
        DELIVERED = "delivered", _("Delivered")
        CANCELLED = "cancelled", _("Cancelled")

    class PaymentMethod(models.TextChoices):
        COD = "cod", _("Cash on delivery")
        BANK_TRANSFER = "bank_transfer", _("Bank transfer")

    # Made from the row id, taken before the insert (ME-000123; see `save`): unique, never reused.
    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orders",
    )
    # Copied in so the order survives the user's deletion.
    customer_name = models.CharField(_("customer name"), max_length=255)
    customer_email = models.EmailField(_("customer e-mail"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    payment_method = models.CharField(
        _("payment method"), max_length=16, choices=PaymentMethod.choices
    )

    shipping_full_name = models.CharField(max_length=255)
    shipping_address_line1 = models.CharField(max_length=255)
    shipping_address_line2 = models.CharField(max_length=255, blank=True)
    shipping_city = models.CharField(max_length=128)
    shipping_postal_code = models.CharField(max_length=32)
    shipping_country = models.CharField(max_length=2)
    shipping_phone = PhoneNumberField(max_length=32, blank=True)

    billing_full_name = models.CharField(max_length=255)
    billing_address_line1 = models.CharField(max_length=255)
    billing_address_line2 = models.CharField(max_length=255, blank=True)
    billing_city = models.CharField(max_length=128)
    billing_postal_code = models.CharField(max_length=32)
    billing_country = models.CharField(max_length=2)

    subtotal = models.DecimalField(_("subtotal"), max_digits=12, decimal_places=2)
    shipping_cost = models.DecimalField(_("shipping"), max_digits=12, decimal_places=2, default=0)
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    # The one-time token of the checkout form that placed this order (double-submit guard).
    checkout_token = models.CharField(max_length=64, unique=True, null=True, blank=True)

    created_at = models.DateTimeField(_("placed"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="orders_order_total_gte_0"),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="orders_user_newest_idx"),
            models.Index(fields=["status", "-created_at"], name="orders_status_newest_idx"),
        ]

    def __str__(self) -> str:
        return self.number

    def save(self, *args, **kwargs):
        if not self.number:
            # The id is taken first, so the row is inserted once, already numbered.
            if self.pk is None:
                self.pk = _next_order_id(using=kwargs.get("using") or "default")
            self.number = order_number_for(self.pk)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("orders:detail", kwargs={"number": self.number})

    @property
    def shipping_country_name(self) -> str:
        return countries.name(self.shipping_country) or self.shipping_country

    @property
    def billing_country_name(self) -> str:
        return countries.name(self.billing_country) or self.billing_country

    @property
    def is_pending(self) -> bool:
        """Only a pending order may be cancelled by its customer."""
        return self.status == self.Status.PENDING

    @property
    def is_bank_transfer(self) -> bool:
        return self.payment_method == self.PaymentMethod.BANK_TRANSFER

    @property
    def awaits_bank_transfer(self) -> bool:
        """A bank-transfer order whose money is still to come: only then show how to pay."""
        return self.is_bank_transfer and self.is_pending

    @property
    def payment_due_at(self) -> datetime | None:
        """When an unpaid bank-transfer order is cancelled (`manage.py orders_expire`)."""
        if not self.is_bank_transfer:
            return None  # cash on delivery is paid at the door; it never expires
        return self.created_at + timedelta(days=settings.BANK_TRANSFER_TIMEOUT_DAYS)


def order_number_for(pk: int) -> str:
    return f"ME-{pk:06d}"


def _next_order_id(*, using: str) -> int:
    """The id the next order row gets, taken before its insert.

    PostgreSQL: from the id column's own sequence (never handed out twice, no lock). SQLite:
    one past the highest id ever given (AUTOINCREMENT's counter; ids are never reused), which
    is safe because SQLite writes one transaction at a time (IMMEDIATE transactions here).
    """
    table = Order._meta.db_table
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [table])
            return cursor.fetchone()[0]
        quoted = connection.ops.quote_name(table)  # a model's table name, not input
        sql = "SELECT MAX(n) FROM (SELECT seq AS n FROM sqlite_sequence WHERE name = %s UNION ALL "
        sql += f"SELECT COALESCE(MAX(id), 0) FROM {quoted})"  # noqa: S608
        cursor.execute(sql, [table])
        return cursor.fetchone()[0] + 1


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(
        Product,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="order_items",
    )
    product_name = models.CharField(max_length=200)
    product_sku = models.CharField(max_length=64)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField()
    line_total = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["order", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="orders_orderitem_quantity_gte_1"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="orders_orderitem_unit_price_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_name}"


class OrderStatusChange(models.Model):
    """The order's status history, shown on the order page."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=16, choices=Order.Status.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=Order.Status.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="order_status_changes",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["order", "created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.order}: {self.from_status or '—'} → {self.to_status}"
