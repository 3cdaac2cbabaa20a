from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView


class WishlistDetailView(LoginRequiredMixin, TemplateView):
    template_name = "wishlists/wishlist_detail.html"
