"""What a shopper sees around the journeys: empty states, inline errors, pagination."""

import re

import pytest
from playwright.sync_api import expect

from products.tests.factories import CategoryFactory, ProductFactory

from .conftest import DESKTOP, MOBILE
from .helpers import axe_violations, field, shopper_make, shot, sideways_overflow, sign_in

pytestmark = pytest.mark.browser


def test_empty_pages_say_so_and_offer_a_way_on(page, live_server):
    sign_in(page.context, shopper_make(), live_server.url)
    for path, testid, link in [
        ("/cart/", "cart-empty", "Continue shopping"),
        ("/wishlist/", "wishlist-empty", "Browse products"),
        ("/orders/", "orders-empty", "Start shopping"),
        ("/products/?q=nothing+like+this", "no-products", "Clear the filters"),
    ]:
        page.goto(path)
        empty = page.get_by_test_id(testid)
        expect(empty).to_be_visible()
        expect(empty.get_by_role("link", name=link)).to_be_visible()


def test_form_errors_appear_beside_their_fields_and_pass_the_audit(page):
    page.goto("/accounts/signup/")
    field(page, "Username").fill("ada")
    field(page, "Email address").fill("ada@example.com")
    field(page, "Password").fill("violet-Harbour-42")
    field(page, "Password confirmation").fill("violet-Harbour-43")
    page.get_by_role("button", name="Sign up").click()

    confirmation = field(page, "Password confirmation")
    expect(confirmation).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(confirmation).to_have_attribute("aria-invalid", "true")
    expect(confirmation).to_have_attribute("aria-describedby", re.compile(r"id_password2_error"))
    error = page.locator("#div_id_password2 .invalid-feedback")
    expect(error).to_contain_text("The two passwords do not match.")
    # What was typed is kept, except the passwords.
    expect(field(page, "Username")).to_have_value("ada")
    shot(page, "signup-errors-1280")
    assert axe_violations(page) == []


def test_pagination_keeps_the_filters(page):
    kitchen = CategoryFactory(name="Kitchen", slug="kitchen")
    for n in range(30):
        ProductFactory(name=f"Mug {n:02d}", category=kitchen, price=f"{10 + n}.00")
    ProductFactory(name="Mug elsewhere", price="20.00")

    page.goto("/products/?category=kitchen&min_price=12&sort=price")
    expect(page.get_by_test_id("result-count")).to_have_text("28 products")
    expect(page.get_by_test_id("product-card")).to_have_count(24)
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Next").click()

    expect(page).to_have_url(re.compile(r"category=kitchen&min_price=12&sort=price&page=2$"))
    cards = page.get_by_test_id("product-card")
    expect(cards).to_have_count(4)
    expect(cards.first).to_contain_text("Mug 26")
    filters = page.get_by_test_id("filter-form")
    expect(filters.get_by_label("Min price")).to_have_value("12")
    expect(filters.get_by_label("Sort by")).to_have_value("price")
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="1").click()
    expect(page).to_have_url(re.compile(r"category=kitchen&min_price=12&sort=price&page=1$"))


def test_checkout_errors_are_listed_at_their_fields(page, live_server):
    from carts.services import cart_add_product, cart_for

    shopper = shopper_make()
    cart_add_product(
        cart=cart_for(user=shopper), product_id=ProductFactory(name="Blue mug").pk, quantity=1
    )
    sign_in(page.context, shopper, live_server.url)
    page.set_viewport_size(MOBILE)
    page.goto("/checkout/")
    shipping = page.get_by_role("group", name="Shipping address")
    shipping.get_by_label("Full name").fill("")
    page.get_by_role("button", name=re.compile(r"^Place order")).click()

    for label in ("Full name", "Address line 1", "City", "Postal code", "Country"):
        expect(field(shipping, label)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("This field is required.").first).to_be_visible()
    shot(page, "checkout-errors-375")
    assert sideways_overflow(page) == 0
    assert axe_violations(page) == []


def test_product_gallery_shows_the_picture_whose_thumbnail_is_clicked(page):
    from .helpers import shop_make

    teapot = shop_make().products["teapot"]
    page.goto(teapot.get_absolute_url())
    lid = page.get_by_alt_text("The teapot's lid")
    expect(lid).to_be_hidden()
    page.get_by_role("button", name="Show image 2").click()
    expect(lid).to_be_visible()
    # The arrows sit over the picture, centred on it.
    picture = page.locator("#product-gallery .carousel-inner").bounding_box()
    arrow = page.get_by_role("button", name="Next image").bounding_box()
    assert abs(_middle(arrow) - _middle(picture)) < 2


def _middle(box) -> float:
    return box["y"] + box["height"] / 2


@pytest.mark.parametrize("viewport", [DESKTOP, MOBILE], ids=["1280", "375"])
def test_a_missing_page_offers_a_search_and_passes_the_audit(page, page_problems, viewport):
    page_problems.allow(r"status of 404")  # the page itself; nothing on it may fail
    page.set_viewport_size(viewport)
    response = page.goto("/products/no-such-thing/")
    assert response.status == 404
    expect(page).to_have_title(re.compile(r"^Page not found · "))
    search = page.get_by_role("main").get_by_role("searchbox", name="Search products")
    search.fill("lamp")
    shot(page, f"404-{viewport['width']}")
    assert sideways_overflow(page) == 0
    assert axe_violations(page) == []
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"/products/\?q=lamp$"))
