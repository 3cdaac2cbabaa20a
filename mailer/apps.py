from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailerConfig(AppConfig):
    """The e-mail outbox: every message is a row written in its change's transaction."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "mailer"
    verbose_name = _("E-mail outbox")
