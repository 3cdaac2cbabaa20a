import functools
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from PIL import Image

from myecommerce.validators import validate_image_upload

from .images import product_image_files_make, thumbnails_make

# Where `products.selectors.product_images_prefetch` puts a product's images (a list).
DISPLAY_IMAGES_ATTR = "display_images"

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=8192)
def _slug_url(view_name: str, slug: str, prefix: str, urlconf: str | None) -> str:
    return reverse(view_name, kwargs={"slug": slug}, urlconf=urlconf)


def slug_url(view_name: str, slug: str) -> str:
    """`reverse(view_name, kwargs={"slug": slug})`, remembered: a list page links to dozens of
    categories and products, and reversing is a good part of the cost of building it.

    Keyed by the script prefix and URLconf in force, so it answers what reverse() would.
    """
    return _slug_url(view_name, slug, get_script_prefix(), get_urlconf())


def unique_slug(model: type[models.Model], value: str, *, max_length: int, pk=None) -> str:
    """A slug for `value` that no other row of `model` has: `name`, `name-2`, `name-3`, …

    The unique constraint stays the real guard; this only avoids the clash in the first place.
    """
    base = slugify(value)[: max_length - 6].strip("-") or model._meta.model_name
    taken = set(
        model._default_manager.filter(slug__startswith=base)
        .exclude(pk=pk)
        .values_list("slug", flat=True)
    )
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    return slug


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
            self.slug = unique_slug(Category, self.name, max_length=140, pk=self.pk)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return slug_url("products:category", self.slug)

    def clean(self):
        super().clean()
        # Walk up from the chosen parent: meeting ourselves would make a loop in the tree.
        seen = set()
        node = self.parent
        while node is not None and self.pk is not None:
            if node.pk == self.pk:
                raise ValidationError(
                    {"parent": _("A category cannot be inside itself or its own sub-category.")},
                    code="category_cycle",
                )
            if node.pk in seen:
                break
            seen.add(node.pk)
            node = node.parent


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

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = unique_slug(Product, self.name, max_length=220, pk=self.pk)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return slug_url("products:detail", self.slug)

    @property
    def primary_image(self) -> "ProductImage | None":
        """The first image by position; uses prefetched images when the view loaded them."""
        images = self.prefetched_images()
        return images[0] if images else None

    def prefetched_images(self) -> "list[ProductImage]":
        """The images `products.selectors.product_images_prefetch` loaded (a list kept in
        `display_images`), else a query for them.

        A plain attribute: `self.images.all()` builds a related manager and a queryset on
        every call, which costs more than the rest of a product card.
        """
        loaded = getattr(self, DISPLAY_IMAGES_ATTR, None)
        if loaded is None:
            return list(self.images.all())
        return list(loaded)

    @property
    def is_low_stock(self) -> bool:
        return 0 < self.stock <= settings.LOW_STOCK_THRESHOLD

    @property
    def is_available(self) -> bool:
        return self.is_active and self.stock > 0


class ProductImage(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(
        _("image"),
        upload_to="products/%Y/%m/",
        validators=[validate_image_upload],
        help_text=_("JPEG, PNG, GIF or WebP. Thumbnails are made when you save."),
    )
    alt_text = models.CharField(
        _("alt text"),
        max_length=200,
        blank=True,
        help_text=_("Describes the picture for screen readers; the product name when empty."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    # Made from `image` on save (see products.images); pages never send the original to a list.
    thumbnail_list = models.ImageField(
        _("list thumbnail"), upload_to="products/thumbs/%Y/%m/", blank=True, editable=False
    )
    thumbnail_detail = models.ImageField(
        _("detail thumbnail"), upload_to="products/thumbs/%Y/%m/", blank=True, editable=False
    )

    class Meta:
        # product_id, not product: ordering by the relation would join products for its ordering.
        ordering = ["product_id", "position", "pk"]

    def __str__(self) -> str:
        return self.alt_text or f"{self.product} image {self.position}"

    def save(self, *args, **kwargs):
        if self.image and (
            not self.image._committed or not self.thumbnail_list or not self.thumbnail_detail
        ):
            self.thumbnails_refresh()
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {
                    *kwargs["update_fields"],
                    "thumbnail_list",
                    "thumbnail_detail",
                }
        super().save(*args, **kwargs)

    def thumbnails_refresh(self) -> bool:
        """(Re)make both thumbnails from `image`; leaves them empty if it is not an image.

        A new upload is replaced by its re-encoding (see products.images): its own bytes,
        metadata included, are never stored, not even when it cannot be decoded.
        """
        committed = self.image._committed
        original = None
        try:
            # Not `with`: closing a new upload here would lose it before it is stored.
            self.image.open("rb")
            if committed:
                card, detail = thumbnails_make(self.image, stem=self.image.name)
            else:
                original, card, detail = product_image_files_make(self.image, stem="")
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            logger.warning("No thumbnails for product image %r: %s", self.image.name, exc)
            self.thumbnail_list = self.thumbnail_detail = ""
            if not committed:
                self.image.seek(0)
                self.image = ""  # (forms refuse such a file first) its bytes are never kept
            return False
        finally:
            if committed:
                self.image.close()
            elif self.image:
                self.image.seek(0)
        if original is not None:
            self.image.save(original.name, original, save=False)
        self.thumbnail_list.save(card.name, card, save=False)
        self.thumbnail_detail.save(detail.name, detail, save=False)
        return True

    @property
    def alt(self) -> str:
        return self.alt_text or self.product.name


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
