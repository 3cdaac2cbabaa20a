from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import CharField, Count, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, NullIf
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from import_export.admin import ImportExportModelAdmin

from .models import Category, Product, ProductImage, StockMovement
from .resources import (
    ImportFileRefused,
    ProductCSV,
    ProductResource,
    import_result_problems,
    import_template_csv,
)
from .services import product_save_but_stock, product_stock_adjust, product_stock_set

THUMBNAIL_SIZE = 48


# ------------------------------------------------------------------------------
# Categories
# ------------------------------------------------------------------------------
@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "parent", "product_count"]
    list_select_related = ["parent"]
    list_filter = [("parent", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "slug", "parent__name"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(product_count=Count("products"))

    @admin.display(description=_("products"), ordering="product_count")
    def product_count(self, obj: Category) -> int:
        return obj.product_count


# ------------------------------------------------------------------------------
# Products
# ------------------------------------------------------------------------------
class InStockFilter(admin.SimpleListFilter):
    title = _("in stock")
    parameter_name = "in_stock"

    def lookups(self, request, model_admin):
        return [("yes", _("In stock")), ("no", _("Out of stock"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(stock__gt=0)
        if self.value() == "no":
            return queryset.filter(stock=0)
        return queryset


class LowStockFilter(admin.SimpleListFilter):
    title = _("low stock")
    parameter_name = "low_stock"

    def lookups(self, request, model_admin):
        return [("yes", _("Low stock (1–%(n)d left)") % {"n": settings.LOW_STOCK_THRESHOLD})]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(stock__gt=0, stock__lte=settings.LOW_STOCK_THRESHOLD)
        return queryset


class ProductImageInline(admin.StackedInline):
    """Stacked, not tabular: a table of file, text and number inputs was cut off on a phone."""

    model = ProductImage
    extra = 0
    fields = ["preview", "image", "alt_text", "position"]
    readonly_fields = ["preview"]

    @admin.display(description=_("preview"))
    def preview(self, obj: ProductImage) -> str:
        if not obj.pk or not obj.image:
            return "—"
        return format_html(
            '<img src="{}" alt="" width="{}" height="{}" class="admin-thumb">',
            (obj.thumbnail_list or obj.image).url,
            THUMBNAIL_SIZE * 2,
            THUMBNAIL_SIZE * 2,
        )


class RestockForm(forms.Form):
    # The admin's own field classes (widths from admin/css/forms.css), as on a change form.
    quantity = forms.IntegerField(
        label=_("Quantity to add"),
        min_value=1,
        max_value=1_000_000,
        help_text=_("Added to the current stock of every selected product."),
        widget=forms.NumberInput(attrs={"class": "vIntegerField"}),
    )
    note = forms.CharField(
        label=_("Note"),
        max_length=255,
        required=False,
        widget=forms.TextInput(attrs={"class": "vTextField"}),
    )


@admin.register(Product)
class ProductAdmin(ImportExportModelAdmin):
    resource_classes = [ProductResource]
    import_formats = [ProductCSV]
    export_formats = [ProductCSV]
    import_template_name = "admin/products/product/import.html"
    # The SKU under the name: the list fits 1280 px with both sidebars, whatever the SKU.
    list_display = [
        "thumbnail",
        "name_and_sku",
        "category",
        "price",
        "stock",
        "is_active",
        "stock_marker",
    ]
    list_display_links = ["thumbnail", "name_and_sku"]
    list_editable = ["price", "stock"]
    list_select_related = ["category"]
    list_filter = ["category", "is_active", InStockFilter, LowStockFilter]
    search_fields = ["name", "sku"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["stock_history", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "sku", "category", "description"]}),
        (_("Price and stock"), {"fields": ["price", "stock", "stock_history", "is_active"]}),
        (_("Dates"), {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]
    inlines = [ProductImageInline]
    actions = ["restock"]
    list_per_page = 50

    def get_queryset(self, request):
        # The first image's smallest stored file (its list thumbnail, else the original),
        # annotated so the list's thumbnails cost no query per row.
        first_image = ProductImage.objects.filter(product=OuterRef("pk")).order_by("position", "pk")
        smallest = Coalesce(NullIf("thumbnail_list", Value("")), "image", output_field=CharField())
        return (
            super()
            .get_queryset(request)
            .annotate(first_image=Subquery(first_image.values(file=smallest)[:1]))
        )

    @admin.display(description=_("image"))
    def thumbnail(self, obj: Product) -> str:
        name = getattr(obj, "first_image", None)
        if not name:
            return "—"
        return format_html(
            '<img src="{}" alt="" width="{}" height="{}" loading="lazy" class="admin-thumb">',
            default_storage.url(name),
            THUMBNAIL_SIZE,
            THUMBNAIL_SIZE,
        )

    @admin.display(description=_("name / SKU"), ordering="name")
    def name_and_sku(self, obj: Product) -> str:
        return format_html('{}<span class="list-second-line">{}</span>', obj.name, obj.sku)

    @admin.display(description=_("stock level"), ordering="stock")
    def stock_marker(self, obj: Product) -> str:
        if obj.stock == 0:
            return format_html('<strong class="mark-bad">{}</strong>', gettext("Out"))
        if obj.is_low_stock:
            return format_html('<strong class="mark-warn">{}</strong>', gettext("Low"))
        return "—"

    @admin.display(description=_("stock history"))
    def stock_history(self, obj: Product) -> str:
        if not obj.pk:
            return "—"
        url = reverse("admin:products_stockmovement_changelist")
        return format_html(
            '<a href="{}?product__id__exact={}">{}</a>', url, obj.pk, gettext("Stock movements")
        )

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "stock":
            # Compare the submitted stock with the one the page showed, not with the stock
            # at save time: a sale made while the form was open is then not undone.
            field.show_hidden_initial = True
            field.help_text = _("A change is recorded as a stock movement under your name.")
        if db_field.name in ("price", "stock"):
            # A class (static/css/admin.css), not a style attribute: see the CSP.
            classes = field.widget.attrs.get("class", "")
            field.widget.attrs["class"] = f"{classes} admin-number".strip()
        return field

    def save_model(self, request, obj, form, change):
        """Save every field but stock; a stock change goes through the stock service.

        Used by the change form and by the list's editable columns alike, so every
        stock change made in the admin is a StockMovement with the staff user.
        """
        wanted = obj.stock
        with transaction.atomic():
            product_save_but_stock(obj, create=not change)
            if "stock" in form.changed_data or (not change and wanted):
                movement = product_stock_set(
                    product_id=obj.pk,
                    new_stock=wanted,
                    reason=(
                        StockMovement.Reason.ADMIN_EDIT if change else StockMovement.Reason.INITIAL
                    ),
                    by=request.user,
                    note=gettext("Changed in the admin"),
                )
                obj.stock = movement.resulting_stock if movement else wanted

    @admin.action(description=_("Restock selected products"), permissions=["change"])
    def restock(self, request, queryset):
        form = RestockForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            quantity = form.cleaned_data["quantity"]
            note = form.cleaned_data["note"]
            ids = sorted(queryset.values_list("pk", flat=True))
            try:
                with transaction.atomic():
                    for product_id in ids:
                        product_stock_adjust(
                            product_id=product_id,
                            change=quantity,
                            reason=StockMovement.Reason.RESTOCK,
                            by=request.user,
                            note=note,
                        )
            except ValidationError as exc:
                self.message_user(request, "; ".join(exc.messages), messages.ERROR)
                return None
            self.message_user(
                request,
                ngettext(
                    "Added %(quantity)d to the stock of %(count)d product.",
                    "Added %(quantity)d to the stock of %(count)d products.",
                    len(ids),
                )
                % {"quantity": quantity, "count": len(ids)},
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Restock products"),
            "opts": self.opts,
            "form": form,
            "products": queryset.order_by("name", "pk"),
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        return TemplateResponse(request, "admin/products/product/restock.html", context)

    def has_import_permission(self, request):
        return self.has_add_permission(request) and self.has_change_permission(request)

    # CSV import ---------------------------------------------------------------------
    def get_urls(self):
        return [
            path(
                "import/template/",
                self.admin_site.admin_view(self.import_template_view),
                name="products_product_import_template",
            ),
            *super().get_urls(),
        ]

    def import_template_view(self, request):
        """A CSV with the header row an import needs and one example row."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        response = HttpResponse(import_template_csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="products-template.csv"'
        return response

    def import_action(self, request, **kwargs):
        response = super().import_action(request, **kwargs)
        context = getattr(response, "context_data", None)
        if context is not None and context.get("result") is not None:
            # Every problem in words, for all rows at once (not only on hover, not a class name).
            context["import_problems"] = import_result_problems(context["result"])
        return response

    @method_decorator(require_POST)
    def process_import(self, request, **kwargs):
        # The storage refuses a file name it did not make (a forged or stale confirmation)
        # before anything is read or deleted; say so and start again at the upload.
        try:
            return super().process_import(request, **kwargs)
        except ImportFileRefused as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:products_product_import"))

    def has_export_permission(self, request):
        return self.has_view_permission(request)


# ------------------------------------------------------------------------------
# Stock movements: a read-only ledger
# ------------------------------------------------------------------------------
@admin.register(StockMovement)
class StockMovementAdmin(admin.ModelAdmin):
    # Few, narrow columns: the list fits 1280 px with both sidebars (SKU under the product).
    list_display = [
        "when",
        "product_and_sku",
        "signed_change",
        "stock_after",
        "reason",
        "by",
        "note",
    ]
    list_display_links = ["when"]
    list_select_related = ["product", "created_by"]
    list_filter = ["reason", "created_at", ("product__category", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["product__name", "product__sku", "note", "created_by__username"]
    date_hierarchy = "created_at"
    list_per_page = 100

    @admin.display(description=_("when"), ordering="created_at")
    def when(self, obj: StockMovement) -> str:
        return date_format(timezone.localtime(obj.created_at), "SHORT_DATETIME_FORMAT")

    @admin.display(description=_("product"), ordering="product__name")
    def product_and_sku(self, obj: StockMovement) -> str:
        return format_html(
            '{}<span class="list-second-line">{}</span>', obj.product.name, obj.product.sku
        )

    @admin.display(description=_("stock after"), ordering="resulting_stock")
    def stock_after(self, obj: StockMovement) -> int:
        return obj.resulting_stock

    @admin.display(description=_("by"), ordering="created_by__username")
    def by(self, obj: StockMovement) -> str:
        return obj.created_by.username if obj.created_by else "—"

    @admin.display(description=_("change"), ordering="change")
    def signed_change(self, obj: StockMovement) -> str:
        return f"{obj.change:+d}"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
