import factory
from django.core.files.base import ContentFile
from django.utils.text import slugify

from products.models import Category, Product, ProductImage


def png_bytes(size=(64, 64), color=(200, 80, 40)) -> bytes:
    """A real PNG image generated with Pillow."""
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))
    parent = None


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    slug = ""  # made unique from the name by Product.save
    sku = factory.Sequence(lambda n: f"SKU-{n:06d}")
    description = factory.LazyAttribute(lambda o: f"A fine {o.name.lower()}.")
    price = "19.99"
    category = factory.SubFactory(CategoryFactory)
    stock = 10
    is_active = True


class ProductImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductImage

    product = factory.SubFactory(ProductFactory)
    image = factory.LazyFunction(lambda: ContentFile(png_bytes(), name="product.png"))
    alt_text = factory.LazyAttribute(lambda o: o.product.name)
    position = factory.Sequence(lambda n: n)


def change_form_data(product, **overrides):
    """The POST of a product's admin change form, unchanged but for `overrides` (no images)."""
    data = {
        "name": product.name,
        "slug": product.slug,
        "sku": product.sku,
        "category": product.category_id,
        "description": product.description,
        "price": product.price,
        "stock": product.stock,
        "initial-stock": product.stock,
        "is_active": "on" if product.is_active else "",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
        "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v != ""}
