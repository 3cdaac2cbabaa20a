"""CSV import and export of products for the admin (django-import-export).

Rows are matched on `sku`. The model save never writes a row's stock: the wanted value is
routed through `products.services.product_stock_set`, so every change an import makes is
recorded as a StockMovement (reason IMPORT, by the staff user who confirmed the import).

Also here: the cell widgets that say in words what is wrong with a value, the CSV format that
keeps exported cells from running as spreadsheet formulae, and the storage that keeps an
uploaded file between the preview and the confirmation under a name only it can make.
"""

import re
from decimal import Decimal, InvalidOperation
from uuid import uuid4

import tablib
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.html import format_html
from django.utils.text import slugify
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets
from import_export.formats.base_formats import CSV
from import_export.resources import Diff
from import_export.tmp_storages import BaseStorage

from .models import Category, Product, StockMovement
from .services import product_save_but_stock, product_stock_set

# A cell that starts with one of these is run as a formula by spreadsheet programs.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# One example row for the template file that the import page offers.
TEMPLATE_EXAMPLE = {
    "sku": "EX-0001",
    "name": "Example kettle",
    "slug": "example-kettle",
    "price": "49.99",
    "stock": "10",
    "is_active": "1",
    "description": "One line about the product.",
}


# ------------------------------------------------------------------------------
# Cells: a value that is not what its column needs is a row error that says so
# ------------------------------------------------------------------------------
class PriceWidget(widgets.DecimalWidget):
    def clean(self, value, row=None, **kwargs):
        if self.is_empty(value):
            raise ValueError(_("Empty: write a price such as 49.99."))
        try:
            number = super().clean(value, row=row, **kwargs)
        except (InvalidOperation, ValueError, TypeError):
            number = Decimal("NaN")
        if number is not None and not number.is_finite():
            raise ValueError(_("“%(value)s” is not a number.") % {"value": value})
        return number


class StockWidget(widgets.IntegerWidget):
    def clean(self, value, row=None, **kwargs):
        if self.is_empty(value):
            return None
        text = str(value).strip()
        if not re.fullmatch(r"[+-]?[0-9]{1,9}", text):
            raise ValueError(_("“%(value)s” is not a whole number.") % {"value": value})
        return int(text)


class ActiveWidget(widgets.BooleanWidget):
    YES = {"1", "true", "yes"}
    NO = {"0", "false", "no"}

    def clean(self, value, row=None, **kwargs):
        text = str(value if value is not None else "").strip().lower()
        if text in self.YES:
            return True
        if text in self.NO:
            return False
        if not text:
            raise ValueError(_("Empty: write 1 (on sale) or 0 (hidden)."))
        raise ValueError(_("“%(value)s” is not 1 or 0 (yes or no).") % {"value": value})


class CategorySlugWidget(widgets.ForeignKeyWidget):
    """A category named by its slug; an unknown slug is a row error, not a crash."""

    def __init__(self):
        super().__init__(Category, field="slug")

    def clean(self, value, row=None, **kwargs):
        if value is None or not str(value).strip():
            raise ValueError(_("Empty: write the slug of a category."))
        try:
            return super().clean(value, row=row, **kwargs)
        except Category.DoesNotExist:
            raise ValueError(_("No category with the slug “%(slug)s”.") % {"slug": value}) from None


class ProductDiff(Diff):
    """The preview's cells as whole old and new values, marked with classes.

    django-import-export's own diff interleaves inserted and deleted characters with inline
    styles, which the Content-Security-Policy refuses: 49.99 → 44.99 then reads "494.99".
    Here a changed cell shows the old value struck through, an arrow, and the new value
    (styled by static/css/admin.css).
    """

    def as_html(self):
        cells = []
        for old, new in zip(self.left, self.right, strict=False):
            old, new = str(old if old is not None else ""), str(new if new is not None else "")
            if self.new:
                cells.append(format_html('<ins class="import-new">{}</ins>', new) if new else "")
            elif old == new:
                cells.append(format_html("{}", new))
            else:
                cells.append(
                    format_html(
                        '<del class="import-old">{}</del> <span class="import-arrow">→</span> '
                        '<ins class="import-new">{}</ins>',
                        old or _("(empty)"),
                        new or _("(empty)"),
                    )
                )
        return cells


class ProductResource(resources.ModelResource):
    category = fields.Field(
        attribute="category", column_name="category", widget=CategorySlugWidget()
    )
    price = fields.Field(attribute="price", column_name="price", widget=PriceWidget())
    stock = fields.Field(attribute="stock", column_name="stock", widget=StockWidget())
    is_active = fields.Field(attribute="is_active", column_name="is_active", widget=ActiveWidget())

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

    def get_diff_class(self):
        return ProductDiff

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
        super().save_instance(instance, is_create, row, **kwargs)
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
        product_save_but_stock(instance, create=is_create)


