"""A guest finds a product, fills a cart and changes it, with real clicks and typing."""

import re

import pytest
from playwright.sync_api import expect

from .helpers import cart_count, expect_message, navbar, shop_make

pytestmark = pytest.mark.browser


def test_the_shop_loads_its_own_css_and_scripts(page):
    shop_make()
    page.goto("/")
    expect(page).to_have_title(re.compile(r"^Welcome · "))
    # Bootstrap's dark navbar: the stylesheet was served by the live server.
    background = page.locator("nav.navbar").evaluate("el => getComputedStyle(el).backgroundColor")
    assert background == "rgb(33, 37, 41)"
    assert page.evaluate("typeof window.bootstrap") == "object"


def test_guest_searches_filters_fills_and_edits_a_cart(page):
    shop = shop_make()
    page.goto("/")
    expect(page.get_by_role("heading", name="New arrivals")).to_be_visible()
    expect(cart_count(page)).to_have_text("0")

    # Search from the navbar.
    search = page.get_by_role("search").get_by_label("Search products")
    search.fill("lamp")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"/products/\?q=lamp$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Results for “lamp”")
    expect(page.get_by_test_id("product-card")).to_have_count(2)
    expect(page).to_have_title(re.compile(r"^Search: lamp · "))

    # Narrow it down: the Lighting category, 20 to 100 USD.
    filters = page.get_by_test_id("filter-form")
    filters.get_by_label("Category").select_option(label="\u2003Lighting")
    filters.get_by_label("Min price").fill("20")
    filters.get_by_label("Max price").fill("100")
    filters.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"category=lighting.*min_price=20.*max_price=100"))
    cards = page.get_by_test_id("product-card")
    expect(cards).to_have_count(1)
    expect(cards).to_contain_text("Brass desk lamp")
    expect(cards).to_contain_text("24.50 USD")

    # The product page.
    cards.get_by_role("link", name="Brass desk lamp").click()
    expect(page).to_have_url(re.compile(rf"/products/{shop.products['desk_lamp'].slug}/$"))
    expect(page).to_have_title(re.compile(r"^Brass desk lamp · "))
    breadcrumb = page.get_by_role("navigation", name="breadcrumb")
    expect(breadcrumb.get_by_role("link", name="Lighting")).to_be_visible()
    expect(page.get_by_test_id("price")).to_have_text("24.50 USD")
    expect(page.get_by_test_id("stock-badge")).to_have_text("In stock")

    # Two of them into the cart.
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    expect_message(page, "Added Brass desk lamp to your cart. Cart: 2 items.")
    expect(cart_count(page)).to_have_text("2")

    # And a kettle, straight from the list.
    navbar(page).get_by_role("link", name="Products", exact=True).click()
    kettle = page.get_by_test_id("product-card").filter(has_text="Stovetop kettle")
    kettle.get_by_role("button", name=re.compile(r"^Add to cart")).click()
    expect_message(page, "Added Stovetop kettle to your cart")
    expect(cart_count(page)).to_have_text("3")

    # The cart adds up.
    navbar(page).get_by_role("link", name=re.compile(r"^Cart")).click()
    expect(page).to_have_title(re.compile(r"^Your cart · "))
    lines = page.get_by_test_id("cart-line")
    expect(lines).to_have_count(2)
    lamp = lines.filter(has_text="Brass desk lamp")
    expect(lamp.get_by_test_id("line-total")).to_have_text("49.00 USD")
    expect(page.get_by_test_id("cart-total")).to_have_text("84.00 USD")

    # Three lamps instead of two.
    lamp.get_by_label("Quantity of Brass desk lamp").fill("3")
    lamp.get_by_role("button", name="Update").click()
    expect_message(page, "Brass desk lamp: quantity updated to 3.")
    expect(lamp.get_by_test_id("line-total")).to_have_text("73.50 USD")
    expect(page.get_by_test_id("cart-total")).to_have_text("108.50 USD")
    expect(cart_count(page)).to_have_text("4")

    # No kettle after all.
    lines.filter(has_text="Stovetop kettle").get_by_role("button", name="Remove").click()
    expect_message(page, "Removed Stovetop kettle from your cart.")
    expect(lines).to_have_count(1)
    expect(page.get_by_test_id("cart-total")).to_have_text("73.50 USD")
    expect(cart_count(page)).to_have_text("3")
