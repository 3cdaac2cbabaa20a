"""The pages satisfy the Content-Security-Policy in a real browser.

Chromium enforces the policy the server sends: an inline script or style, an event-handler
attribute or a file from another origin is blocked, fires a `securitypolicyviolation` event
and logs a console error. Each page here is opened as the user who sees it; an init script
records every violation event, and the console is read too. A page passes only when both are
silent, its scripts ran (the checkout's billing toggle, Bootstrap's menu, the admin's widgets)
and the answer carried the policy at all.
"""

import re
from collections import Counter

import pytest
from playwright.sync_api import expect

from .conftest import MOBILE
from .helpers import PASSWORD, field, shop_data_make, shopper_make, sign_in, staff_make

pytestmark = pytest.mark.browser

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(
    `${e.effectiveDirective} refused ${e.blockedURI || "inline code"}` +
    ` (${e.sourceFile || "page"}:${e.lineNumber}) ${e.sample || ""}`.trim()
  );
});
"""


class CspWatch:
    """Violations seen by the pages of one browser context: events and console messages."""

    def __init__(self):
        self.found: list[str] = []

    def attach(self, context) -> None:
        context.add_init_script(RECORD_VIOLATIONS)
        context.on("page", self._watch)

    def _watch(self, page) -> None:
        def on_console(message):
            if re.search("Content.Security.Policy", message.text):
                # The first sentence says what was refused; the rest is advice.
                self.found.append(f"{page.url}: console: {message.text.split('. ')[0]}")

        page.on("console", on_console)

    def collect(self, page) -> None:
        """Move the violation events the page has recorded so far into `found`."""
        events = page.evaluate(
            "() => { const v = window.__cspViolations || [];"
            " window.__cspViolations = []; return v; }"
        )
        self.found.extend(f"{page.url}: {v}" for v in events)

    def report(self) -> str:
        counts = Counter(self.found)
        return "CSP violations:\n" + "\n".join(
            f"{found}{f' (×{n})' if n > 1 else ''}" for found, n in counts.items()
        )


@pytest.fixture
def csp_context(new_context):
    """csp_context(**kwargs) -> (context, watch): a browser context whose CSP violations count."""

    def make(**kwargs):
        context = new_context(**kwargs)
        watch = CspWatch()
        watch.attach(context)
        return context, watch

    return make


def visit(page, watch, path: str, *, status: int = 200) -> None:
    """Open `path`; it must answer `status` with a policy. Violations go to `watch`."""
    response = page.goto(path)
    assert response.status == status, f"{path} answered {response.status}"
    policy = response.headers.get("content-security-policy", "")
    assert "default-src 'self'" in policy, f"{path} has no Content-Security-Policy"
    assert "unsafe-inline" not in policy
    # Lazy images and late styles load while the page is scrolled through.
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_load_state("networkidle")
    watch.collect(page)


def test_a_violation_is_caught_by_the_watch(csp_context, page_problems, live_server):
    """The checks below can fail: code the policy forbids is reported."""
    page_problems.allow("Content Security Policy")
    context, watch = csp_context()
    page = context.new_page()
    visit(page, watch, "/")

    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.__ran = true";
          document.body.append(script);
          document.body.setAttribute("style", "background: red");
        }"""
    )

    expect(page.locator("body")).not_to_have_css("background-color", "rgb(255, 0, 0)")
    assert page.evaluate("window.__ran === undefined")
    page.wait_for_function("window.__cspViolations.length >= 2")
    watch.collect(page)
    found = watch.report()
    assert "script-src" in found
    assert "style-src" in found


