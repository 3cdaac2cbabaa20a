"""Adding to the cart and the wishlist heart keep the shopper where they were.

With JavaScript the forms are sent in the background (static/js/quick-actions.js): the URL and
the scroll position stay, the cart badge changes and the live region says what happened.
Without it the server's redirect comes back to the same page, at the product's anchor.
"""

import re

import pytest
from playwright.sync_api import expect

from products.tests.factories import CategoryFactory, ProductFactory
from wishlists.models import WishlistItem

from .helpers import cart_count, expect_message, shopper_make, sign_in

pytestmark = pytest.mark.browser

# One full page of the list (24) and half of page two.
PRODUCT_COUNT = 36


def catalogue_make() -> list:
    category = CategoryFactory(name="Things", slug="things")
    return [
        ProductFactory(name=f"Thing {n:02d}", category=category, price="10.00", stock=5)
        for n in range(PRODUCT_COUNT)
    ]


def live_region(page):
    return page.locator("#messages[aria-live=polite]")


def scrolled_to_last_card(page):
    """The last card of the page in view, the page scrolled well down; (card, scrollY)."""
    card = page.get_by_test_id("product-card").last
    card.scroll_into_view_if_needed()
    scroll_y = page.evaluate("window.scrollY")
    assert scroll_y > 300, "the page must be scrolled down for this test to mean anything"
    return card, scroll_y


def test_adding_from_page_two_keeps_the_url_and_the_scroll_position(page):
    catalogue_make()
    page.goto("/products/?sort=name&page=2")
    expect(cart_count(page)).to_have_text("0")
    url = page.url
    page.evaluate("window.__notReloaded = true")
    card, scroll_y = scrolled_to_last_card(page)
    name = card.get_by_role("heading").inner_text()

    card.get_by_role("button", name=re.compile(r"^Add to cart")).click()

    expect(cart_count(page)).to_have_text("1")
    expect(page.get_by_test_id("cart-count-phone")).to_have_text("1")
    expect(live_region(page)).to_contain_text(f"Added {name} to your cart. Cart: 1 item.")
    # The message is in sight too, wherever the page is scrolled.
    expect(page.get_by_test_id("quick-message")).to_be_in_viewport()
    assert page.url == url
    assert page.evaluate("window.__notReloaded") is True
    assert page.evaluate("window.scrollY") == scroll_y

    card.get_by_role("button", name=re.compile(r"^Add to cart")).click()
    expect(live_region(page)).to_contain_text(f"Added {name} to your cart. Cart: 2 items.")
    expect(cart_count(page)).to_have_text("2")


def test_a_refused_add_is_announced_and_changes_nothing(page, page_problems):
    products = catalogue_make()
    page_problems.allow(r"HTTP 409 for .*/cart/add/")  # the refusal this test provokes
    page_problems.allow(r"status of 409")
    page.goto("/products/?sort=name&page=2")
    card, _scroll_y = scrolled_to_last_card(page)
    name = card.get_by_role("heading").inner_text()
    # Sold out by someone else while the page was open.
    sold = next(p for p in products if p.name == name)
    type(sold).objects.filter(pk=sold.pk).update(stock=0)

    card.get_by_role("button", name=re.compile(r"^Add to cart")).click()

    expect(live_region(page)).to_contain_text(f"Sorry, {name} is out of stock.")
    expect(page.get_by_test_id("quick-message")).to_have_class(re.compile(r"\balert-danger\b"))
    expect(cart_count(page)).to_have_text("0")


def test_without_javascript_adding_comes_back_to_the_card(new_context):
    catalogue_make()
    page = new_context(java_script_enabled=False).new_page()
    page.goto("/products/?sort=name&page=2")
    card = page.get_by_test_id("product-card").last
    name = card.get_by_role("heading").inner_text()
    card_id = card.get_attribute("id")
    assert re.fullmatch(r"product-\d+", card_id)

    card.get_by_role("button", name=re.compile(r"^Add to cart")).click()

    expect(page).to_have_url(re.compile(rf"/products/\?sort=name&page=2#{card_id}$"))
    expect_message(page, f"Added {name} to your cart. Cart: 1 item.")
    expect(cart_count(page)).to_have_text("1")
    # Back at the card, not at the top of the page.
    expect(page.locator(f"#{card_id}")).to_be_in_viewport()
    assert page.evaluate("window.scrollY") > 300


def test_the_wishlist_heart_toggles_in_place(new_context, live_server):
    product = ProductFactory(name="Wool blanket", stock=3, description="Warm.\n" * 80)
    shopper = shopper_make()
    context = new_context()
    sign_in(context, shopper, live_server.url)
    page = context.new_page()
    page.goto(product.get_absolute_url())
    page.evaluate("window.__notReloaded = true")
    url = page.url

    page.get_by_role("button", name="Add to wishlist").click()

    heart = page.get_by_test_id("wishlist-toggle")
    expect(heart).to_have_attribute("aria-pressed", "true")
    expect(heart).to_have_accessible_name("In your wishlist")
    expect(live_region(page)).to_contain_text("Added Wool blanket to your wishlist.")
    assert WishlistItem.objects.filter(user=shopper, product=product).exists()
    assert page.url == url and page.evaluate("window.__notReloaded") is True

    heart.click()  # and off again, through the form's new action
    expect(heart).to_have_attribute("aria-pressed", "false")
    expect(heart).to_have_accessible_name("Add to wishlist")
    expect(live_region(page)).to_contain_text("Removed Wool blanket from your wishlist.")
    assert not WishlistItem.objects.filter(user=shopper, product=product).exists()


def test_without_javascript_the_wishlist_heart_comes_back_to_the_product(new_context, live_server):
    product = ProductFactory(name="Wool blanket", stock=3)
    shopper = shopper_make()
    context = new_context(java_script_enabled=False)
    sign_in(context, shopper, live_server.url)
    page = context.new_page()
    page.goto(product.get_absolute_url())

    page.get_by_role("button", name="Add to wishlist").click()

    expect(page).to_have_url(re.compile(rf"{product.get_absolute_url()}#product-{product.pk}$"))
    expect_message(page, "Added Wool blanket to your wishlist.")
    expect(page.get_by_test_id("wishlist-toggle")).to_have_attribute("aria-pressed", "true")


def test_a_heart_clicked_after_the_session_ended_goes_to_sign_in_and_back(
    new_context, live_server, page_problems
):
    from django.conf import settings

    page_problems.allow(r"HTTP 403 for .*/wishlist/add/")  # the signed-out answer
    page_problems.allow(r"status of 403")
    product = ProductFactory(name="Wool blanket", stock=3)
    shopper = shopper_make()
    context = new_context()
    sign_in(context, shopper, live_server.url)
    page = context.new_page()
    page.goto(product.get_absolute_url())
    # Signed out meanwhile (the session cookie gone; the CSRF cookie stays).
    cookies = [c for c in context.cookies() if c["name"] != settings.SESSION_COOKIE_NAME]
    context.clear_cookies()
    context.add_cookies(cookies)

    page.get_by_role("button", name="Add to wishlist").click()

    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    expect_message(page, "Sign in to keep a wishlist.")
    assert not WishlistItem.objects.exists()
