"""System checks of the accounts app."""

from django.conf import settings
from django.core.checks import Tags, Warning, register

CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"


@register(Tags.security, deploy=True)
def check_email_is_sent_in_production(app_configs, **kwargs):
    """One-time codes travel by e-mail: in production they must reach an inbox, not the log."""
    if settings.DEBUG or settings.EMAIL_BACKEND != CONSOLE_BACKEND:
        return []
    return [
        Warning(
            "E-mail goes to the console: every one-time code would be printed to the log "
            "and no shopper would receive one.",
            hint="Set EMAIL_URL, e.g. smtp+tls://user:password@mail.example.com:587.",
            id="accounts.W001",
        )
    ]
