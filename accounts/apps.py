from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from . import checks  # noqa: F401 - registers the system checks
        from .lockout import reset_on_login

        user_logged_in.connect(reset_on_login, dispatch_uid="accounts.lockout.reset_on_login")
