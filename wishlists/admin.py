from django.contrib import admin

from .models import WishlistItem


@admin.register(WishlistItem)
class WishlistItemAdmin(admin.ModelAdmin):
    list_display = ["product", "user", "added_at"]
    list_select_related = ["product", "user"]
    list_filter = ["added_at"]
    search_fields = ["product__name", "product__sku", "user__username", "user__email"]
    readonly_fields = ["user", "product", "added_at"]
    date_hierarchy = "added_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
