"""Staff run the shop from /admin/: stock, blocking a shopper, shipping an order."""

import re

import pytest
from playwright.sync_api import expect

from orders.models import Order
from orders.tests.factories import OrderFactory, OrderItemFactory
from products.models import StockMovement

from .helpers import PASSWORD, field, navbar, shop_make, shopper_make, shot, sign_in, staff_make

pytestmark = pytest.mark.browser


def test_staff_edit_stock_block_a_shopper_and_ship_an_order(page, new_context, live_server):
    shop = shop_make()
    lamp = shop.products["desk_lamp"]
    staff_make(username="boss", email="boss@example.com")
    shopper = shopper_make(username="mallory", email="mallory@example.com")
    order = OrderFactory(user=shopper, status=Order.Status.PAID)
    OrderItemFactory(order=order, product=lamp, unit_price="24.50", quantity=1)

    # The shopper is browsing in their own browser.
    shopper_page = new_context().new_page()
    sign_in(shopper_page.context, shopper, live_server.url)
    shopper_page.goto("/")
    expect(navbar(shopper_page).get_by_role("button", name="mallory")).to_be_visible()

    # Staff sign in to the admin.
    page.goto("/admin/")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_title(re.compile(r"^Dashboard"))
    shot(page, "admin-dashboard-1280")

    # Stock, edited in the product list.
    page.locator(".model-product").get_by_role("link", name="Products", exact=True).first.click()
    row = page.get_by_role("row").filter(has_text="Brass desk lamp")
    row.locator("td.field-stock").get_by_role("spinbutton").fill("42")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    lamp.refresh_from_db()
    assert lamp.stock == 42
    movement = StockMovement.objects.filter(product=lamp).latest("pk")
    assert (movement.change, movement.resulting_stock) == (32, 42)

    # Block the shopper.
    page.goto("/admin/accounts/user/")
    page.get_by_role("row").filter(has_text="mallory").get_by_role("checkbox").check()
    page.get_by_label("Action:").select_option(label="Block selected users")
    page.get_by_role("button", name="Go").click()
    expect(page.locator(".messagelist")).to_contain_text("Blocked 1 user")
    expect(page.get_by_role("row").filter(has_text="mallory")).to_contain_text("Blocked")

    # The shopper's open session ends on their next page load.
    shopper_page.reload()
    expect(navbar(shopper_page).get_by_role("link", name="Sign in")).to_be_visible()
    expect(navbar(shopper_page).get_by_role("button", name="mallory")).to_have_count(0)
    # Signing in again is refused, and says why.
    navbar(shopper_page).get_by_role("link", name="Sign in").click()
    field(shopper_page, "Username or e-mail").fill("mallory")
    field(shopper_page, "Password").fill(PASSWORD)
    shopper_page.get_by_role("button", name="Sign in").click()
    expect(shopper_page.get_by_role("alert")).to_contain_text("Your account is blocked.")

    # Ship the paid order from its page.
    page.goto(f"/admin/orders/order/{order.pk}/change/")
    page.get_by_role("button", name="Mark as shipped").click()
    expect(page.locator(".messagelist")).to_contain_text("1 order marked as shipped")
    shot(page, "admin-order-1280")
    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED
