from django.contrib.admin.apps import AdminConfig


class ShopAdminConfig(AdminConfig):
    """django.contrib.admin with our AdminSite as `admin.site`, so every app's
    `@admin.register` lands on the site whose index is the shop's dashboard."""

    default_site = "myecommerce.admin.ShopAdminSite"
