"""Catalogue reads: the category tree, product lists with filters and search, product pages.

Every page reads a fixed number of rows whatever the size of the catalogue: the category tree
comes from the cache (one small query after a change), a product page is one query for the
products and one for their images.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVector,
    SearchVectorField,
    TrigramWordSimilarity,
)
from django.core.cache import cache
from django.db import connection
from django.db.models import Case, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL

from .catalogue_cache import cache_safety_net_seconds, now_and_after_commit
from .models import DISPLAY_IMAGES_ATTR, Category, Product, ProductImage, slug_url

CATEGORY_TREE_CACHE_KEY = "products:category-tree:v1"

# The text PostgreSQL searches: names and SKUs weigh more than descriptions. On PostgreSQL it
# is stored in the generated column `search_vector` (migration 0004, same expression), which
# searches read instead of computing this.
PRODUCT_SEARCH_CONFIG = "english"
PRODUCT_SEARCH_VECTOR = (
    SearchVector("name", weight="A", config=PRODUCT_SEARCH_CONFIG)
    + SearchVector("sku", weight="A", config=PRODUCT_SEARCH_CONFIG)
    + SearchVector("description", weight="B", config=PRODUCT_SEARCH_CONFIG)
)


def product_search_vector_column() -> RawSQL:
    """The stored vector (PostgreSQL only): not a model field, as SQLite has no tsvector."""
    table = connection.ops.quote_name(Product._meta.db_table)
    # A constant column name, no input from anyone.
    return RawSQL(f'{table}."search_vector"', [], output_field=SearchVectorField())  # noqa: S611


SEARCH_MAX_TERMS = 10
SEARCH_MAX_LENGTH = 200

SORT_ORDERINGS = {
    "price": ("price", "id"),
    "-price": ("-price", "-id"),
    "name": ("name", "id"),
    "newest": ("-created_at", "-id"),
}


# ------------------------------------------------------------------------------
# Category tree
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class CategoryNode:
    """A category as the pages need it: plain data, cheap to cache and to pickle."""

    id: int
    name: str
    slug: str
    parent_id: int | None

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return slug_url("products:category", self.slug)


@dataclass
class CategoryTree:
    nodes: dict[int, CategoryNode] = field(default_factory=dict)
    children: dict[int | None, list[int]] = field(default_factory=dict)
    by_slug: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(cls, rows) -> CategoryTree:
        tree = cls()
        for row in rows:  # already ordered by name
            node = CategoryNode(*row)
            tree.nodes[node.id] = node
            tree.by_slug[node.slug] = node.id
        for node in tree.nodes.values():
            # A parent outside the tree cannot happen with PROTECT, but never lose a node.
            parent = node.parent_id if node.parent_id in tree.nodes else None
            tree.children.setdefault(parent, []).append(node.id)
        return tree

    @property
    def roots(self) -> list[CategoryNode]:
        return [self.nodes[i] for i in self.children.get(None, [])]

    def get(self, *, slug: str) -> CategoryNode | None:
        node_id = self.by_slug.get(slug)
        return self.nodes[node_id] if node_id is not None else None

    def children_of(self, category_id: int) -> list[CategoryNode]:
        return [self.nodes[i] for i in self.children.get(category_id, [])]

    def ancestors(self, category_id: int) -> list[CategoryNode]:
        """From the root down to, and including, the category itself."""
        chain: list[CategoryNode] = []
        node = self.nodes.get(category_id)
        while node is not None and node not in chain:  # `not in`: survive a bad loop
            chain.append(node)
            node = self.nodes.get(node.parent_id) if node.parent_id is not None else None
        return chain[::-1]

    def descendant_ids(self, category_id: int) -> list[int]:
        """The category and every category below it."""
        if category_id not in self.nodes:
            return []
        found, stack = [], [category_id]
        seen = set()
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            found.append(current)
            stack.extend(self.children.get(current, []))
        return found

    def walk(self) -> Iterator[tuple[CategoryNode, int]]:
        """Every category depth-first, with its depth (0 for a top-level one)."""
        seen = set()
        stack = [(i, 0) for i in reversed(self.children.get(None, []))]
        while stack:
            node_id, depth = stack.pop()
            if node_id in seen:
                continue
            seen.add(node_id)
            yield self.nodes[node_id], depth
            stack.extend((i, depth + 1) for i in reversed(self.children.get(node_id, [])))


def category_tree() -> CategoryTree:
    """The whole category tree, from the cache; one query to rebuild it after a change."""
    tree = cache.get(CATEGORY_TREE_CACHE_KEY)
    if tree is None:
        rows = Category.objects.order_by("name", "pk").values_list(
            "id", "name", "slug", "parent_id"
        )
        tree = CategoryTree.build(rows)
        cache.set(CATEGORY_TREE_CACHE_KEY, tree, cache_safety_net_seconds())
    return tree


def category_tree_invalidate() -> None:
    """Forget the cached tree, now and (in a transaction) after commit; called on every
    Category save/delete (see products.apps).

    Code that writes categories without signals (bulk_create, update) must call it itself.
    """
    now_and_after_commit(_category_tree_forget)


def _category_tree_forget() -> None:
    cache.delete(CATEGORY_TREE_CACHE_KEY)


def category_descendant_ids(*, category_id: int) -> list[int]:
    return category_tree().descendant_ids(category_id)


def category_ancestors(*, category_id: int) -> list[CategoryNode]:
    return category_tree().ancestors(category_id)


# ------------------------------------------------------------------------------
# Products
# ------------------------------------------------------------------------------
def product_images_prefetch(lookup: str = "images") -> Prefetch:
    """Images in display order, without the originals' product rows joined in, as the list
    `Product.prefetched_images()` reads (`lookup` may go through a relation, e.g.
    "product__images")."""
    return Prefetch(
        lookup,
        queryset=ProductImage.objects.order_by("position", "pk"),
        to_attr=DISPLAY_IMAGES_ATTR,
    )


def product_list_base() -> QuerySet[Product]:
    """Active products for cards: category and images loaded, the long description not."""
    return (
        Product.objects.active()
        .defer("description")
        .select_related("category")
        .prefetch_related(product_images_prefetch())
    )


def search_terms(q: str) -> list[str]:
    return q[:SEARCH_MAX_LENGTH].split()[:SEARCH_MAX_TERMS]


def search_forgives_typos() -> bool:
    return connection.vendor == "postgresql"


def product_search(
    queryset: QuerySet[Product], *, q: str, fuzzy: bool = False
) -> QuerySet[Product]:
    """Products matching `q`, annotated with `relevance` (higher first).

    The contract on every database: each word of `q` must match the name, SKU or description,
    and name matches rank above description-only matches. PostgreSQL adds stemming ("kettles"
    finds "kettle") through a full-text GIN index, and with `fuzzy=True` (the list page's
    second try when nothing matched) typo tolerance through trigram similarity on the name.
    The two are separate queries on purpose: OR-ing them makes PostgreSQL recheck every
    trigram candidate against the whole text vector, several times slower on a big catalogue.
    """
    terms = search_terms(q)
    if not terms:
        return queryset.annotate(relevance=Value(0.0))
    text = " ".join(terms)
    if connection.vendor == "postgresql":
        if fuzzy:
            return queryset.filter(name__trigram_word_similar=text).annotate(
                relevance=TrigramWordSimilarity(text, "name")
            )
        query = SearchQuery(text, search_type="websearch", config=PRODUCT_SEARCH_CONFIG)
        # Matched and ranked on the stored vector (GIN-indexed), so no row's text is parsed
        # again; name and SKU words (weight A) rank above description words (weight B).
        vector = product_search_vector_column()
        return (
            queryset.alias(search=vector)
            .filter(search=query)
            .annotate(relevance=SearchRank(vector, query))
        )
    if fuzzy:
        return queryset.none().annotate(relevance=Value(0))
    for term in terms:
        queryset = queryset.filter(
            Q(name__icontains=term) | Q(sku__icontains=term) | Q(description__icontains=term)
        )
    in_name = [When(name__icontains=term, then=Value(1)) for term in terms]
    return queryset.annotate(
        relevance=sum(
            (Case(w, default=Value(0), output_field=IntegerField()) for w in in_name),
            Value(0),
        )
    )


def product_list_filtered(
    *,
    q: str = "",
    category_id: int | None = None,
    min_price: Decimal | None = None,
    max_price: Decimal | None = None,
    in_stock: bool = False,
    sort: str = "",
    fuzzy: bool = False,
) -> QuerySet[Product]:
    """Active products for the list and category pages, filtered and ordered.

    `category_id` includes every sub-category (ids from the cached tree, so no join).
    Without an explicit `sort`, a search is ordered by relevance and a plain list by name.
    """
    queryset = product_list_base()
    if category_id is not None:
        queryset = queryset.filter(category_id__in=category_descendant_ids(category_id=category_id))
    if min_price is not None:
        queryset = queryset.filter(price__gte=min_price)
    if max_price is not None:
        queryset = queryset.filter(price__lte=max_price)
    if in_stock:
        queryset = queryset.in_stock()
    searching = bool(search_terms(q))
    if searching:
        queryset = product_search(queryset, q=q, fuzzy=fuzzy)
    if sort in SORT_ORDERINGS:
        return queryset.order_by(*SORT_ORDERINGS[sort])
    if searching:
        return queryset.order_by("-relevance", "name", "id")
    return queryset.order_by(*SORT_ORDERINGS["name"])


def product_list_newest(*, limit: int = 8) -> QuerySet[Product]:
    return product_list_base().order_by(*SORT_ORDERINGS["newest"])[:limit]


def product_detail_queryset(*, include_inactive: bool = False) -> QuerySet[Product]:
    """Products a visitor may open; staff also see inactive ones (to preview them)."""
    queryset = Product.objects.all() if include_inactive else Product.objects.active()
    return queryset.select_related("category").prefetch_related(product_images_prefetch())


def low_stock_products(*, threshold: int | None = None, limit: int = 20) -> QuerySet[Product]:
    """Active products with at most `threshold` (LOW_STOCK_THRESHOLD) left, emptiest first.

    Out-of-stock products are included: they are the ones to restock first.
    """
    from django.conf import settings

    threshold = settings.LOW_STOCK_THRESHOLD if threshold is None else threshold
    return (
        Product.objects.active()
        .filter(stock__lte=threshold)
        .select_related("category")
        .order_by("stock", "name", "pk")[:limit]
    )
