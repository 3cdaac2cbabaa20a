from django.conf import settings
from django.shortcuts import get_object_or_404
from django.views.generic import DetailView, ListView, TemplateView

from .models import Category, Product


class HomeView(TemplateView):
    template_name = "products/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["categories"] = Category.objects.filter(parent__isnull=True)
        context["products"] = (
            Product.objects.active().select_related("category").order_by("-created_at", "-pk")[:8]
        )
        return context


class ProductListView(ListView):
    template_name = "products/product_list.html"
    context_object_name = "products"
    paginate_by = settings.PRODUCTS_PER_PAGE

    def get_queryset(self):
        return Product.objects.active().select_related("category")


class CategoryView(ProductListView):
    def get_queryset(self):
        self.category = get_object_or_404(Category, slug=self.kwargs["slug"])
        return super().get_queryset().filter(category=self.category)

    def get_context_data(self, **kwargs):
        return super().get_context_data(category=self.category, **kwargs)


class ProductDetailView(DetailView):
    template_name = "products/product_detail.html"
    context_object_name = "product"

    def get_queryset(self):
        return Product.objects.active().select_related("category")
