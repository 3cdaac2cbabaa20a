"""Bulk-generate a large, realistic catalogue for benchmarks and load tests.

    python manage.py generate_catalogue --products 100000 --categories 60

Everything it creates is marked so it can be told apart from real or demo data: category
slugs start with ``gen-`` and product SKUs with ``GEN-``. Running it again tops the generated
catalogue up to ``--products`` (it never duplicates), and ``--clear`` removes what it made
before generating. Random choices are seeded (``--seed``), so runs are repeatable.

Speed comes from ``bulk_create`` in batches (products, their image rows and the initial stock
movements go in together, one transaction per batch) and from sharing a handful of image files
drawn once with Pillow: 100,000 products take well under a minute on PostgreSQL.
"""

import io
import math
import random
import sys
from datetime import timedelta
from decimal import Decimal

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import BaseCommand, CommandError
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.text import slugify

from products.catalogue_cache import catalogue_version_bump
from products.models import Category, Product, ProductImage, StockMovement
from products.selectors import category_tree_invalidate

CATEGORY_SLUG_PREFIX = "gen-"
SKU_PREFIX = "GEN-"
IMAGE_DIR = "products/generated"
IMAGE_COUNT = 8
IMAGE_SIZE = (800, 800)
THUMBNAIL_SIZE = (300, 300)
PALETTE = [
    (46, 134, 193),
    (231, 76, 60),
    (39, 174, 96),
    (243, 156, 18),
    (142, 68, 173),
    (22, 160, 133),
    (52, 73, 94),
    (211, 84, 0),
]

ROOT_NAMES = [
    "Electronics",
    "Home & Kitchen",
    "Garden & Outdoors",
    "Sports & Fitness",
    "Toys & Games",
    "Books & Stationery",
    "Fashion",
    "Beauty & Care",
    "Automotive",
    "Office Supplies",
    "Pet Supplies",
    "Music & Instruments",
]
SUB_NAMES = [
    "Accessories",
    "Essentials",
    "Storage",
    "Lighting",
    "Tools",
    "Furniture",
    "Cookware",
    "Audio",
    "Cables",
    "Outerwear",
    "Footwear",
    "Bags",
    "Cleaning",
    "Decor",
    "Travel",
    "Camping",
    "Cycling",
    "Running",
    "Puzzles",
    "Notebooks",
    "Skincare",
    "Haircare",
    "Batteries",
    "Chargers",
    "Textiles",
    "Tableware",
    "Watering",
    "Planters",
    "Fitness",
    "Yoga",
]
LEAF_NAMES = [
    "Basics",
    "Premium",
    "Compact",
    "Kids",
    "Professional",
    "Eco",
    "Classic",
    "Sets",
    "Spare Parts",
    "Gifts",
    "Outlet",
    "New Arrivals",
]
ADJECTIVES = [
    "Classic",
    "Compact",
    "Deluxe",
    "Ergonomic",
    "Handmade",
    "Lightweight",
    "Modern",
    "Portable",
    "Premium",
    "Rustic",
    "Sleek",
    "Smart",
    "Sturdy",
    "Vintage",
    "Wireless",
    "Foldable",
    "Waterproof",
    "Organic",
    "Minimal",
    "Heavy-duty",
]
MATERIALS = [
    "Bamboo",
    "Ceramic",
    "Cotton",
    "Leather",
    "Linen",
    "Oak",
    "Steel",
    "Aluminium",
    "Glass",
    "Wool",
    "Copper",
    "Walnut",
    "Silicone",
    "Canvas",
    "Marble",
    "Carbon",
]
NOUNS = [
    "Lamp",
    "Backpack",
    "Kettle",
    "Headphones",
    "Chair",
    "Desk",
    "Bottle",
    "Notebook",
    "Jacket",
    "Speaker",
    "Mug",
    "Blanket",
    "Planter",
    "Watch",
    "Wallet",
    "Keyboard",
    "Frying Pan",
    "Towel",
    "Tent",
    "Helmet",
    "Umbrella",
    "Candle",
    "Shelf",
    "Charger",
    "Mat",
    "Scarf",
    "Knife",
    "Tray",
    "Basket",
    "Clock",
]
COLOURS = ["Black", "White", "Navy", "Olive", "Sand", "Grey", "Red", "Teal", "Amber", "Plum"]
# What a product is or does; each completes "This <product> …" and "It …".
PHRASES = [
    "is built to last for years of daily use",
    "is designed with small homes in mind",
    "is easy to clean and quick to assemble",
    "is made from responsibly sourced materials",
    "is tested by our team before it reaches the shelf",
    "is a favourite with customers who value simple design",
    "comes packed in recyclable cardboard, without plastic",
    "is backed by a two-year warranty",
    "is light enough to carry anywhere",
    "is finished by hand in a small workshop",
    "comes with everything you need to get started",
    "pairs well with the rest of the collection",
]
# Nouns sold in pairs: "this pair of … headphones", never "a … headphones".
PAIRED_NOUNS = {"Headphones"}