def import_result_problems(result) -> list[str]:
    """Every problem of an import, in words, one line each, all rows at once, in file order.

    "Row 2, price: “abc” is not a number." Rows are counted from the first row under the header.
    """
    column_order = {name: i for i, name in enumerate(result.diff_headers)}
    found: list[tuple[int, int, str]] = []
    for error in result.base_errors:
        found.append((0, 0, str(error.error)))
    for number, errors in result.row_errors():
        for error in errors:
            found.append(
                (
                    number,
                    -1,
                    _("Row %(row)d: %(error)s")
                    % {
                        "row": number,
                        "error": error.error,
                    },
                )
            )
    for row in result.invalid_rows:
        for name, messages in row.error_dict.items():
            for message in messages:
                if name == NON_FIELD_ERRORS:
                    text = _("Row %(row)d: %(error)s") % {"row": row.number, "error": message}
                else:
                    text = _("Row %(row)d, %(column)s: %(error)s") % {
                        "row": row.number,
                        "column": name,
                        "error": message,
                    }
                found.append((row.number, column_order.get(name, len(column_order)), text))
    return [text for _number, _column, text in sorted(found, key=lambda f: (f[0], f[1]))]


def import_template_csv() -> str:
    """The header row an import needs and one example row (with a real category if any)."""
    resource = ProductResource()
    headers = [f.column_name for f in resource.get_import_fields()]
    category = Category.objects.order_by("pk").values_list("slug", flat=True).first()
    example = {**TEMPLATE_EXAMPLE, "category": category or "kitchen"}
    dataset = tablib.Dataset(headers=headers)
    dataset.append([example.get(name, "") for name in headers])
    return ProductCSV().export_data(dataset)


# ------------------------------------------------------------------------------
# The file format: no formulae out, and the escape taken off again on the way in
# ------------------------------------------------------------------------------
def formula_escape(cell):
    """'=1+1 for =1+1: a spreadsheet shows the text instead of running it (OWASP's advice)."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def formula_unescape(cell):
    """The inverse of formula_escape, so an exported file imports back unchanged."""
    if isinstance(cell, str) and cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


class ProductCSV(CSV):
    """CSV whose exported cells never start a formula (=, +, -, @, tab, carriage return)."""

    def export_data(self, dataset, **kwargs):
        escaped = tablib.Dataset(headers=dataset.headers)
        for row in dataset:
            escaped.append([formula_escape(cell) for cell in row])
        return escaped.export(self.get_title(), **kwargs)

    def create_dataset(self, in_stream, **kwargs):
        dataset = super().create_dataset(in_stream, **kwargs)
        unescaped = tablib.Dataset(headers=dataset.headers)
        for row in dataset:
            unescaped.append([formula_unescape(cell) for cell in row])
        return unescaped


# ------------------------------------------------------------------------------
# Between preview and confirmation: a file kept under a name only this storage makes
# ------------------------------------------------------------------------------
class ImportFileRefused(Exception):
    """A confirmation named a file this storage did not make, or one it no longer keeps."""


class ImportFileStorage(BaseStorage):
    """django-import-export's temporary storage (IMPORT_EXPORT_TMP_STORAGE_CLASS).

    The confirmation form carries the file's name back, so the name is input: the storage
    makes every name itself (a random key, signed with the secret key) and refuses any other,
    before anything is read or deleted. The file is kept in the cache, never on a path, so no
    name can reach the file system, and every app server behind a load balancer sees it.
    """

    CACHE_PREFIX = "products-import-file-"
    CACHE_SECONDS = 60 * 60
    SALT = "products.resources.ImportFileStorage"
    KEY = re.compile(r"[0-9a-f]{32}")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.key = None if self.name is None else self.key_from_name(self.name)

    @classmethod
    def key_from_name(cls, name: str) -> str:
        try:
            key = signing.Signer(salt=cls.SALT).unsign(str(name))
        except signing.BadSignature:
            key = ""
        if not cls.KEY.fullmatch(key):
            raise ImportFileRefused(
                _("This is not a file uploaded for import here. Upload the file again.")
            )
        return key

    def save(self, data):
        if self.key is None:
            self.key = uuid4().hex
            self.name = signing.Signer(salt=self.SALT).sign(self.key)
        cache.set(self.CACHE_PREFIX + self.key, data, self.CACHE_SECONDS)

    def read(self):
        data = cache.get(self.CACHE_PREFIX + self.key)
        if data is None:
            raise ImportFileRefused(
                _("The uploaded file is no longer kept (after an hour). Upload it again.")
            )
        return data

    def remove(self):
        cache.delete(self.CACHE_PREFIX + self.key)
