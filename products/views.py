from django.conf import settings
from django.contrib.auth.mixins import AccessMixin
from django.http import Http404, HttpResponseRedirect
from django.views.generic import DetailView, ListView, TemplateView

from .catalogue_cache import CataloguePageCacheMixin, CataloguePaginator
from .forms import ProductFilterForm
from .selectors import (
    category_tree,
    product_detail_queryset,
    product_list_filtered,
    product_list_newest,
    search_forgives_typos,
)

HOME_NEWEST_COUNT = 8
# Deeper categories are indented as much as this level (classes depth-1…6 in shop.css).
CATEGORY_NAV_MAX_INDENT = 6


class CatalogueAccessMixin(AccessMixin):
    """Sends anonymous visitors to sign in when STORE_REQUIRE_LOGIN_TO_BROWSE is on.

    The setting is read per request, so it can change without touching the URLs.
    """

    def dispatch(self, request, *args, **kwargs):
        if settings.STORE_REQUIRE_LOGIN_TO_BROWSE and not request.user.is_authenticated:
            return self.handle_no_permission()
        return super().dispatch(request, *args, **kwargs)


class HomeView(CatalogueAccessMixin, CataloguePageCacheMixin, TemplateView):
    template_name = "products/home.html"

    def get_context_data(self, **kwargs):
        tree = category_tree()
        return super().get_context_data(
            categories=[(root, tree.children_of(root.id)) for root in tree.roots],
            products=product_list_newest(limit=HOME_NEWEST_COUNT),
            **kwargs,
        )


class ProductListView(CatalogueAccessMixin, CataloguePageCacheMixin, ListView):
    """All products, searchable and filterable; the category page narrows it by its URL."""

    template_name = "products/product_list.html"
    context_object_name = "products"
    paginate_by = settings.PRODUCTS_PER_PAGE
    category = None
    # The filter form's fields and the page number: other parameters are never cached.
    page_cache_params = frozenset(ProductFilterForm.base_fields) | {"page"}

    def get_form(self) -> ProductFilterForm:
        return ProductFilterForm(
            self.request.GET, tree=self.tree, show_category=self.category is None
        )

    def get(self, request, *args, **kwargs):
        self.tree = category_tree()  # one cache read per request
        self.canonical_url = None
        response = super().get(request, *args, **kwargs)  # not rendered yet
        if self.canonical_url is not None:
            # `page=abc` or `page=99999` is not a page of its own (nor a new entry in the
            # page cache): the visitor goes to the URL of the page they get.
            return HttpResponseRedirect(self.canonical_url)
        return response

    def page_may_be_stored(self) -> bool:
        # A page showing filter errors is built each time: every distinct wrong value would
        # otherwise be one more stored page.
        return not self.form.errors

    def get_queryset(self):
        self.form = self.get_form()
        filters = self.form.filters()
        if self.category is not None:
            filters["category_id"] = self.category.id
        self.filters = filters
        return product_list_filtered(**filters)

    def get_paginator(self, queryset, per_page, **kwargs):
        # The COUNT and a search's ranking cost more than the rest of the page on a big
        # catalogue: both are cached per filters (and catalogue version).
        cache_key = repr(sorted({**self.filters, "fuzzy": self.fuzzy}.items()))
        return CataloguePaginator(
            queryset, per_page, allow_empty_first_page=True, cache_key=cache_key
        )

    def paginate_queryset(self, queryset, page_size):
        """`page=abc` redirects to the first page and `page=99999` to the last (see `get`).

        A search that matches nothing is tried again forgiving typos, where the database can.
        """
        self.fuzzy = False
        paginator = self.get_paginator(queryset, page_size)
        if self.filters["q"] and search_forgives_typos() and paginator.count == 0:
            self.fuzzy = True
            queryset = product_list_filtered(**self.filters, fuzzy=True)
            paginator = self.get_paginator(queryset, page_size)
        raw = self.request.GET.get(self.page_kwarg)
        if raw is None or not (raw.isascii() and raw.isdigit()):
            number = 1  # abc, -1, 1.5
        elif len(raw) > 12:
            number = paginator.num_pages  # beyond any catalogue
        else:
            number = max(int(raw), 1)
        page = paginator.get_page(number)  # past the end: the last page
        # Any other spelling than the page's own number (02, 0, abc) redirects to it.
        if raw is not None and raw != str(page.number):
            query = self.request.GET.copy()
            if page.number == 1:
                query.pop(self.page_kwarg)
            else:
                query[self.page_kwarg] = str(page.number)
            self.canonical_url = self.request.path + (f"?{query.urlencode()}" if query else "")
        return paginator, page, page.object_list, page.has_other_pages()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = context["page_obj"]
        current_id = self.category.id if self.category else self.filters["category_id"]
        breadcrumb = self.tree.ancestors(current_id) if current_id else []
        # Top-level categories, plus the branches down to (and below) the current one.
        open_ids = {node.id for node in breadcrumb}
        context.update(
            form=self.form,
            category=self.category,
            category_nav=[
                (node, min(depth, CATEGORY_NAV_MAX_INDENT))
                for node, depth in self.tree.walk()
                if node.parent_id is None or node.parent_id in open_ids
            ],
            current_category_id=current_id,
            breadcrumb=breadcrumb,
            querystring=self.form.querystring(),
            canonical_link=self.request.build_absolute_uri(
                f"{self.request.path}?{self.form.canonical_querystring(page=page.number)}"
            ).rstrip("?"),
            search=self.filters["q"],
            fuzzy=self.fuzzy,
            page_range=page.paginator.get_elided_page_range(page.number, on_each_side=2),
        )
        return context


class CategoryView(ProductListView):
    def get_queryset(self):
        self.category = self.tree.get(slug=self.kwargs["slug"])
        if self.category is None:
            raise Http404("No such category.")
        return super().get_queryset()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["subcategories"] = self.tree.children_of(self.category.id)
        return context


class ProductDetailView(CatalogueAccessMixin, CataloguePageCacheMixin, DetailView):
    template_name = "products/product_detail.html"
    context_object_name = "product"

    def get_queryset(self):
        # Shoppers get a 404 for an inactive product; staff may preview it.
        return product_detail_queryset(include_inactive=self.request.user.is_staff)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        product = self.object
        context["images"] = product.prefetched_images()  # loaded with the product
        context["breadcrumb"] = category_tree().ancestors(product.category_id)
        return context
