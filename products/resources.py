"""CSV import and export of products for the admin (django-import-export).

Rows are matched on `sku`. The model save never writes a row's stock: the wanted value is
routed through `products.services.product_stock_set`, so every change an import makes is
recorded as a StockMovement (reason IMPORT, by the staff user who confirmed the import).
"""

from django.core.exceptions import ValidationError
from django.utils.text import slugify
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets

from .models import Category, Product, StockMovement
from .services import product_stock_set


class CategorySlugWidget(widgets.ForeignKeyWidget):
    """A category named by its slug; an unknown slug is a row error, not a crash."""

    def __init__(self):
        super().__init__(Category, field="slug")

    def clean(self, value, row=None, **kwargs):
        try:
            return super().clean(value, row=row, **kwargs)
        except Category.DoesNotExist:
            raise ValueError(_("No category with the slug “%(slug)s”.") % {"slug": value}) from None


class ProductResource(resources.ModelResource):
    category = fields.Field(
        attribute="category", column_name="category", widget=CategorySlugWidget()
    )

    class Meta:
        model = Product
        import_id_fields = ["sku"]
        fields = ["sku", "name", "slug", "category", "price", "stock", "is_active", "description"]
        export_order = fields
        clean_model_instances = True
        use_transactions = True
        skip_unchanged = True
        report_skipped = True

    def get_queryset(self):
        return super().get_queryset().select_related("category")

    def import_instance(self, instance, row, **kwargs):
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if "stock" not in errors and instance.stock is None:
            errors["stock"] = [_("Stock is required.")]
        if not instance.slug and instance.name:
            instance.slug = slugify(instance.name)[:220]
        if errors:
            raise ValidationError(errors)

    def save_instance(self, instance, is_create, row, **kwargs):
        # `instance.stock` holds the value the row asks for; the save itself must not write it.
        wanted = instance.stock
        if is_create:
            instance.stock = 0
        super().save_instance(instance, is_create, row, **kwargs)
        instance.stock = wanted
        if instance.pk is None:  # a dry run without transactions saves nothing
            return
        product_stock_set(
            product_id=instance.pk,
            new_stock=wanted,
            reason=StockMovement.Reason.IMPORT,
            by=kwargs.get("user"),
            note=_("CSV import"),
        )

    def do_instance_save(self, instance, is_create):
        if is_create:
            instance.save(force_insert=True)
        else:
            # Every field but stock: an order placed meanwhile keeps its stock decrease.
            names = [
                f.attname
                for f in instance._meta.concrete_fields
                if not f.primary_key and f.name != "stock"
            ]
            instance.save(update_fields=names)