class Command(BaseCommand):
    help = (
        "Bulk-create a realistic catalogue (nested categories, products, image rows, stock) "
        "for benchmarks. Tops up an earlier run; --clear removes generated data first."
    )

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=1000, help="Products wanted in total.")
        parser.add_argument(
            "--categories", type=int, default=60, help="Categories (2–3 levels) wanted in total."
        )
        parser.add_argument("--seed", type=int, default=42, help="Random seed (repeatable runs).")
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument(
            "--clear", action="store_true", help="Delete previously generated data first."
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="No progress bar even on a terminal."
        )

    def handle(self, *args, **options):
        n_products = options["products"]
        n_categories = options["categories"]
        if n_products < 0 or n_categories < 1 or options["batch_size"] < 1:
            raise CommandError("--products must be ≥ 0, --categories and --batch-size ≥ 1.")
        started = timezone.now()
        if options["clear"]:
            self._clear()
        categories = self._ensure_categories(n_categories, seed=options["seed"])
        leaves = [c for c in categories if not c.has_children]
        images = self._ensure_image_files()
        created = self._create_products(
            n_products,
            leaves=leaves,
            images=images,
            seed=options["seed"],
            batch_size=options["batch_size"],
            progress=not options["no_progress"] and sys.stderr.isatty(),
        )
        # bulk_create sends no signals: cached pages and counts must still see the new rows.
        category_tree_invalidate()
        catalogue_version_bump()
        if connection.vendor == "postgresql":
            # Fresh statistics for the planner, and (outside a transaction, as VACUUM needs)
            # the visibility map autovacuum would build soon after a bulk load anyway, so
            # index-only scans are possible at once.
            command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
            with connection.cursor() as cursor:
                for model in (Category, Product, ProductImage, StockMovement):
                    table = connection.ops.quote_name(model._meta.db_table)
                    cursor.execute(f"{command} {table}")
        seconds = (timezone.now() - started).total_seconds()
        total = Product.objects.filter(sku__startswith=SKU_PREFIX).count()
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated catalogue: {len(categories)} categories, {total} products "
                f"({created} new) in {seconds:.1f}s."
            )
        )

    # --------------------------------------------------------------------------------------
    # Clearing
    # --------------------------------------------------------------------------------------
    def _clear(self) -> None:
        generated = Product.objects.filter(sku__startswith=SKU_PREFIX)
        with transaction.atomic():
            # Delete the dependants first with single statements, so the collector does not
            # walk 100,000 products one relation at a time.
            for rel in Product._meta.related_objects:
                if not rel.one_to_many:
                    continue
                related = rel.related_model._default_manager.filter(
                    **{f"{rel.field.name}__in": generated.values("pk")}
                )
                if rel.on_delete is models.SET_NULL:
                    related.update(**{rel.field.name: None})
                else:
                    # Plain DELETEs: delete() would load every row to send it a post_delete
                    # signal (the catalogue version is bumped once, in handle()).
                    related._raw_delete(related.db)
            deleted = generated._raw_delete(generated.db)
            categories = list(Category.objects.filter(slug__startswith=CATEGORY_SLUG_PREFIX))
            # Children before parents: the parent link is PROTECTed.
            for depth in (3, 2, 1):
                ids = [c.pk for c in categories if _depth(c, categories) == depth]
                Category.objects.filter(pk__in=ids).delete()
        self.stdout.write(f"Cleared {deleted} generated rows.")

    # --------------------------------------------------------------------------------------
    # Categories
    # --------------------------------------------------------------------------------------
    def _ensure_categories(self, count: int, *, seed: int) -> list[Category]:
        """A deterministic tree of `count` categories: roots, children and grandchildren."""
        plan = _category_plan(count, seed=seed)
        existing = {
            c.slug: c for c in Category.objects.filter(slug__startswith=CATEGORY_SLUG_PREFIX)
        }
        by_index: dict[int, Category] = {}
        for index, (name, parent_index) in enumerate(plan):
            slug = f"{CATEGORY_SLUG_PREFIX}{index}-{slugify(name)}"
            parent = by_index.get(parent_index) if parent_index is not None else None
            category = existing.get(slug)
            if category is None:
                category = Category.objects.create(name=name, slug=slug, parent=parent)
            by_index[index] = category
        categories = list(by_index.values())
        parent_ids = set(
            Category.objects.filter(parent__isnull=False).values_list("parent_id", flat=True)
        )
        for category in categories:
            category.has_children = category.pk in parent_ids
        return categories

    # --------------------------------------------------------------------------------------
    # Images
    # --------------------------------------------------------------------------------------
    def _ensure_image_files(self) -> list[dict[str, str]]:
        """Draw a few product pictures (and their thumbnails) once; every image row shares them.

        Thumbnails come from the shop's own thumbnail code when it has one (products.images),
        so generated rows look exactly like uploaded ones to the pages.
        """
        from PIL import Image, ImageDraw

        files = []
        for k in range(IMAGE_COUNT):
            name = f"{IMAGE_DIR}/catalogue-{k}.jpg"
            if not default_storage.exists(name):
                colour = PALETTE[k % len(PALETTE)]
                picture = Image.new("RGB", IMAGE_SIZE, (245, 245, 245))
                draw = ImageDraw.Draw(picture)
                w, h = IMAGE_SIZE
                draw.rounded_rectangle(
                    (w // 8, h // 8, w * 7 // 8, h * 7 // 8), radius=w // 10, fill=colour
                )
                draw.ellipse((w * 3 // 8, h * 3 // 8, w * 5 // 8, h * 5 // 8), fill="white")
                buffer = io.BytesIO()
                picture.save(buffer, format="JPEG", quality=80)
                name = default_storage.save(name, ContentFile(buffer.getvalue()))
            names = {"image": name}
            for kind, thumbnail in _thumbnails(name).items():
                thumb_name = f"{IMAGE_DIR}/{thumbnail.name}"
                if not default_storage.exists(thumb_name):
                    thumb_name = default_storage.save(thumb_name, thumbnail)
                names[kind] = thumb_name
            files.append(names)
        return files

    # --------------------------------------------------------------------------------------
    # Products
    # --------------------------------------------------------------------------------------
    def _create_products(
        self,
        count: int,
        *,
        leaves: list[Category],
        images: list[dict[str, str]],
        seed: int,
        batch_size: int,
        progress: bool,
    ) -> int:
        generated = Product.objects.filter(sku__startswith=SKU_PREFIX)
        have = generated.count()
        missing = count - have
        if missing <= 0:
            return 0
        last_sku = generated.order_by("-sku").values_list("sku", flat=True).first()
        start = int(last_sku.removeprefix(SKU_PREFIX)) + 1 if last_sku else 1
        # Seeded by where this run starts, so the same sequence of runs gives the same rows.
        rng = random.Random(f"{seed}-{start}")  # noqa: S311 - repeatable test data, not secrets
        image_fields = _image_fields()
        now = timezone.now()

        from tqdm import tqdm

        bar = tqdm(total=missing, unit="product", disable=not progress, file=sys.stderr)
        try:
            for batch_start in range(start, start + missing, batch_size):
                batch_end = min(batch_start + batch_size, start + missing)
                products = [
                    _make_product(i, rng=rng, leaves=leaves, now=now)
                    for i in range(batch_start, batch_end)
                ]
                with transaction.atomic():
                    products = Product.objects.bulk_create(products, batch_size=batch_size)
                    if products and products[0].pk is None:  # backends without RETURNING
                        by_sku = dict(
                            Product.objects.filter(sku__in=[p.sku for p in products]).values_list(
                                "sku", "pk"
                            )
                        )
                        for p in products:
                            p.pk = by_sku[p.sku]
                    rows = []
                    movements = []
                    for p in products:
                        for position in range(2 if rng.random() < 0.3 else 1):
                            files = images[rng.randrange(len(images))]
                            row = ProductImage(
                                product_id=p.pk, alt_text=p.name[:200], position=position
                            )
                            for field_name, kind in image_fields.items():
                                setattr(row, field_name, files[kind])
                            rows.append(row)
                        if p.stock:
                            movements.append(
                                StockMovement(
                                    product_id=p.pk,
                                    change=p.stock,
                                    reason=StockMovement.Reason.INITIAL,
                                    note="generate_catalogue",
                                    resulting_stock=p.stock,
                                    created_at=p.created_at,
                                )
                            )
                    ProductImage.objects.bulk_create(rows, batch_size=batch_size)
                    StockMovement.objects.bulk_create(movements, batch_size=batch_size)
                    _refresh_search_fields([p.pk for p in products])
                bar.update(len(products))
        finally:
            bar.close()
        return missing


def _category_plan(count: int, *, seed: int) -> list[tuple[str, int | None]]:
    """(name, parent index) for each category: about a tenth roots, the rest two levels down."""
    rng = random.Random(seed)  # noqa: S311 - repeatable test data, not secrets
    n_roots = max(1, min(len(ROOT_NAMES), count // 6 or 1))
    rest = count - n_roots
    n_second = min(rest, max(n_roots, math.ceil(rest * 0.6))) if rest else 0
    n_third = rest - n_second
    plan: list[tuple[str, int | None]] = [(ROOT_NAMES[i], None) for i in range(n_roots)]
    subs = rng.sample(SUB_NAMES, len(SUB_NAMES))
    for j in range(n_second):
        plan.append((subs[j % len(subs)], j % n_roots))
    for j in range(n_third):
        parent = n_roots + (j % n_second)
        plan.append((f"{plan[parent][0]} {LEAF_NAMES[j % len(LEAF_NAMES)]}", parent))
    return plan


def _depth(category: Category, categories: list[Category]) -> int:
    by_id = {c.pk: c for c in categories}
    depth, node = 1, category
    while node.parent_id and node.parent_id in by_id:
        depth, node = depth + 1, by_id[node.parent_id]
    return min(depth, 3)


def _make_product(i: int, *, rng: random.Random, leaves: list[Category], now) -> Product:
    noun = rng.choice(NOUNS)
    adjective, material = rng.choice(ADJECTIVES), rng.choice(MATERIALS)
    name = f"{adjective} {material} {noun}"
    thing = f"{adjective.lower()} {material.lower()} {noun.lower()}"
    if noun in PAIRED_NOUNS:
        thing = f"pair of {thing}"
    if rng.random() < 0.5:
        colour = rng.choice(COLOURS)
        name = f"{name}, {colour}"
        thing = f"{thing} in {colour.lower()}"
    first, *more = rng.sample(PHRASES, rng.randint(2, 4))
    sentences = [f"This {thing} {first}."] + [f"It {phrase}." for phrase in more]
    # Prices spread log-uniformly from about 2 to 2,000, ending in .99 or .49 or .00.
    whole = int(math.exp(rng.uniform(math.log(2), math.log(2000))))
    price = Decimal(f"{whole}.{rng.choice(['99', '49', '00', '95'])}")
    roll = rng.random()
    if roll < 0.08:
        stock = 0
    elif roll < 0.2:
        stock = rng.randint(1, 5)
    else:
        stock = rng.randint(6, 500)
    return Product(
        name=name,
        slug=f"{slugify(name)[:200]}-g{i}",
        sku=f"{SKU_PREFIX}{i:08d}",
        description=" ".join(sentences),
        price=price,
        category=rng.choice(leaves),
        stock=stock,
        is_active=rng.random() >= 0.03,
        created_at=now - timedelta(minutes=rng.randint(0, 60 * 24 * 365)),
    )


def _image_fields() -> dict[str, str]:
    """ProductImage's file fields, and which generated file each one gets."""
    fields = {}
    for field in ProductImage._meta.get_fields():
        if isinstance(field, models.FileField):
            if field.name == "image":
                fields[field.name] = "image"
            elif "detail" in field.name:
                fields[field.name] = "detail"
            else:
                fields[field.name] = "list"
    return fields


def _thumbnails(name: str) -> dict[str, ContentFile]:
    """{"list": file, "detail": file} for a stored picture."""
    from PIL import Image

    with default_storage.open(name, "rb") as source:
        try:
            from products.images import thumbnails_make
        except ImportError:  # no thumbnail code in the shop: plain JPEG reductions
            thumbnails = {}
            for kind, size in (("list", THUMBNAIL_SIZE), ("detail", IMAGE_SIZE)):
                picture = Image.open(source).convert("RGB")
                picture.thumbnail(size)
                buffer = io.BytesIO()
                picture.save(buffer, format="JPEG", quality=80)
                stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
                thumbnails[kind] = ContentFile(buffer.getvalue(), name=f"{stem}-{kind}.jpg")
                source.seek(0)
            return thumbnails
        card, detail = thumbnails_make(source, stem=name)
        return {"list": card, "detail": detail}


def _refresh_search_fields(product_ids: list[int]) -> None:
    """Fill a stored full-text search vector if the model keeps one outside the database.

    bulk_create skips save() and signals, so a vector that save() maintains would stay empty;
    one kept by a trigger or a generated column is already filled.
    """
    if connection.vendor != "postgresql":
        return
    from django.contrib.postgres.search import SearchVector, SearchVectorField

    for field in Product._meta.concrete_fields:
        if isinstance(field, SearchVectorField) and not getattr(field, "generated", False):
            Product.objects.filter(pk__in=product_ids).update(
                **{
                    field.name: SearchVector("name", weight="A")
                    + SearchVector("description", weight="B")
                }
            )
