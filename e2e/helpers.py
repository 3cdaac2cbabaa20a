"""Data and checks shared by the browser tests."""

import os
import re
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.test import Client
from playwright.sync_api import BrowserContext, Page, expect

from accounts.tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory
from products.tests.factories import CategoryFactory, ProductFactory, ProductImageFactory

PASSWORD = DEFAULT_PASSWORD
AUTH_BACKEND = "accounts.backends.UsernameOrEmailBackend"
# Screenshots are taken only when asked for: E2E_SHOTS=/tmp/shots pytest e2e
SHOTS = os.environ.get("E2E_SHOTS", "")


def image_file(name: str, colour: tuple[int, int, int], size=(480, 480)) -> ContentFile:
    """A JPEG with a lighter disc, so screenshots show real-looking pictures."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, colour)
    light = tuple(min(255, c + 80) for c in colour)
    w, h = size
    ImageDraw.Draw(image).ellipse((w // 4, h // 4, 3 * w // 4, 3 * h // 4), fill=light)
    buffer = BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return ContentFile(buffer.getvalue(), name=f"{name}.jpg")


@dataclass
class Shop:
    """A small catalogue: two root categories, a sub-category and a handful of products."""

    categories: dict = field(default_factory=dict)
    products: dict = field(default_factory=dict)


def shop_make() -> Shop:
    shop = Shop()
    home = CategoryFactory(name="Home & living", slug="home-living")
    lighting = CategoryFactory(name="Lighting", slug="lighting", parent=home)
    kitchen = CategoryFactory(name="Kitchen", slug="kitchen")
    shop.categories = {"home": home, "lighting": lighting, "kitchen": kitchen}
    rows = [
        # key, name, category, price, stock, colour, image size (one landscape, one portrait)
        ("desk_lamp", "Brass desk lamp", lighting, "24.50", 10, (180, 120, 40), (480, 480)),
        ("floor_lamp", "Arc floor lamp", lighting, "189.00", 3, (60, 90, 140), (640, 360)),
        ("night_light", "Moon night light", lighting, "12.99", 0, (90, 60, 120), (360, 640)),
        ("cushion", "Linen cushion", home, "29.00", 25, (120, 140, 100), (480, 480)),
        ("kettle", "Stovetop kettle", kitchen, "35.00", 8, (160, 50, 50), (480, 480)),
        ("teapot", "Stoneware teapot with a long name for wrapping", kitchen, "1249.95", 4,
         (40, 120, 120), (480, 480)),
    ]  # fmt: skip
    for key, name, category, price, stock, colour, size in rows:
        product = ProductFactory(
            name=name, category=category, price=price, stock=stock, description=f"A {name}."
        )
        ProductImageFactory(
            product=product, image=image_file(product.slug, colour, size), alt_text=name
        )
        shop.products[key] = product
    # A second picture, so the detail page shows its gallery.
    teapot = shop.products["teapot"]
    ProductImageFactory(
        product=teapot, image=image_file("teapot-2", (200, 160, 60)), alt_text="The teapot's lid"
    )
    return shop


def shopper_make(**kwargs):
    return UserFactory(**kwargs)


def staff_make(**kwargs):
    return StaffFactory(is_superuser=True, **kwargs)


def sign_in(context: BrowserContext, user, live_server_url: str) -> None:
    """Give the browser context a signed-in session (the sign-in form has its own journey)."""
    client = Client()
    client.force_login(user, backend=AUTH_BACKEND)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies(
        [{"name": cookie.key, "value": cookie.value, "url": live_server_url, "httpOnly": True}]
    )


def last_code(outbox, email: str) -> str:
    """The 6-digit code in the newest e-mail sent to `email`."""
    message = [m for m in outbox if email in m.to][-1]
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def expect_message(page: Page, text: str) -> None:
    """A success/info/error message says `text`: flashed by the server, or written into the
    live region by static/js/quick-actions.js."""
    expect(page.locator(".messages .alert").filter(has_text=text)).to_be_visible()


def cart_count(page: Page):
    return page.get_by_test_id("cart-count")


def sideways_overflow(page: Page) -> int:
    """How many pixels the page is wider than the viewport (0 when it does not scroll)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def axe_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["target"][0] for node in v["nodes"][:5])
        for v in results.response["violations"]
        if v["impact"] in {"serious", "critical"}
    ]


def unlabelled_fields(page: Page) -> list[str]:
    """Visible form fields with no accessible name."""
    return page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                          && !el.getAttribute('aria-labelledby'))
            .map(el => el.outerHTML.slice(0, 120))"""
    )


def images_without_alt(page: Page) -> list[str]:
    return page.evaluate(
        "() => [...document.images].filter(i => !i.hasAttribute('alt')).map(i => i.src)"
    )


def navbar(page: Page):
    return page.get_by_role("navigation", name="Main navigation")


def field(scope, label: str):
    """The form field labelled exactly `label` (crispy adds a "*" to required fields)."""
    return scope.get_by_label(re.compile(rf"^\s*{re.escape(label)}\s*\*?\s*$"))


# The pages a shopper sees, each as (path or a function of the data, signed in?).
SHOP_PAGES = {
    "home": (lambda d: "/", False),
    "list": (lambda d: "/products/", False),
    "category": (lambda d: d.shop.categories["lighting"].get_absolute_url(), False),
    "no-results": (lambda d: "/products/?q=zebra+umbrella", False),
    "detail": (lambda d: d.shop.products["teapot"].get_absolute_url(), False),
    "cart": (lambda d: "/cart/", True),
    "cart-empty": (lambda d: "/cart/", False),
    "checkout": (lambda d: "/checkout/", True),
    "signup": (lambda d: "/accounts/signup/", False),
    "login": (lambda d: "/accounts/login/", False),
    "password-reset": (lambda d: "/accounts/password-reset/", False),
    "order": (lambda d: d.order.get_absolute_url(), True),
    "orders": (lambda d: "/orders/", True),
    "wishlist": (lambda d: "/wishlist/", True),
    "profile": (lambda d: "/accounts/profile/", True),
}
# The pages the issue names for the accessibility audit; the others are checked too.
AUDITED_PAGES = ["home", "list", "detail", "cart", "checkout", "signup", "login", "order"]


@dataclass
class ShopData:
    shop: Shop
    shopper: object
    order: object


def shop_data_make() -> ShopData:
    """The catalogue plus a shopper with a placed order, a full cart and a wishlist."""
    from carts.services import cart_add_product, cart_for
    from orders.services import Address, order_place
    from wishlists.models import WishlistItem

    shop = shop_make()
    shopper = shopper_make(username="ada", email="ada@example.com")
    p = shop.products
    cart_add_product(cart=cart_for(user=shopper), product_id=p["teapot"].pk, quantity=1)
    cart_add_product(cart=cart_for(user=shopper), product_id=p["cushion"].pk, quantity=2)
    order = order_place(
        user=shopper,
        shipping_address=Address(
            full_name="Ada Lovelace",
            address_line1="12 St James's Square",
            city="London",
            postal_code="SW1Y 4JH",
            country="GB",
            phone="+44 20 7946 0000",
        ),
        payment_method="bank_transfer",
        checkout_token="e2e-token",  # noqa: S106 (not a secret)
    )
    cart_add_product(cart=cart_for(user=shopper), product_id=p["desk_lamp"].pk, quantity=2)
    cart_add_product(cart=cart_for(user=shopper), product_id=p["kettle"].pk, quantity=1)
    for key in ("floor_lamp", "night_light"):
        WishlistItem.objects.create(user=shopper, product=p[key])
    return ShopData(shop=shop, shopper=shopper, order=order)