def test_a_guests_pages_satisfy_the_policy(csp_context, page_problems, db):
    data = shop_data_make()
    context, watch = csp_context()
    page = context.new_page()
    shop = data.shop
    guest_pages = [
        "/",
        "/products/",
        "/products/?q=lamp&sort=price&in_stock=1&min_price=1&max_price=500",
        "/products/?q=zebra+umbrella",
        shop.categories["lighting"].get_absolute_url(),
        shop.products["teapot"].get_absolute_url(),
        "/cart/",
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password-reset/",
    ]
    for path in guest_pages:
        visit(page, watch, path)
    page_problems.allow(r"status of 404")  # the not-found page itself; nothing on it may fail
    visit(page, watch, "/no-such-page/", status=404)

    # The gallery's carousel (Bootstrap's script) still turns.
    visit(page, watch, shop.products["teapot"].get_absolute_url())
    page.get_by_role("button", name="Next").first.click()
    watch.collect(page)
    assert watch.found == [], watch.report()


def test_a_shoppers_pages_satisfy_the_policy(csp_context, live_server, db):
    data = shop_data_make()
    context, watch = csp_context()
    sign_in(context, data.shopper, live_server.url)
    page = context.new_page()
    shopper_pages = [
        "/",
        "/cart/",
        "/wishlist/",
        "/orders/",
        data.order.get_absolute_url(),
        "/accounts/profile/",
        "/accounts/password/change/",
        data.shop.products["desk_lamp"].get_absolute_url(),
    ]
    for path in shopper_pages:
        visit(page, watch, path)

    # The checkout's own script (static/js/checkout.js) runs: billing folds away and back.
    visit(page, watch, "/checkout/")
    billing = page.get_by_test_id("billing-fields")
    same = page.get_by_label(re.compile("same as shipping", re.IGNORECASE))
    expect(same).to_be_checked()
    expect(billing).to_be_hidden()
    same.uncheck()
    expect(billing).to_be_visible()
    watch.collect(page)
    assert watch.found == [], watch.report()


def test_the_menu_opens_on_a_phone_under_the_policy(csp_context, db):
    shop_data_make()
    context, watch = csp_context(viewport=MOBILE)
    page = context.new_page()
    visit(page, watch, "/products/")

    page.get_by_role("button", name=re.compile("navigation", re.IGNORECASE)).click()
    expect(page.locator(".navbar-collapse.show")).to_be_visible()
    watch.collect(page)
    assert watch.found == [], watch.report()


