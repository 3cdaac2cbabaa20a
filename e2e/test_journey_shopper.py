"""A new shopper signs up with a guest cart, uses the wishlist, checks out and cancels."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from carts.models import CartItem
from orders.models import Order

from .helpers import (
    PASSWORD,
    axe_violations,
    cart_count,
    expect_message,
    field,
    last_code,
    navbar,
    shop_make,
    shot,
)

pytestmark = pytest.mark.browser


def test_new_shopper_signs_up_wishes_checks_out_and_cancels(page, mailoutbox):
    shop = shop_make()
    lamp, kettle = shop.products["desk_lamp"], shop.products["kettle"]

    # As a guest: one lamp in the cart.
    page.goto(lamp.get_absolute_url())
    page.get_by_role("button", name="Add to cart").click()
    expect(cart_count(page)).to_have_text("1")

    # Sign up.
    navbar(page).get_by_role("link", name="Sign up").click()
    expect(page).to_have_title(re.compile(r"^Sign up · "))
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Email address").fill("ada@example.com")
    field(page, "Password").fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()

    # Confirm the address with the code from the e-mail.
    expect(page).to_have_url(re.compile(r"/accounts/verify/$"))
    expect_message(page, "We have e-mailed a 6-digit code to ada@example.com")
    assert axe_violations(page) == []
    shot(page, "verify-1280")
    page.get_by_label("Code").fill(last_code(mailoutbox, "ada@example.com"))
    page.get_by_role("button", name="Confirm").click()
    expect_message(page, "Your e-mail address is confirmed. Welcome!")
    expect(navbar(page).get_by_role("button", name="ada")).to_be_visible()
    user = User.objects.get(username="ada")
    assert user.email_verified

    # The guest's cart is now the account's cart.
    expect(cart_count(page)).to_have_text("1")
    assert list(CartItem.objects.filter(cart__user=user).values_list("product", "quantity")) == [
        (lamp.pk, 1)
    ]

    # Wish for a kettle, then move it to the cart.
    page.goto(kettle.get_absolute_url())
    page.get_by_role("button", name="Add to wishlist").click()
    expect_message(page, "Added Stovetop kettle to your wishlist.")
    expect(page.get_by_role("button", name="In your wishlist")).to_have_attribute(
        "aria-pressed", "true"
    )
    navbar(page).get_by_role("link", name="Wishlist").click()
    expect(page).to_have_title(re.compile(r"^Your wishlist · "))
    page.get_by_test_id("wishlist-item").get_by_role(
        "button", name=re.compile(r"^Move to cart")
    ).click()
    expect_message(page, "Moved Stovetop kettle to your cart.")
    expect(page.get_by_test_id("wishlist-empty")).to_be_visible()
    expect(cart_count(page)).to_have_text("2")

    # Check out.
    navbar(page).get_by_role("link", name=re.compile(r"^Cart")).click()
    expect(page.get_by_test_id("cart-total")).to_have_text("59.50 USD")
    page.get_by_role("link", name="Checkout").click()
    expect(page).to_have_title(re.compile(r"^Checkout · "))
    expect(page.get_by_test_id("summary-total")).to_have_text("59.50 USD")
    shipping = page.get_by_role("group", name="Shipping address")
    shipping.get_by_label("Full name").fill("Ada Lovelace")
    shipping.get_by_label("Address line 1").fill("12 St James's Square")
    shipping.get_by_label("Postal code").fill("SW1Y 4JH")
    shipping.get_by_label("City").fill("London")
    shipping.get_by_label("Country").select_option("GB")
    page.get_by_label("Cash on delivery").check()
    page.get_by_role("button", name=re.compile(r"^Place order")).click()

    # The order page.
    order = Order.objects.get(user=user)
    expect(page).to_have_url(re.compile(rf"/orders/{order.number}/$"))
    expect_message(page, f"Thank you! Your order {order.number} has been placed.")
    shot(page, "order-placed-1280")
    expect(page).to_have_title(re.compile(rf"^Order {order.number} · "))
    expect(page.get_by_test_id("order-item")).to_have_count(2)
    expect(page.get_by_test_id("order-total")).to_have_text("59.50 USD")
    expect(page.get_by_test_id("status-badge").first).to_have_text("Pending")
    expect(cart_count(page)).to_have_text("0")
    assert [m.to for m in mailoutbox if order.number in m.subject] == [["ada@example.com"]]

    # The order history, then cancel.
    navbar(page).get_by_role("button", name="ada").click()
    navbar(page).get_by_role("link", name="My orders").click()
    expect(page).to_have_title(re.compile(r"^Your orders · "))
    rows = page.get_by_test_id("order-row")
    expect(rows).to_have_count(1)
    rows.get_by_role("link", name=order.number).click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel order").click()
    expect_message(page, f"Order {order.number} has been cancelled.")
    expect(page.get_by_test_id("status-badge").first).to_have_text("Cancelled")
    expect(page.get_by_role("button", name="Cancel order")).to_have_count(0)
    lamp.refresh_from_db()
    kettle.refresh_from_db()
    assert (lamp.stock, kettle.stock) == (10, 8)
