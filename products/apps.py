from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.utils.autoreload import autoreload_started, file_changed


def _category_changed(sender, **kwargs):
    from .selectors import category_tree_invalidate

    category_tree_invalidate()


def _catalogue_changed(sender, **kwargs):
    from .catalogue_cache import catalogue_version_bump

    catalogue_version_bump()


def _code_changed(sender, **kwargs) -> None:
    # Returns None: runserver still restarts (or reloads templates) as usual.
    _catalogue_changed(sender)


def _image_deleted(sender, instance, **kwargs):
    from django.db import transaction

    from .images import product_image_files_delete

    # After commit: a rolled-back delete keeps its files.
    transaction.on_commit(lambda: product_image_files_delete(instance))


class ProductsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "products"

    def ready(self):
        # The category tree is cached (products.selectors.category_tree); any change drops it.
        category = self.get_model("Category")
        post_save.connect(_category_changed, sender=category, dispatch_uid="category_tree_save")
        post_delete.connect(_category_changed, sender=category, dispatch_uid="category_tree_delete")
        # Cached pages and counts (products.catalogue_cache) go stale on any catalogue change.
        # Writes without signals (stock updates, bulk loads) bump the version themselves.
        for name in ("Category", "Product", "ProductImage"):
            model = self.get_model(name)
            post_save.connect(
                _catalogue_changed, sender=model, dispatch_uid=f"catalogue_version_save_{name}"
            )
            post_delete.connect(
                _catalogue_changed, sender=model, dispatch_uid=f"catalogue_version_delete_{name}"
            )
        # A deleted image takes its original and thumbnails with it (disk or bucket).
        post_delete.connect(
            _image_deleted, sender=self.get_model("ProductImage"), dispatch_uid="image_files"
        )
        # Development: the default cache (files shared by every process) outlives runserver's
        # restarts, so pages built from old code or templates go stale when runserver starts
        # and whenever a watched file (code, template) changes.
        if settings.DEBUG:
            autoreload_started.connect(_code_changed, dispatch_uid="catalogue_version_start")
            file_changed.connect(_code_changed, dispatch_uid="catalogue_version_file")