def test_the_sign_in_and_reset_steps_satisfy_the_policy(csp_context, db):
    data = shop_data_make()
    context, watch = csp_context()
    page = context.new_page()
    visit(page, watch, "/accounts/login/")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_label(re.compile("Username", re.IGNORECASE)).fill(data.shopper.username)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")
    watch.collect(page)

    visit(page, watch, "/accounts/password-reset/")
    page.get_by_label(re.compile("e-?mail", re.IGNORECASE)).fill(data.shopper.email)
    page.get_by_role("button", name=re.compile("code", re.IGNORECASE)).click()
    expect(page).to_have_url(re.compile("/accounts/password-reset/confirm/"))
    page.wait_for_load_state("networkidle")
    watch.collect(page)

    visit(page, watch, "/accounts/signup/")
    page.get_by_label("Username").fill("grace")
    page.get_by_label("Email address").fill("grace@example.com")
    field(page, "Password").fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/accounts/verify/$"))
    page.wait_for_load_state("networkidle")
    watch.collect(page)

    visit(page, watch, "/accounts/login/")
    page.get_by_label(re.compile("Username", re.IGNORECASE)).fill(data.shopper.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/$"))
    watch.collect(page)
    assert watch.found == [], watch.report()


def test_the_admin_satisfies_the_policy(csp_context, live_server, db, tmp_path):
    data = shop_data_make()
    staff = staff_make()
    context, watch = csp_context()
    page = context.new_page()
    visit(page, watch, "/admin/login/")
    sign_in(context, staff, live_server.url)
    teapot = data.shop.products["teapot"]

    visit(page, watch, "/admin/")
    expect(page.locator("#dashboard-sales")).to_be_visible()
    # The dashboard's styles come from static/css/admin.css, not a <style> block.
    assert page.locator(".dashboard-panels").evaluate("e => getComputedStyle(e).display") == "grid"
    page.get_by_text("Show the numbers").click()
    expect(page.locator("#sales-table")).to_be_visible()

    visit(page, watch, "/admin/products/product/")
    page.locator("#action-toggle").check()  # the admin's actions.js
    expect(page.locator(".action-counter")).to_contain_text("selected")
    page.locator("select[name=action]").select_option("restock")
    page.get_by_role("button", name="Go").click()
    expect(page.get_by_role("button", name="Restock")).to_be_visible()  # our restock page
    page.wait_for_load_state("networkidle")
    watch.collect(page)
    visit(page, watch, "/admin/products/product/?low_stock=yes&q=lamp")

    visit(page, watch, f"/admin/products/product/{teapot.pk}/change/")
    page.get_by_role("link", name=re.compile("Add another", re.IGNORECASE)).first.click()
    page.get_by_text("Dates", exact=True).click()  # a collapsed fieldset opens
    watch.collect(page)
    visit(page, watch, "/admin/products/product/add/")
    visit(page, watch, "/admin/products/category/")
    visit(page, watch, f"/admin/orders/order/{data.order.pk}/change/")
    page.get_by_role("button", name=re.compile("Mark as paid", re.IGNORECASE)).click()
    expect(page.locator(".messagelist")).to_be_visible()
    page.wait_for_load_state("networkidle")
    watch.collect(page)
    visit(page, watch, "/admin/orders/order/")
    shopper_make(username="blocked", is_active=False)  # the list marks blocked users
    visit(page, watch, "/admin/accounts/user/")
    visit(page, watch, f"/admin/accounts/user/{data.shopper.pk}/change/")
    visit(page, watch, "/admin/products/stockmovement/")

    # CSV export, then import of the same file up to its confirmation page.
    visit(page, watch, "/admin/products/product/export/")
    # "Select all" is wired by static/js/admin-export.js, not an inline handler.
    fields = page.locator('.selectable-field-export-row input[type="checkbox"]')
    expect(fields.first).to_be_checked()
    page.get_by_label("Select all").uncheck()
    expect(
        page.locator('.selectable-field-export-row input[type="checkbox"]:checked')
    ).to_have_count(0)
    page.get_by_label("Select all").check()
    expect(fields.last).to_be_checked()
    with page.expect_download() as download:
        page.get_by_role("button", name="Submit").click()
    exported = tmp_path / "products.csv"
    download.value.save_as(exported)
    watch.collect(page)

    # The preview with changes in it: the teapot's price goes from 1249.95 to 1199.95. Its
    # diff cells once carried inline styles that the policy refused, running the values
    # together; now the old value is struck through beside the new one.
    changed = tmp_path / "products-changed.csv"
    changed.write_text(exported.read_text().replace(",1249.95,", ",1199.95,"))
    visit(page, watch, "/admin/products/product/import/")
    page.locator("input[type=file]").set_input_files(changed)
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("button", name="Confirm import")).to_be_visible()
    row = page.locator("table.import-preview tr.update")
    expect(row).to_have_count(1)
    expect(row.locator("del.import-old")).to_have_text("1249.95")
    expect(row.locator("ins.import-new")).to_have_text("1199.95")
    assert (
        row.locator("del.import-old").evaluate("e => getComputedStyle(e).textDecorationLine")
        == "line-through"
    )
    page.wait_for_load_state("networkidle")
    watch.collect(page)

    # A file with bad rows: every problem is listed, in words, under the same policy.
    broken = tmp_path / "products-broken.csv"
    broken.write_text(
        exported.read_text().replace(",1199.95,", ",abc,").replace(",1249.95,", ",abc,")
    )
    visit(page, watch, "/admin/products/product/import/")
    page.locator("input[type=file]").set_input_files(broken)
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#import-problems")).to_contain_text("price: “abc” is not a number.")
    page.wait_for_load_state("networkidle")
    watch.collect(page)
    assert watch.found == [], watch.report()
