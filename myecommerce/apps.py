from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class ShopAdminConfig(AdminConfig):
    """django.contrib.admin with our AdminSite as `admin.site`, so every app's
    `@admin.register` lands on the site whose index is the shop's dashboard."""

    default_site = "myecommerce.admin.ShopAdminSite"


class KernelConfig(AppConfig):
    """The project package as an app, so it registers its own checks (the deployment's)."""

    name = "myecommerce"
    verbose_name = "myecommerce"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the deployment checks
