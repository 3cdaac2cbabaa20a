"""At a phone's 375 px the navbar folds away, product grids reflow and nothing scrolls
sideways."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import MOBILE, TABLET
from .helpers import AUDITED_PAGES, SHOP_PAGES, axe_violations, navbar, shot, sideways_overflow

pytestmark = pytest.mark.browser

GRID_COLUMNS = """grid => new Set([...grid.querySelectorAll('[data-testid=product-card]')]
    .map(card => Math.round(card.getBoundingClientRect().left))).size"""


SCROLLING_BOXES = (
    "boxes => boxes.filter(b => b.scrollWidth > b.clientWidth).map(b => b.id || b.className)"
)


@pytest.mark.parametrize("name", list(SHOP_PAGES))
def test_page_fits_a_phone(open_shop_page, name):
    page = open_shop_page(name, viewport=MOBILE)
    shot(page, f"{name}-375")
    expect(navbar(page).get_by_role("button", name="Toggle navigation")).to_be_visible()
    expect(page.locator("#main-nav")).to_be_hidden()
    assert sideways_overflow(page) == 0
    # Nor does a table hide columns in a sideways-scrolling box.
    assert page.locator(".table-responsive").evaluate_all(SCROLLING_BOXES) == []
    grid = page.get_by_test_id("product-grid")
    if grid.count():
        assert grid.evaluate(GRID_COLUMNS) <= 2
    if name in AUDITED_PAGES:
        assert axe_violations(page) == []  # the phone layout has its own markup to check


def test_product_grid_has_more_columns_on_a_desktop(open_shop_page):
    desktop = open_shop_page("list")
    phone = open_shop_page("list", viewport=MOBILE)
    columns = [p.get_by_test_id("product-grid").evaluate(GRID_COLUMNS) for p in (desktop, phone)]
    assert columns == [4, 2]
    # Every card image is the same size, whatever the shape of the uploaded picture.
    sizes = desktop.locator("[data-testid=product-card] img").evaluate_all(
        "imgs => imgs.map(i => [Math.round(i.width), Math.round(i.height)])"
    )
    assert len(set(map(tuple, sizes))) == 1


def test_navbar_toggler_opens_the_menu_on_a_phone(open_shop_page):
    page = open_shop_page("home", viewport=MOBILE)
    nav = navbar(page)
    expect(nav.get_by_role("link", name="Sign in")).to_be_hidden()
    # The cart and its count stay in sight with the menu closed.
    expect(nav.get_by_test_id("cart-count-phone")).to_be_visible()
    nav.get_by_role("button", name="Toggle navigation").click()
    expect(page.locator("#main-nav")).to_have_class(re.compile(r"\bshow\b"))  # fully open
    expect(nav.get_by_role("link", name="Sign in")).to_be_visible()
    expect(nav.get_by_role("searchbox", name="Search products")).to_be_visible()
    shot(page, "menu-open-375")
    assert sideways_overflow(page) == 0


def test_no_page_scrolls_sideways_on_a_tablet(open_shop_page):
    wide = {}
    for name in SHOP_PAGES:
        page = open_shop_page(name, viewport=TABLET)
        if overflow := sideways_overflow(page):
            wide[name] = overflow
        page.context.close()
    assert wide == {}


def test_the_search_box_is_in_sight_on_a_phone_without_opening_the_menu(open_shop_page):
    page = open_shop_page("home", viewport=MOBILE)
    expect(page.locator("#main-nav")).to_be_hidden()  # the menu stays closed
    search = navbar(page).get_by_role("searchbox", name="Search products")
    expect(search).to_be_visible()
    expect(search).to_be_in_viewport()
    # A usable width: the search row spans the phone's width, not a squeezed box.
    assert search.bounding_box()["width"] > 200
    assert sideways_overflow(page) == 0
    search.fill("lamp")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"/products/\?q=lamp$"))
    expect(page.get_by_test_id("product-card")).to_have_count(2)
