"""Browser tests: one headless Chromium per session, a fresh context per test.

Every page a test opens is watched: a console error, an uncaught exception or a request to
any host but the live server fails the test when it ends.
"""

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
]
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 375, "height": 740}
TABLET = {"width": 768, "height": 1024}
# Generous for a loaded 2-core CI machine; expect() retries until then, so no sleeps.
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        message = f"no Chromium at {CHROMIUM}: apt-get install chromium (or set E2E_CHROMIUM)"
        if os.environ.get("E2E_REQUIRE_BROWSER"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import expect, sync_playwright

    # Playwright's sync API runs an event loop in this thread, which makes Django refuse
    # ORM calls from the test itself; they are plain blocking calls, so allow them.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def _plain_http():
    """Settings for a live server that speaks plain HTTP.

    Middleware reads its settings once, when the server starts, so these must be in place
    before then; a function-scoped `settings` change would come too late.
    """
    from django.test import override_settings

    with override_settings(
        SECURE_SSL_REDIRECT=False,
        SESSION_COOKIE_SECURE=False,
        CSRF_COOKIE_SECURE=False,
        SECURE_HSTS_SECONDS=0,
    ):
        yield


@pytest.fixture(scope="session")
def live_server(_plain_http, live_server):
    # Arguments are set up in order: the settings first, then pytest-django's server.
    return live_server


@pytest.fixture(autouse=True)
def _live_server_urls(settings):
    settings.ROOT_URLCONF = "e2e.urls"  # serves uploaded product images too


class PageProblems:
    """What the watched pages did wrong; a test may allow a problem it provokes on purpose."""

    def __init__(self, host: str):
        self.host = host
        self.found: list[str] = []
        self.allowed: list[re.Pattern] = []

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def add(self, problem: str) -> None:
        self.found.append(problem)

    def on_request(self, request) -> None:
        url = urlsplit(request.url)
        if url.scheme in {"data", "blob", "about"}:
            return
        if url.hostname != self.host:
            self.add(f"request to another host: {request.url}")

    def watch(self, page) -> None:
        def on_console(message):
            if message.type == "error":
                self.add(f"console error on {page.url}: {message.text}")

        def on_response(response):
            # The console says only "404"; name the file. Pages themselves may answer 4xx.
            if response.status >= 400 and response.request.resource_type != "document":
                self.add(f"HTTP {response.status} for {response.url} on {page.url}")

        page.on("console", on_console)
        page.on("response", on_response)
        page.on("pageerror", lambda error: self.add(f"uncaught error on {page.url}: {error}"))

    def unexpected(self) -> list[str]:
        return [p for p in self.found if not any(a.search(p) for a in self.allowed)]


@pytest.fixture
def page_problems(live_server):
    return PageProblems(urlsplit(live_server.url).hostname)


@pytest.fixture
def new_context(browser, live_server, page_problems):
    """Make a browser context (a separate browser profile: own cookies) on the live server."""
    contexts = []

    def make(*, viewport=DESKTOP, **kwargs):
        context = browser.new_context(base_url=live_server.url, viewport=viewport, **kwargs)
        context.set_default_timeout(TIMEOUT_MS)
        context.on("request", page_problems.on_request)
        context.on("page", page_problems.watch)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    if problems := page_problems.unexpected():
        pytest.fail("The browser saw problems:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def context(new_context):
    return new_context()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture
def open_shop_page(new_context, live_server):
    """open_shop_page(name, viewport=DESKTOP): a page of e2e.helpers.SHOP_PAGES, loaded.

    The data (a catalogue, a shopper with an order, a cart and a wishlist) is made once a test.
    """
    from .helpers import SHOP_PAGES, shop_data_make, sign_in

    data = []

    def open_page(name, *, viewport=DESKTOP):
        if not data:
            data.append(shop_data_make())
        path, signed_in = SHOP_PAGES[name]
        context = new_context(viewport=viewport)
        if signed_in:
            sign_in(context, data[0].shopper, live_server.url)
        page = context.new_page()
        page.goto(path(data[0]))
        return page

    return open_page
