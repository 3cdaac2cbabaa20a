from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


def _category_changed(sender, **kwargs):
    from .selectors import category_tree_invalidate

    category_tree_invalidate()


class ProductsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "products"

    def ready(self):
        # The category tree is cached (products.selectors.category_tree); any change drops it.
        category = self.get_model("Category")
        post_save.connect(_category_changed, sender=category, dispatch_uid="category_tree_save")
        post_delete.connect(_category_changed, sender=category, dispatch_uid="category_tree_delete")
