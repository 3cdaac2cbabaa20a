"""The admin fits its screens: the dashboard on a phone, every change list at 1280 px with
the navigation sidebar and the filter sidebar both open."""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from orders.models import Order
from orders.tests.factories import OrderFactory
from products.models import StockMovement
from products.services import product_stock_adjust

from .conftest import DESKTOP, MOBILE
from .helpers import shop_make, shopper_make, shot, sideways_overflow, sign_in, staff_make

pytestmark = pytest.mark.browser

# How far each change list's table sticks out of its box (0 when it fits), and whether the
# page's two sidebars are there.
TABLE_OVERFLOW = """() => {
  const box = document.querySelector('#changelist .results');
  const table = document.querySelector('#result_list');
  return {
    overflow: Math.max(box.scrollWidth - box.clientWidth,
                       table.getBoundingClientRect().right - box.getBoundingClientRect().right),
    nav: !!document.querySelector('#nav-sidebar') &&
         getComputedStyle(document.querySelector('#nav-sidebar')).display !== 'none',
    filter: !!document.querySelector('#changelist-filter'),
  };
}"""

ADMIN_LISTS = [
    "/admin/products/product/",
    "/admin/products/category/",
    "/admin/products/stockmovement/",
    "/admin/orders/order/",
    "/admin/accounts/user/",
    "/admin/auth/group/",
]


def admin_data_make():
    """A catalogue, long names and addresses, orders in every status and stock movements."""
    shop = shop_make()
    staff = staff_make(username="boss", email="boss@example.com")
    Group.objects.get_or_create(name="Store managers")
    for i, status in enumerate(Order.Status.values):
        shopper = shopper_make(
            username=f"customer-with-a-long-username-{i}",
            email=f"someone.with.a.rather.long.address.{i}@example-company-name.com",
            first_name="Maximiliane",
            last_name="Oberhauser-Schwarzenbach",
        )
        OrderFactory(user=shopper, status=status, total="1418.45")
    for product in shop.products.values():
        product_stock_adjust(
            product_id=product.pk,
            change=5,
            reason=StockMovement.Reason.RESTOCK,
            by=staff,
            note="Delivery from the wholesaler, pallet 12 of 20, checked by the night shift",
        )
    return staff


def test_the_dashboard_fits_a_phone(new_context, live_server):
    staff = admin_data_make()
    context = new_context(viewport=MOBILE)
    sign_in(context, staff, live_server.url)
    page = context.new_page()

    page.goto("/admin/")

    expect(page.locator("#dashboard-newest")).to_be_visible()
    shot(page, "admin-dashboard-375")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= MOBILE["width"], f"the dashboard is {width} px wide"
    assert sideways_overflow(page) == 0
    # The newest orders still say who ordered, with the e-mail folded under the name.
    row = page.locator("#dashboard-newest tr").first
    expect(row.locator(".fold").first).to_be_visible()


@pytest.mark.parametrize("width", [DESKTOP["width"], 1440])
@pytest.mark.parametrize("path", ADMIN_LISTS)
def test_every_admin_list_fits_1280_px_with_both_sidebars(new_context, live_server, path, width):
    staff = admin_data_make()
    context = new_context(viewport={**DESKTOP, "width": width})
    sign_in(context, staff, live_server.url)
    page = context.new_page()

    page.goto(path)

    expect(page.locator("#result_list")).to_be_visible()
    shot(page, f"admin-list-{width}" + path.replace("/", "-").rstrip("-"))
    found = page.evaluate(TABLE_OVERFLOW)
    assert found["nav"], "the navigation sidebar is open"
    if path != "/admin/auth/group/":  # groups have no filters
        assert found["filter"], "the filter sidebar is there"
    assert found["overflow"] <= 0, f"{path}: the table sticks out {found['overflow']} px"
    assert sideways_overflow(page) == 0


def test_a_products_images_fit_a_phone(new_context, live_server):
    shop = shop_make()
    staff = staff_make()
    context = new_context(viewport=MOBILE)
    sign_in(context, staff, live_server.url)
    page = context.new_page()

    page.goto(f"/admin/products/product/{shop.products['teapot'].pk}/change/")

    group = page.locator("#images-group")
    expect(group).to_be_visible()
    assert group.evaluate("g => g.scrollWidth - g.clientWidth") <= 0
    scrolling = page.locator("#images-group *").evaluate_all(
        "els => els.filter(e => !['INPUT', 'TEXTAREA'].includes(e.tagName))"
        ".filter(e => e.scrollWidth > e.clientWidth + 1"
        " && getComputedStyle(e).overflowX !== 'visible')"
        ".map(e => `${e.tagName}.${e.className} ${e.scrollWidth}>${e.clientWidth}`)"
    )
    assert scrolling == [], "a box in the images scrolls sideways"
    # (A text box may scroll its own long text.) Every image's fields are on screen.
    right = page.locator("[name='images-1-alt_text']").evaluate(
        "e => e.getBoundingClientRect().right"
    )
    assert right <= MOBILE["width"]
    assert sideways_overflow(page) == 0


def test_the_restock_buttons_are_one_size(new_context, live_server):
    shop_make()
    staff = staff_make()
    context = new_context(viewport=DESKTOP)
    sign_in(context, staff, live_server.url)
    page = context.new_page()
    page.goto("/admin/products/product/")
    page.locator("#action-toggle").check()
    page.locator("select[name=action]").select_option("restock")
    page.get_by_role("button", name="Go").click()

    restock = page.get_by_role("button", name="Restock").bounding_box()
    cancel = page.get_by_role("link", name="Cancel").bounding_box()
    assert round(restock["height"]) == round(cancel["height"])
    assert round(restock["y"]) == round(cancel["y"])
    # The fields line up: both inputs start at the same x.
    xs = page.locator("#id_quantity, #id_note").evaluate_all(
        "els => els.map(e => Math.round(e.getBoundingClientRect().left))"
    )
    assert len(set(xs)) == 1
