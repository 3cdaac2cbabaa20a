from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "email_verified", "is_active", "is_staff", "date_joined"]
    fieldsets = DjangoUserAdmin.fieldsets + (
        ("Shop", {"fields": ("email_verified", "phone", "avatar")}),
        (
            "Default address",
            {"fields": ("address_line1", "address_line2", "city", "postal_code", "country")},
        ),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "email", "password1", "password2")}),
    )
