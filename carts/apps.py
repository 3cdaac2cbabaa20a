from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CartsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "carts"
    verbose_name = _("Carts")

    def ready(self) -> None:
        # accounts knows nothing of carts: the cart listens for Django's own sign-in signal.
        from django.contrib.auth.signals import user_logged_in

        from .signals import merge_session_cart_on_login

        user_logged_in.connect(merge_session_cart_on_login, dispatch_uid="carts_merge_on_login")
