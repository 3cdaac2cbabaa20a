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


@register(Tags.security, deploy=True)
def check_demo_admin_password_is_changed(app_configs, databases=None, **kwargs):
    """`seed_demo` makes a superuser whose password is in the README: never in production."""
    from django.contrib.auth.hashers import check_password
    from django.db import DatabaseError

    from .demo import DEMO_ADMIN
    from .models import User

    try:
        hashes = list(
            User.objects.filter(is_active=True, is_superuser=True).values_list(
                "username", "password"
            )
        )
    except DatabaseError:  # no database yet (before migrate): nothing to check
        return []
    # hashers.check_password, not User.check_password: a check must not re-save any hash.
    weak = sorted(name for name, hashed in hashes if check_password(DEMO_ADMIN["password"], hashed))
    if not weak:
        return []
    return [
        Warning(
            f"The demo password still signs in the superuser(s) {', '.join(weak)}: anyone who "
            "has read the README can administer the shop.",
            hint="Change it: manage.py changepassword <username> (or block the account).",
            id="accounts.W002",
        )
    ]
