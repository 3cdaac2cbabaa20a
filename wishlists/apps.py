from django.apps import AppConfig


class WishlistsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "wishlists"
