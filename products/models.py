from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _


class Category(models.Model):
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=140, unique=True)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent"),
    )

    class Meta:
        ordering = ["name", "pk"]
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name)[:140]
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("products:category", kwargs={"slug": self.slug})


class ProductQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def in_stock(self):
        return self.filter(stock__gt=0)


class Product(models.Model):
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=220, unique=True)
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    description = models.TextField(_("description"), blank=True)
    price = models.DecimalField(_("price"), max_digits=10, decimal_places=2)
    category = models.ForeignKey(
        Category,
        on_delete=models.PROTECT,
        related_name="products",
        verbose_name=_("category"),
    )
    stock = models.PositiveIntegerField(_("stock"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="products_product_price_gte_0"),
            models.CheckConstraint(condition=Q(stock__gte=0), name="products_product_stock_gte_0"),
        ]
        indexes = [
            models.Index(fields=["is_active", "name", "id"], name="products_active_name_idx"),
            models.Index(fields=["is_active", "price", "id"], name="products_active_price_idx"),
            models.Index(
                fields=["is_active", "-created_at", "-id"], name="products_active_newest_idx"
            ),
            models.Index(
                fields=["category", "is_active", "name"], name="products_category_active_idx"
            ),
            models.Index(fields=["stock"], name="products_stock_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("products:detail", kwargs={"slug": self.slug})

    @property
    def is_low_stock(self) -> bool:
        return 0 < self.stock <= settings.LOW_STOCK_THRESHOLD

    @property
    def is_available(self) -> bool:
        return self.is_active and self.stock > 0


class ProductImage(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(_("image"), upload_to="products/%Y/%m/")
    alt_text = models.CharField(_("alt text"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["product", "position", "pk"]

    def __str__(self) -> str:
        return self.alt_text or f"{self.product} image {self.position}"


class StockMovement(models.Model):
    """One row per change of a product's stock, with who made it and why."""

    class Reason(models.TextChoices):
        ADMIN_EDIT = "admin_edit", _("Admin edit")
        RESTOCK = "restock", _("Restock")
        IMPORT = "import", _("Import")
        ORDER_PLACED = "order_placed", _("Order placed")
        ORDER_CANCELLED = "order_cancelled", _("Order cancelled")
        INITIAL = "initial", _("Initial stock")

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="stock_movements")
    change = models.IntegerField(_("change"))
    reason = models.CharField(_("reason"), max_length=32, choices=Reason.choices)
    note = models.CharField(_("note"), max_length=255, blank=True)
    resulting_stock = models.PositiveIntegerField(_("resulting stock"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="stock_movements",
    )
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.product}: {self.change:+d} ({self.get_reason_display()})"
