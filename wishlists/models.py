from django.conf import settings
from django.db import models
from django.utils import timezone

from products.models import Product


class WishlistItem(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wishlist_items"
    )
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="wishlist_items")
    added_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-added_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "product"], name="wishlists_wishlistitem_unique_user_product"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product} in {self.user}'s wishlist"
