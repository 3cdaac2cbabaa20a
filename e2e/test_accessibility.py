"""Every shopper-facing page passes axe-core, labels its fields, describes its images,
and shows where the keyboard focus is."""

import re

import pytest
from playwright.sync_api import expect

from .helpers import (
    AUDITED_PAGES,
    SHOP_PAGES,
    axe_violations,
    images_without_alt,
    shot,
    unlabelled_fields,
)

pytestmark = pytest.mark.browser

OTHER_PAGES = [name for name in SHOP_PAGES if name not in AUDITED_PAGES]


@pytest.mark.parametrize("name", AUDITED_PAGES + OTHER_PAGES)
def test_page_has_no_serious_accessibility_problems(open_shop_page, name):
    page = open_shop_page(name)
    shot(page, f"{name}-1280")
    # Each page names itself before the shop's name.
    expect(page).to_have_title(re.compile(r"^(?!myecommerce ·).+ · myecommerce$"))
    found = {
        "axe serious/critical": axe_violations(page),
        "fields without a label": unlabelled_fields(page),
        "images without alt": images_without_alt(page),
    }
    assert found == {key: [] for key in found}


FOCUS_RING = """() => {
  const s = getComputedStyle(document.activeElement);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  return outline || s.boxShadow !== 'none';
}"""


@pytest.mark.parametrize("name", ["list", "cart", "checkout"])
def test_keyboard_focus_is_always_visible(open_shop_page, name):
    page = open_shop_page(name)
    page.locator("body").focus()
    unseen = []
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement === document.body"):
            break  # past the last control: focus went to the browser
        if not page.evaluate(FOCUS_RING):
            unseen.append(page.evaluate("document.activeElement.outerHTML.slice(0, 100)"))
    assert unseen == []


def test_skip_link_appears_on_first_tab_and_jumps_to_the_content(open_shop_page):
    page = open_shop_page("home")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    assert skip.evaluate("el => el === document.activeElement")
    assert skip.is_visible()
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
