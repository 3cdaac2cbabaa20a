from django.views.generic import TemplateView


class CartDetailView(TemplateView):
    template_name = "carts/cart_detail.html"
