"""The demo catalogue of `manage.py seed_demo`: categories, ~60 products and drawn pictures.

Not used by the shop itself; its stock goes through the stock service like any other.
"""

from datetime import timedelta
from decimal import Decimal
from io import BytesIO

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from .models import Category, Product, ProductImage, StockMovement
from .services import product_stock_adjust

# (name, parent name); parents come first.
DEMO_CATEGORIES = [
    ("Electronics", None),
    ("Audio", "Electronics"),
    ("Computers", "Electronics"),
    ("Computer accessories", "Computers"),
    ("Home & Kitchen", None),
    ("Cookware", "Home & Kitchen"),
    ("Books", None),
    ("Clothing", None),
    ("Shoes", "Clothing"),
]
# Category -> (nouns, base price); every noun is sold in several adjectives.
DEMO_PRODUCTS = {
    "Audio": (["Headphones", "Bluetooth Speaker", "Earbuds"], 49),
    "Computers": (["Laptop", "Mini PC"], 649),
    "Computer accessories": (["Wireless Mouse", "Mechanical Keyboard", "USB-C Hub"], 29),
    "Cookware": (["Frying Pan", "Kettle", "Saucepan"], 35),
    "Home & Kitchen": (["Coffee Mug", "Desk Lamp"], 15),
    "Books": (["Cookbook", "Travel Guide", "Novel"], 12),
    "Clothing": (["T-Shirt", "Hoodie"], 19),
    "Shoes": (["Running Shoes", "Sneakers"], 59),
}
DEMO_ADJECTIVES = ["Classic", "Eco", "Pro"]
# How a product name's noun reads inside a sentence, where lower case would be wrong
# (proper nouns, acronyms) or "a" would not fit (things sold in pairs).
DEMO_NOUN_WORDING = {
    "Headphones": "pair of headphones",
    "Earbuds": "pair of earbuds",
    "Running Shoes": "pair of running shoes",
    "Sneakers": "pair of sneakers",
    "Bluetooth Speaker": "Bluetooth speaker",
    "Mini PC": "mini PC",
    "USB-C Hub": "USB-C hub",
}
DEMO_COLOURS = [
    ("Red", (220, 53, 69)),
    ("Blue", (13, 110, 253)),
    ("Green", (25, 135, 84)),
    ("Orange", (253, 126, 20)),
    ("Purple", (111, 66, 193)),
    ("Teal", (32, 201, 151)),
    ("Grey", (108, 117, 125)),
]


def _demo_image(*, label: str, colour: tuple[int, int, int], variant: int) -> ContentFile:
    """An 800×800 JPEG: a coloured background, a shape and the product's name."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (800, 800), colour)
    draw = ImageDraw.Draw(image)
    light = tuple(min(255, c + 70) for c in colour)
    if variant % 2 == 0:
        draw.ellipse((200, 140, 600, 540), fill=light)
    else:
        draw.rounded_rectangle((190, 150, 610, 530), radius=48, fill=light)
    font = ImageFont.load_default(size=52)
    words, lines = label.split(), []
    for word in words:  # wrap at ~16 characters a line
        if lines and len(lines[-1]) + len(word) < 16:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    for n, line in enumerate(lines[:3]):
        draw.text((400, 600 + n * 60), line, fill="white", font=font, anchor="mm")
    buffer = BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return ContentFile(buffer.getvalue(), name=f"{slugify(label)}-{variant}.jpg")


def with_article(phrase: str) -> str:
    """'a kettle', 'an eco kettle': the indefinite article by the first letter's sound."""
    article = "an" if phrase[:1].lower() in "aeiou" else "a"
    return f"{article} {phrase}"


def demo_description(*, adjective: str, noun: str, colour: str, category: str) -> str:
    """'A pair of headphones from our Classic line, in blue: …' (demo products' text)."""
    wording = DEMO_NOUN_WORDING.get(noun, noun.lower())
    opening = with_article(wording)
    return (
        f"{opening[0].upper()}{opening[1:]} from our {adjective} line, in {colour.lower()}: "
        "well made, good value and built to last.\n\n"
        f"Part of our {category} range."
    )


@transaction.atomic
def demo_catalogue_ensure() -> tuple[int, int]:
    """Create the demo categories and ~60 products with generated images. Idempotent.

    Products are found again by SKU; images are only drawn for products that have none,
    so a second run writes nothing new. Returns (categories, products) in the demo set.
    """
    categories: dict[str, Category] = {}
    for name, parent in DEMO_CATEGORIES:
        category, _created = Category.objects.get_or_create(
            slug=slugify(name), defaults={"name": name, "parent": categories.get(parent)}
        )
        categories[name] = category

    n = 0
    now = timezone.now()
    for category_name, (nouns, base_price) in DEMO_PRODUCTS.items():
        for noun in nouns:
            for a, adjective in enumerate(DEMO_ADJECTIVES):
                n += 1
                colour_name, colour = DEMO_COLOURS[n % len(DEMO_COLOURS)]
                name = f"{adjective} {colour_name} {noun}"
                # Deterministic variety: some sold out, some low, most plentiful.
                stock = [0, 3, 12, 25, 40, 2, 60][n % 7]
                price = Decimal(base_price) * (1 + Decimal(a) / 2) + Decimal("0.99")
                product, created = Product.objects.get_or_create(
                    sku=f"DEMO-{n:04d}",
                    defaults={
                        "name": name,
                        "category": categories[category_name],
                        "description": demo_description(
                            adjective=adjective,
                            noun=noun,
                            colour=colour_name,
                            category=category_name,
                        ),
                        "price": price.quantize(Decimal("0.01")),
                        "stock": 0,
                        "created_at": now - timedelta(hours=n),
                    },
                )
                if created and stock:
                    product_stock_adjust(
                        product_id=product.pk,
                        change=stock,
                        reason=StockMovement.Reason.INITIAL,
                        note="Demo data",
                    )
                # Every tenth product has no picture, to show the placeholder.
                if n % 10 == 0 or product.images.exists():
                    continue
                for variant in range(2 if n % 3 == 0 else 1):
                    ProductImage.objects.create(
                        product=product,
                        image=_demo_image(label=name, colour=colour, variant=variant),
                        alt_text=f"{name}, view {variant + 1}",
                        position=variant,
                    )
    return len(categories), n
