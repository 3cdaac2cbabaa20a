"""A stored full-text search vector on PostgreSQL, so searches never recompute to_tsvector.

`products_product.search_vector` is a generated column (PostgreSQL 12+) that PostgreSQL keeps
up to date on every INSERT and UPDATE, bulk_create included, with a GIN index on it. Ranking
reads it instead of calling to_tsvector on every matching row, which is what made searches
slower as the catalogue grew. The expression index of 0003 is replaced by this one.

The column is not a model field (SQLite has no tsvector, and Django never writes it): the
operations change no model state, so `makemigrations --check` stays clean, and do nothing on
other databases. `products.selectors.product_search` reads it by name on PostgreSQL only.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

# Must stay the same text as products.selectors.PRODUCT_SEARCH_VECTOR (weights and config).
VECTOR = (
    "setweight(to_tsvector('english'::regconfig, coalesce(name, '')), 'A')"
    " || setweight(to_tsvector('english'::regconfig, coalesce(sku, '')), 'A')"
    " || setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B')"
)
OLD_INDEX = GinIndex(
    SearchVector("name", weight="A", config="english")
    + SearchVector("sku", weight="A", config="english")
    + SearchVector("description", weight="B", config="english"),
    name="products_search_vector_gin",
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "ALTER TABLE products_product ADD COLUMN search_vector tsvector"
        f" GENERATED ALWAYS AS ({VECTOR}) STORED"
    )
    schema_editor.execute(
        "CREATE INDEX products_search_stored_gin ON products_product USING gin (search_vector)"
    )
    schema_editor.execute("DROP INDEX IF EXISTS products_search_vector_gin")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS products_search_stored_gin")
    schema_editor.execute("ALTER TABLE products_product DROP COLUMN IF EXISTS search_vector")
    schema_editor.add_index(apps.get_model("products", "Product"), OLD_INDEX)


class Migration(migrations.Migration):
    dependencies = [
        ("products", "0003_search_indexes_on_postgresql"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
