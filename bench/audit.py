"""`make audit`: the outside audits of every shopper page, guest and signed in.

It starts the shop as production runs it (gunicorn, DEBUG=False) on a loopback port with a fresh
SQLite demo database (`seed_demo --force`), fills a guest's cart and a signed-in shopper's cart,
wishlist and orders through the pages themselves, and then, for every shopper page:

  * the Nu Html Checker (npm `vnu-jar`, `--errors-only`) on the HTML as that visitor gets it,
  * pa11y with the WCAG2AA standard (errors),
  * Lighthouse 12, the accessibility and SEO categories (each must score 100).

Signed-in pages are fetched with the shopper's session cookie (vnu gets the saved files; pa11y
and Lighthouse send the cookie). It prints a table and exits 0 only when there is no vnu or
pa11y error and every score is 100 (1 otherwise, 2 when a tool is missing or the shop does not
start). Only 127.0.0.1 is ever contacted, and every process it started is stopped at the end.

The node tools live in .audit/ (package.json committed, node_modules ignored):
    cd .audit && PUPPETEER_SKIP_DOWNLOAD=1 npm ci
Chromium is Debian's (/usr/bin/chromium); Java 17+ runs vnu.jar.

Environment (all optional): AUDIT_ONLY=home,list (page names), AUDIT_SKIP_LIGHTHOUSE=1,
AUDIT_LIGHTHOUSE=all (Lighthouse on the near-duplicate pages too).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from checkout import CHECKOUT_FORM, hidden_fields
from loopback import HOST, OUT, ROOT, SetupError, free_port, gunicorn, manage, shop_env

AUDIT_DIR = ROOT / ".audit"
NODE_BIN = AUDIT_DIR / "node_modules" / ".bin"
VNU_JAR = AUDIT_DIR / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
CHROMIUM = Path(os.environ.get("AUDIT_CHROMIUM", "/usr/bin/chromium"))
# The same switches as the browser tests (e2e/conftest.py CHROMIUM_ARGS), and no traffic
# anywhere but the shop: no component updates, no sync, no safe-browsing look-ups.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
]
SHOPPER = ("shopper", "shopper-demo-1")  # seed_demo's demo shopper
TOOL_SECONDS = 120


@dataclass
class Page:
    name: str
    path: str
    who: str  # the session that visits: "guest", "shopper", "newcomer" (signing up), "resetter"
    # Lighthouse takes most of the time: pages that differ from another only by data skip it
    # (unless AUDIT_LIGHTHOUSE=all); a 404 page cannot score 100 for SEO, by design.
    lighthouse: bool = True
    results: dict[str, object] = field(default_factory=dict)


def shop_pages(product_paths: list[str], order_path: str) -> list[Page]:
    with_images, without_image = product_paths[0], product_paths[-1]
    return [
        Page("home", "/", "guest"),
        Page("list", "/products/", "guest"),
        Page("list-page-2", "/products/?sort=price&page=2", "guest", lighthouse=False),
        Page("list-bad-filter", "/products/?min_price=abc&max_price=-1", "guest"),
        Page("search", "/products/?q=headphones", "guest"),
        Page("search-empty", "/products/?q=zzzzzz", "guest", lighthouse=False),
        Page("category", "/categories/electronics/", "guest"),
        Page("product", with_images, "guest"),
        Page("product-no-image", without_image, "guest"),
        Page("cart", "/cart/", "guest"),
        Page("sign-in", "/accounts/login/?next=/checkout/", "guest"),
        Page("sign-up", "/accounts/signup/", "guest"),
        Page("password-reset", "/accounts/password-reset/", "guest"),
        Page("not-found", "/products/no-such-product/", "guest", lighthouse=False),
        Page("verify", "/accounts/verify/", "newcomer"),
        Page("password-reset-code", "/accounts/password-reset/confirm/", "resetter"),
        Page("home-signed-in", "/", "shopper", lighthouse=False),
        Page("list-signed-in", "/products/?category=audio", "shopper"),
        Page("product-signed-in", with_images, "shopper", lighthouse=False),
        Page("cart-signed-in", "/cart/", "shopper"),
        Page("wishlist", "/wishlist/", "shopper"),
        Page("checkout", "/checkout/", "shopper"),
        Page("orders", "/orders/", "shopper"),
        Page("order", order_path, "shopper"),
        Page("profile", "/accounts/profile/", "shopper"),
        Page("password-change", "/accounts/password/change/", "shopper"),
    ]


# ------------------------------------------------------------------------------
# Visitors
# ------------------------------------------------------------------------------
class Visitor(requests.Session):
    """A browser-like session on the shop: relative paths, CSRF token from the cookie."""

    def __init__(self, base: str):
        super().__init__()
        self.base = base

    def request(self, method, url, *args, **kwargs):  # noqa: D102
        kwargs.setdefault("timeout", 30)
        return super().request(method, self.base + url, *args, **kwargs)

    def submit(self, form_path: str, action: str, data: dict[str, str]) -> requests.Response:
        """GET the page with the form, POST it with its hidden fields (CSRF, tokens)."""
        page = self.get(form_path)
        page.raise_for_status()
        response = self.post(
            action, data={**hidden_fields(page.text), **data}, headers={"Referer": page.url}
        )
        if response.status_code >= 400:
            raise SetupError(f"POST {action} answered {response.status_code}")
        return response


def add_to_cart_actions(html: str) -> list[str]:
    return re.findall(r'action="(/cart/add/\d+/)"', html)


def prepare_visitors(base: str) -> tuple[dict[str, Visitor], list[str], str]:
    """Sessions for every kind of visitor, with something in their carts, wishlist and orders."""
    guest, shopper, newcomer, resetter = (Visitor(base) for _ in range(4))
    listing = guest.get("/products/?sort=name").text
    product_paths = list(dict.fromkeys(re.findall(r'href="(/products/[\w-]+/)"', listing)))
    # A product with several pictures (the gallery) first, one without a picture last.
    detail = {path: guest.get(path).text for path in product_paths[:12]}
    gallery = [p for p, html in detail.items() if "carousel-control-next" in html]
    no_image = [p for p, html in detail.items() if "placeholder-image" in html]
    product_paths = (gallery or product_paths)[:1] + (no_image or product_paths)[:1]

    in_stock = add_to_cart_actions(listing)
    guest.submit("/products/", in_stock[0], {"quantity": "1"})

    shopper.submit(
        "/accounts/login/", "/accounts/login/", {"username": SHOPPER[0], "password": SHOPPER[1]}
    )
    if "sessionid" not in shopper.cookies:
        raise SetupError("the demo shopper could not sign in")
    shopper.submit("/products/", in_stock[1], {"quantity": "2"})
    placed = shopper.submit(
        "/checkout/", "/checkout/", {**CHECKOUT_FORM, "payment_method": "bank_transfer"}
    )
    order_paths = re.findall(r"/orders/[\w-]+/", placed.url)
    if not order_paths:
        raise SetupError(f"checkout did not lead to an order page but to {placed.url}")
    shopper.submit("/products/", in_stock[2], {"quantity": "1"})
    wish = re.findall(r'action="(/wishlist/add/\d+/)"', shopper.get(product_paths[0]).text)
    if wish:
        shopper.submit(product_paths[0], wish[0], {})

    suffix = secrets.token_hex(3)
    newcomer.submit(
        "/accounts/signup/",
        "/accounts/signup/",
        {
            "username": f"audit{suffix}",
            "email": f"audit{suffix}@example.com",
            "password1": "an-audit-passw0rd",
            "password2": "an-audit-passw0rd",
        },
    )
    resetter.submit(
        "/accounts/password-reset/", "/accounts/password-reset/", {"email": "shopper@example.com"}
    )
    visitors = {"guest": guest, "shopper": shopper, "newcomer": newcomer, "resetter": resetter}
    return visitors, product_paths, order_paths[0]


# ------------------------------------------------------------------------------
# The tools
# ------------------------------------------------------------------------------
def run_vnu(pages: list[Page], visitors: dict[str, Visitor], folder: Path) -> None:
    files = {}
    for page in pages:
        response = visitors[page.who].get(page.path, allow_redirects=False)
        page.results["status"] = response.status_code
        path = folder / f"{page.name}.html"
        path.write_bytes(response.content)
        files[path.resolve().as_uri()] = page
        page.results["vnu"] = []
    done = subprocess.run(
        [
            "java",
            "-jar",
            str(VNU_JAR),
            "--errors-only",
            "--format",
            "json",
            *map(str, [folder / f"{page.name}.html" for page in pages]),
        ],
        capture_output=True,
        text=True,
        timeout=TOOL_SECONDS * 2,
    )
    report = json.loads(done.stderr or done.stdout or '{"messages": []}')
    for message in report.get("messages", []):
        url = message.get("url", "")
        page = files.get(url) or next((p for u, p in files.items() if u.endswith(url[-40:])), None)
        text = f"line {message.get('lastLine', '?')}: {message.get('message')}"
        if page is None:
            raise SetupError(f"vnu: {text}")
        page.results["vnu"].append(text)


def run_browser_audits(pages: list[Page], base: str, visitors: dict[str, Visitor], folder: Path):
    """pa11y and Lighthouse on every page, one page after another in one Chromium
    (.audit/audit.mjs): a browser per page would triple the run."""
    lighthouse = not os.environ.get("AUDIT_SKIP_LIGHTHOUSE")
    every_page = os.environ.get("AUDIT_LIGHTHOUSE") == "all"
    job = {
        "chromium": str(CHROMIUM),
        "flags": CHROMIUM_ARGS,
        "pages": [
            {
                "name": page.name,
                "url": base + page.path,
                "cookies": {c.name: c.value for c in visitors[page.who].cookies},
                "lighthouse": lighthouse
                and (page.lighthouse or (every_page and page.results.get("status") == 200)),
            }
            for page in pages
        ],
    }
    job_path, results_path = folder / "browser-job.json", folder / "browser-results.json"
    job_path.write_text(json.dumps(job))
    done = subprocess.run(
        ["node", str(AUDIT_DIR / "audit.mjs"), str(job_path), str(results_path)],
        cwd=AUDIT_DIR,
        capture_output=True,
        text=True,
        timeout=TOOL_SECONDS * len(pages),
    )
    if not results_path.exists():
        raise SetupError(f"the browser audits failed:\n{done.stdout}\n{done.stderr}"[-3000:])
    results = json.loads(results_path.read_text())
    for page in pages:
        result = results.get(page.name, {})
        page.results["pa11y"] = [
            f"{issue.get('code')}: {issue.get('message')} [{issue.get('selector', '')}]"
            for issue in result.get("pa11y", [{"code": "not run", "message": done.stderr[-300:]}])
        ]
        page.results["seconds"] = sum(result.get("seconds", {}).values())
        if "lighthouse" in result:
            page.results["lighthouse"] = result["lighthouse"]
            final = result.get("finalUrl")
            if final and final != base + page.path:  # a redirect audited another page
                result["lighthouse"].setdefault("failed", []).append(f"ended on {final}")


# ------------------------------------------------------------------------------
def missing_tools() -> list[str]:
    missing = []
    if not VNU_JAR.exists() or not (NODE_BIN / "pa11y").exists():
        missing.append("the node tools (cd .audit && PUPPETEER_SKIP_DOWNLOAD=1 npm ci)")
    if not shutil.which("java"):
        missing.append("java (apt-get install openjdk-17-jre-headless)")
    if not CHROMIUM.exists():
        missing.append(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    return missing


def problems_of(page: Page) -> list[str]:
    found = [f"vnu {m}" for m in page.results.get("vnu", [])]
    found += [f"pa11y {m}" for m in page.results.get("pa11y", [])]
    lighthouse = page.results.get("lighthouse")
    if lighthouse and "error" in lighthouse:
        found.append(f"lighthouse failed: {lighthouse['error']}")
    elif lighthouse:
        found += [f"lighthouse {m}" for m in lighthouse["failed"]]
        found += [
            f"lighthouse {key} score {score}"
            for key, score in lighthouse["scores"].items()
            if score < 100
        ]
    return found


def print_table(pages: list[Page]) -> None:
    columns = ("HTTP", "vnu", "pa11y", "a11y", "SEO", "secs")
    print(f"\n{'page':<22} {'who':<9} " + " ".join(f"{c:>5}" for c in columns) + "  path")
    for page in pages:
        lighthouse = page.results.get("lighthouse") or {}
        scores = lighthouse.get("scores", {})
        a11y = scores.get("accessibility", "err" if lighthouse else "-")
        seo = scores.get("seo", "err" if lighthouse else "-")
        print(
            f"{page.name:<22} {page.who:<9} {page.results.get('status', '?'):>5} "
            f"{len(page.results.get('vnu', [])):>5} {len(page.results.get('pa11y', [])):>5} "
            f"{a11y:>5} {seo:>5} {page.results.get('seconds', 0):>5.0f}  {page.path}"
        )
    for page in pages:
        for problem in problems_of(page):
            print(f"  {page.name}: {problem}")


def main() -> int:
    missing = missing_tools()
    if missing:
        print("make audit needs " + "; ".join(missing), file=sys.stderr)
        return 2
    OUT.mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="audit-", dir=OUT))
    env = shop_env(
        secret_key=secrets.token_urlsafe(40),
        database_url=f"sqlite:///{workdir / 'db.sqlite3'}",
        cache_url="locmemcache://",
        workdir=workdir,
        GUNICORN_WORKERS="1",  # one process: one local-memory cache, never a stale page
        GUNICORN_THREADS="4",
    )
    port = free_port()
    base = f"http://{HOST}:{port}"
    server = gunicorn("shop", env, port, workdir / "gunicorn.log")
    try:
        started = time.monotonic()
        print("Setting up the shop (migrate, seed_demo, collectstatic)…", flush=True)
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo", "--force")
        manage(env, "collectstatic", "--noinput")
        server.start()
        server.wait_healthy()
        visitors, product_paths, order_path = prepare_visitors(base)
        pages = shop_pages(product_paths, order_path)
        only = {name for name in os.environ.get("AUDIT_ONLY", "").split(",") if name}
        if only:
            pages = [page for page in pages if page.name in only]

        print(
            f"Set up in {time.monotonic() - started:.0f} s. Auditing {len(pages)} pages…",
            flush=True,
        )
        started = time.monotonic()
        run_vnu(pages, visitors, workdir)
        print(f"vnu: {time.monotonic() - started:.0f} s", flush=True)
        started = time.monotonic()

        run_browser_audits(pages, base, visitors, workdir)
        print(f"pa11y and Lighthouse: {time.monotonic() - started:.0f} s", flush=True)
    except (SetupError, requests.RequestException, subprocess.TimeoutExpired, OSError) as exc:
        print(f"make audit could not run: {exc}\n{server.tail()}", file=sys.stderr)
        return 2
    finally:
        server.stop()

    print_table(pages)
    failures = sum(bool(problems_of(page)) for page in pages)
    if failures:
        print(f"\n{failures} of {len(pages)} pages have problems (files in {workdir}).")
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nAll {len(pages)} pages: no vnu or pa11y errors, Lighthouse 100/100.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
