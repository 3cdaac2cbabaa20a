"""Full-text and trigram search indexes, on PostgreSQL only.

The indexes live here and not in `Product.Meta.indexes` because SQLite cannot build them:
the operation below changes no model state (so `makemigrations --check` stays clean) and
does nothing on other databases. The search-vector expression must stay identical to
`products.selectors.PRODUCT_SEARCH_VECTOR`, or PostgreSQL will not use the index; a
PostgreSQL test checks the plan.
"""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.operations import TrigramExtension
from django.contrib.postgres.search import SearchVector
from django.db import migrations
from django.db.models import F


class AddIndexOnPostgres(migrations.operations.base.Operation):
    """Create an index on PostgreSQL; a no-op elsewhere and invisible to the model state."""

    reversible = True

    def __init__(self, model_name, index):
        self.model_name = model_name
        self.index = index

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            model = to_state.apps.get_model(app_label, self.model_name)
            schema_editor.add_index(model, self.index)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            model = from_state.apps.get_model(app_label, self.model_name)
            schema_editor.remove_index(model, self.index)

    def describe(self):
        return f"Create index {self.index.name} on {self.model_name} (PostgreSQL only)"

    def deconstruct(self):
        return (
            self.__class__.__qualname__,
            [],
            {"model_name": self.model_name, "index": self.index},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("products", "0002_image_thumbnails_and_alt_text"),
    ]

    operations = [
        # CreateExtension already skips databases other than PostgreSQL.
        TrigramExtension(),
        AddIndexOnPostgres(
            "product",
            GinIndex(
                SearchVector("name", weight="A", config="english")
                + SearchVector("sku", weight="A", config="english")
                + SearchVector("description", weight="B", config="english"),
                name="products_search_vector_gin",
            ),
        ),
        AddIndexOnPostgres(
            "product",
            GinIndex(OpClass(F("name"), name="gin_trgm_ops"), name="products_name_trgm_gin"),
        ),
    ]
