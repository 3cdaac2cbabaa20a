"""`make soak`: mixed traffic from 50 shoppers against gunicorn on PostgreSQL, then the books.

It creates its own PostgreSQL database (`myecommerce_soak_<pid>`), migrates it, generates a
catalogue (a few "hot" products get a small stock so shoppers compete for them), creates 50
verified shoppers, and serves the shop with gunicorn (gunicorn.conf.py, DEBUG=False, Redis
cache) on a free loopback port. Then one thread per shopper (each its own cookie jar, so its
own session) and a few guests browse, search, filter, open products, fill and change carts,
add and remove wishlist items, check out (some checkouts must be refused: the hot products run
out) and cancel some orders, for SOAK_SECONDS or SOAK_MAX_REQUESTS, whichever comes first.
Every form is read from the page it is on, CSRF token included.

Then it checks the books in the database:
  - no response was a 5xx, no request failed, none answered an unexpected status;
  - every checkout the shoppers saw succeed (a redirect to an order page) is an order row of
    theirs, and every order row is one they saw; every cancel they saw is a cancelled order;
  - every order's lines match its stock movements (products.StockMovement "order placed",
    and "order cancelled" exactly for the cancelled orders), and no other movement happened;
  - for every product: initial stock − sold + cancelled = final stock, never negative, and
    its movements chain (each movement's resulting stock follows from the one before).
It prints those figures and exits 1 if anything does not balance (2 on a set-up failure,
130 when interrupted). Whatever happens, it stops gunicorn, drops its database (unless
SOAK_KEEP_DB=1) and empties its Redis database.

Environment (all optional):
    SOAK_SECONDS=180  SOAK_MAX_REQUESTS=200000  SOAK_USERS=50  SOAK_GUESTS=5
    SOAK_PRODUCTS=2000  SOAK_HOT_PRODUCTS=5  SOAK_HOT_STOCK=4  SOAK_SEED=1
    SOAK_PG_URL=postgres://postgres@127.0.0.1:5432/postgres
    SOAK_REDIS_URL=redis://127.0.0.1:6379/12  SOAK_KEEP_DB=0
    SOAK_TIMEOUT=<seconds; default SOAK_SECONDS + 600: the whole run is stopped after that>
    GUNICORN_WORKERS / GUNICORN_THREADS  (defaults from gunicorn.conf.py)
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from checkout import CHECKOUT_FORM
from loopback import (
    HOST,
    ROOT,
    SetupError,
    free_port,
    gunicorn,
    manage,
    pg_admin,
    redis_flush,
    require_loopback,
    shop_env,
    with_dbname,
)

SECONDS = float(os.environ.get("SOAK_SECONDS", "180"))
MAX_REQUESTS = int(os.environ.get("SOAK_MAX_REQUESTS", "200000"))
USERS = int(os.environ.get("SOAK_USERS", "50"))
GUESTS = int(os.environ.get("SOAK_GUESTS", "5"))
PRODUCTS = int(os.environ.get("SOAK_PRODUCTS", "2000"))
HOT_PRODUCTS = int(os.environ.get("SOAK_HOT_PRODUCTS", "5"))
HOT_STOCK = int(os.environ.get("SOAK_HOT_STOCK", "4"))
SEED = int(os.environ.get("SOAK_SEED", "1"))
PG_URL = os.environ.get("SOAK_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("SOAK_REDIS_URL", "redis://127.0.0.1:6379/12")
KEEP_DB = os.environ.get("SOAK_KEEP_DB", "0") == "1"
TIMEOUT = int(os.environ.get("SOAK_TIMEOUT", str(int(SECONDS) + 600)))
DB_NAME = f"myecommerce_soak_{os.getpid()}"
PASSWORD = secrets.token_urlsafe(12)
REQUEST_TIMEOUT = 30
ORDER_PATH = re.compile(r"^/orders/(ME-\d+)/$")
SEARCH_WORDS = ["lamp", "pro", "mini", "steel", "wood", "set", "blue", "classic", "zzqx"]


class SoakError(SetupError):
    """A set-up step failed: the soak cannot run."""


class Interrupted(Exception):
    """SIGTERM, SIGALRM (SOAK_TIMEOUT) or Ctrl-C."""


def log(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --------------------------------------------------------------------------------------
# Set-up: database, catalogue, shoppers, server
# --------------------------------------------------------------------------------------
def soak_env(workdir: Path) -> dict[str, str]:
    return shop_env(
        secret_key=secrets.token_urlsafe(50),
        database_url=with_dbname(PG_URL, DB_NAME),
        cache_url=REDIS_URL,
        workdir=workdir,
    )


@dataclass
class Catalogue:
    products: list[tuple[int, str]]  # (id, slug) of active products
    hot: list[tuple[int, str]]  # the few with a small stock
    categories: list[str]  # slugs
    initial_stock: dict[int, int]  # every product, after the hot ones were set
    first_movement_pk: int  # movements from here on are the soak's
    users: list[str]  # usernames


def catalogue_prepare() -> Catalogue:
    """In this process (Django set up on the soak database): hot products and shoppers."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db.models import Max

    from accounts.models import username_key
    from products.models import Category, Product, StockMovement
    from products.services import product_stock_set

    rng = random.Random(SEED)
    active = list(
        Product.objects.filter(is_active=True, category__isnull=False)
        .order_by("pk")
        .values_list("pk", "slug")
    )
    if len(active) < HOT_PRODUCTS + 10:
        raise SoakError(f"only {len(active)} active products were generated")
    hot = rng.sample(active, HOT_PRODUCTS)
    for pk, _slug in hot:
        product_stock_set(
            product_id=pk,
            new_stock=HOT_STOCK,
            reason=StockMovement.Reason.ADMIN_EDIT,
            note="soak: a small stock that shoppers compete for",
        )
    User = get_user_model()
    password = make_password(PASSWORD)
    usernames = [f"soak{n:03d}" for n in range(USERS)]
    User.objects.bulk_create(
        [
            User(
                username=name,
                username_key=username_key(name),  # bulk_create skips User.save()
                email=f"{name}@example.com",
                password=password,
                email_verified=True,
                first_name="Soak",
                last_name=name,
            )
            for name in usernames
        ]
    )
    return Catalogue(
        products=active,
        hot=hot,
        categories=list(Category.objects.order_by("pk").values_list("slug", flat=True)),
        initial_stock=dict(Product.objects.values_list("pk", "stock")),
        first_movement_pk=(StockMovement.objects.aggregate(m=Max("pk"))["m"] or 0) + 1,
        users=usernames,
    )


# --------------------------------------------------------------------------------------
# Traffic
# --------------------------------------------------------------------------------------
class Forms(HTMLParser):
    """The forms of a page: action, method and the inputs' name → value."""

    def __init__(self, html: str):
        super().__init__()
        self.forms: list[dict] = []
        self._current: dict | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._current = {
                "action": attrs.get("action") or "",
                "method": (attrs.get("method") or "get").lower(),
                "fields": {},
            }
            self.forms.append(self._current)
        elif tag in {"input", "select", "textarea", "button"} and self._current is not None:
            name = attrs.get("name")
            if name and attrs.get("type") not in {"submit", "checkbox"} and tag != "button":
                self._current["fields"].setdefault(name, attrs.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None

    def posting_to(self, pattern: str) -> list[dict]:
        return [f for f in self.forms if f["method"] == "post" and re.search(pattern, f["action"])]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer to count, not to follow


@dataclass
class Stats:
    stop_at: float
    budget: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)
    sent: int = 0
    by_status: Counter = field(default_factory=Counter)  # (kind, status) → count
    errors: list[str] = field(default_factory=list)  # failed requests, 5xx, unexpected statuses
    error_count: int = 0
    placed: dict[str, str] = field(default_factory=dict)  # order number → username
    refused: int = 0
    cancelled: set[str] = field(default_factory=set)
    cancel_refused: int = 0
    elapsed: float = 0.0

    def take(self) -> bool:
        with self.lock:
            if self.stopping.is_set() or self.sent >= self.budget:
                return False
            if time.monotonic() >= self.stop_at:
                return False
            self.sent += 1
            return True

    def count(self, kind: str, status: int | str) -> None:
        with self.lock:
            self.by_status[(kind, status)] += 1

    def error(self, message: str) -> None:
        with self.lock:
            self.error_count += 1
            if len(self.errors) < 30:
                self.errors.append(message)


class Budget(Exception):
    """The run's time or request budget is spent: the client stops."""


class Client:
    """One shopper (or guest): its own cookie jar, hence its own session and cart."""

    # The statuses each kind of request may answer; anything else is counted as an error.
    EXPECTED = {"get": {200}, "post": {302}, "checkout-get": {200, 302}, "login": {302}}

    def __init__(self, stats: Stats, base: str, catalogue: Catalogue, rng, username=None):
        self.stats, self.base, self.catalogue, self.rng = stats, base, catalogue, rng
        self.username = username
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect()
        )
        self.my_orders: list[str] = []

    def request(self, kind: str, path: str, form: dict | None = None, *, expect="get"):
        """(status, location path, body) of one request; counted under `kind`."""
        if not self.stats.take():
            raise Budget
        data = urlencode(form).encode() if form is not None else None
        # self.base is always http://127.0.0.1:<port>.
        request = urllib.request.Request(  # noqa: S310
            self.base + path, data=data, headers={"Referer": self.base + path}
        )
        try:
            with self.opener.open(request, timeout=REQUEST_TIMEOUT) as response:
                status, headers, body = response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            status, headers, body = exc.code, exc.headers, exc.read()
        except OSError as exc:
            self.stats.count(kind, "failed")
            self.stats.error(f"{kind} {path}: {exc!r}")
            return None, "", ""
        self.stats.count(kind, status)
        if status >= 500 or status not in self.EXPECTED[expect]:
            self.stats.error(f"{kind} {path} answered {status}")
        location = urlsplit(headers.get("Location") or "").path
        return status, location, body.decode("utf-8", "replace")

    # -- the things a shopper does ------------------------------------------------------
    def product(self) -> tuple[int, str]:
        if self.rng.random() < 0.25:
            return self.rng.choice(self.catalogue.hot)
        return self.rng.choice(self.catalogue.products)

    def post_form(self, kind: str, page: str, pattern: str, **values) -> tuple | None:
        """Submit the first form on `page` whose action matches `pattern`."""
        forms = Forms(page).posting_to(pattern)
        if not forms:
            return None
        chosen = self.rng.choice(forms)
        return self.request(kind, chosen["action"], {**chosen["fields"], **values}, expect="post")

    def sign_in(self) -> None:
        _, _, page = self.request("login-page", "/accounts/login/")
        forms = [f for f in Forms(page).forms if f["method"] == "post"]
        if not forms:
            raise Budget
        form = {**forms[0]["fields"], "username": self.username, "password": PASSWORD}
        status, location, _ = self.request("sign-in", "/accounts/login/", form, expect="login")
        if status != 302 or location.startswith("/accounts/"):
            self.stats.error(f"{self.username} could not sign in: {status} → {location}")
            raise Budget

    def home(self):
        self.request("home", "/")

    def browse(self):
        sort = self.rng.choice(["", "price", "-price", "name", "newest"])
        self.request("list", f"/products/?page={self.rng.randint(1, 5)}&sort={sort}")

    def search(self):
        self.request("search", f"/products/?q={self.rng.choice(SEARCH_WORDS)}")

    def filter(self):
        low = self.rng.randint(0, 200)
        query = urlencode(
            {
                "category": self.rng.choice(self.catalogue.categories),
                "min_price": low,
                "max_price": low + self.rng.randint(10, 500),
                "in_stock": "1",
                "sort": self.rng.choice(["price", "-price", "name"]),
            }
        )
        self.request("filter", f"/products/?{query}")

    def category(self):
        self.request("category", f"/categories/{self.rng.choice(self.catalogue.categories)}/")

    def detail(self) -> str:
        _, slug = self.product()
        return self.request("detail", f"/products/{slug}/")[2]

    def add_to_cart(self):
        page = self.detail()
        self.post_form("cart-add", page, r"^/cart/add/\d+/$", quantity=self.rng.randint(1, 3))

    def change_quantity(self):
        _, _, page = self.request("cart", "/cart/")
        quantity = self.rng.choice([0, 1, 2, 3, 5])
        self.post_form("cart-update", page, r"^/cart/items/\d+/update/$", quantity=quantity)

    def remove_line(self):
        _, _, page = self.request("cart", "/cart/")
        self.post_form("cart-remove", page, r"^/cart/items/\d+/remove/$")

    def wishlist_add(self):
        page = self.detail()
        self.post_form("wishlist-add", page, r"^/wishlist/add/\d+/$")

    def wishlist_remove(self):
        _, _, page = self.request("wishlist", "/wishlist/")
        self.post_form("wishlist-remove", page, r"^/wishlist/remove/\d+/$")

    def checkout(self):
        if self.rng.random() < 0.6:  # most checkouts include a product in short supply
            pk, slug = self.rng.choice(self.catalogue.hot)
            _, _, page = self.request("detail", f"/products/{slug}/")
            self.post_form("cart-add", page, rf"^/cart/add/{pk}/$", quantity=self.rng.randint(1, 2))
        status, location, page = self.request("checkout-page", "/checkout/", expect="checkout-get")
        if status != 200:
            return  # an empty cart is sent back to the cart page
        forms = Forms(page).posting_to(r"^/checkout/$")
        if not forms:
            self.stats.error("the checkout page has no checkout form")
            return
        form = {**forms[0]["fields"], **CHECKOUT_FORM}
        status, location, _ = self.request("checkout", "/checkout/", form, expect="post")
        if status != 302:
            return
        if match := ORDER_PATH.match(location):
            number = match.group(1)
            with self.stats.lock:
                if number in self.stats.placed:
                    self.stats.errors.append(f"order {number} was reported twice")
                    self.stats.error_count += 1
                self.stats.placed[number] = self.username
            self.my_orders.append(number)
            if self.rng.random() < 0.2:
                self.cancel(number)
        elif location == "/cart/":
            with self.stats.lock:
                self.stats.refused += 1
        else:
            self.stats.error(f"checkout redirected to {location!r}")

    def cancel(self, number: str | None = None):
        if number is None:
            if not self.my_orders:
                return self.orders()
            number = self.rng.choice(self.my_orders)
        _, _, page = self.request("order", f"/orders/{number}/")
        result = self.post_form("cancel", page, rf"^/orders/{number}/cancel/$")
        if result is None:
            with self.stats.lock:
                self.stats.cancel_refused += 1  # no longer pending: no cancel button
            return
        if result[0] == 302:
            with self.stats.lock:
                self.stats.cancelled.add(number)

    def orders(self):
        self.request("orders", "/orders/")
        if self.my_orders:
            self.request("order", f"/orders/{self.rng.choice(self.my_orders)}/")

    SHOPPER_ACTIONS = {
        "home": 8,
        "browse": 10,
        "search": 10,
        "filter": 8,
        "category": 6,
        "detail": 14,
        "add_to_cart": 12,
        "change_quantity": 6,
        "remove_line": 3,
        "wishlist_add": 5,
        "wishlist_remove": 4,
        "checkout": 9,
        "orders": 3,
        "cancel": 2,
    }
    GUEST_ACTIONS = ["home", "browse", "search", "filter", "category", "detail", "add_to_cart"]

    def run(self) -> None:
        try:
            if self.username:
                self.sign_in()
                names = list(self.SHOPPER_ACTIONS)
                weights = list(self.SHOPPER_ACTIONS.values())
            else:
                names, weights = self.GUEST_ACTIONS, None
            while True:
                getattr(self, self.rng.choices(names, weights)[0])()
        except Budget:
            pass
        except Exception as exc:  # a bug in the soak itself must show, not hang
            self.stats.error(f"client {self.username or 'guest'} crashed: {exc!r}")


def traffic(base: str, catalogue: Catalogue) -> Stats:
    stats = Stats(stop_at=time.monotonic() + SECONDS, budget=MAX_REQUESTS)
    clients = [
        Client(stats, base, catalogue, random.Random(SEED * 1000 + n), username)
        for n, username in enumerate(catalogue.users)
    ] + [
        Client(stats, base, catalogue, random.Random(SEED * 1000 + USERS + n))
        for n in range(GUESTS)
    ]
    threads = [threading.Thread(target=c.run, daemon=True) for c in clients]
    started = time.monotonic()
    next_progress = started + 30
    for thread in threads:
        thread.start()
    try:
        while any(t.is_alive() for t in threads):
            time.sleep(0.5)
            if time.monotonic() >= next_progress:
                next_progress += 30
                log(f"{stats.sent} requests so far, {stats.error_count} errors")
    finally:
        stats.stopping.set()  # also on Ctrl-C: each client stops after its current request
        for thread in threads:
            thread.join(timeout=REQUEST_TIMEOUT + 5)
    stats.elapsed = time.monotonic() - started
    return stats


# --------------------------------------------------------------------------------------
# The books
# --------------------------------------------------------------------------------------
def books_check(stats: Stats, catalogue: Catalogue) -> tuple[list[str], dict]:
    """Every way the database disagrees with what the shoppers saw, and the figures."""
    from django.db.models import Sum

    from orders.models import Order, OrderItem
    from products.models import Product, StockMovement

    problems: list[str] = []
    orders = {o.number: o for o in Order.objects.select_related("user")}
    for number, username in stats.placed.items():
        order = orders.get(number)
        if order is None:
            problems.append(f"checkout {number} seen by {username} is not in the database")
        elif order.user is None or order.user.username != username:
            problems.append(f"order {number} belongs to {order.user}, not {username}")
    for number in orders.keys() - stats.placed.keys():
        problems.append(f"order {number} is in the database but no shopper saw it placed")
    cancelled_in_db = {n for n, o in orders.items() if o.status == Order.Status.CANCELLED}
    if cancelled_in_db != stats.cancelled:
        problems.append(
            f"cancelled orders differ: database {sorted(cancelled_in_db)}, "
            f"shoppers {sorted(stats.cancelled)}"
        )

    movements = list(
        StockMovement.objects.filter(pk__gte=catalogue.first_movement_pk).order_by("pk")
    )
    other = {m.reason for m in movements} - {
        StockMovement.Reason.ORDER_PLACED,
        StockMovement.Reason.ORDER_CANCELLED,
    }
    if other:
        problems.append(f"stock moved for other reasons during the soak: {sorted(other)}")

    # Each order's lines against its movements, per product.
    moved = defaultdict(Counter)  # note → product id → units (positive)
    for m in movements:
        moved[m.note][m.product_id] += abs(m.change)
        wrong_sign = (m.reason == StockMovement.Reason.ORDER_PLACED) == (m.change > 0)
        if wrong_sign:
            problems.append(f"movement {m.pk} ({m.reason}) has change {m.change}")
    lines = defaultdict(Counter)
    for number, product_id, quantity in OrderItem.objects.values_list(
        "order__number", "product_id", "quantity"
    ):
        lines[number][product_id] += quantity
    notes_expected = set()
    for number in orders:
        placed_note, cancel_note = f"Order {number}", f"Order {number} cancelled"
        notes_expected.add(placed_note)
        if moved[placed_note] != lines[number]:
            problems.append(
                f"order {number}: lines {dict(lines[number])} but sale movements "
                f"{dict(moved[placed_note])}"
            )
        if number in cancelled_in_db:
            notes_expected.add(cancel_note)
            if moved[cancel_note] != lines[number]:
                problems.append(
                    f"cancelled order {number}: lines {dict(lines[number])} but restock "
                    f"movements {dict(moved[cancel_note])}"
                )
    for note in {m.note for m in movements} - notes_expected:
        problems.append(f"stock movements {note!r} belong to no order")

    # Every product: initial − sold + cancelled = final ≥ 0, and the movements chain.
    sold, restocked = Counter(), Counter()
    for m in movements:
        if m.reason == StockMovement.Reason.ORDER_PLACED:
            sold[m.product_id] -= m.change
        elif m.reason == StockMovement.Reason.ORDER_CANCELLED:
            restocked[m.product_id] += m.change
    final = dict(Product.objects.values_list("pk", "stock"))
    last = dict(catalogue.initial_stock)
    for m in movements:
        if m.resulting_stock != last.get(m.product_id, 0) + m.change:
            problems.append(
                f"movement {m.pk} of product {m.product_id}: {last.get(m.product_id)} "
                f"{m.change:+d} recorded as {m.resulting_stock}"
            )
        last[m.product_id] = m.resulting_stock
    for pk, initial in catalogue.initial_stock.items():
        expected = initial - sold[pk] + restocked[pk]
        if final.get(pk) != expected:
            problems.append(
                f"product {pk}: {initial} − {sold[pk]} sold + {restocked[pk]} cancelled = "
                f"{expected}, but the stock is {final.get(pk)}"
            )
        if final.get(pk, 0) < 0:
            problems.append(f"product {pk} has a negative stock: {final[pk]}")
    if final.keys() != catalogue.initial_stock.keys():
        problems.append("products were added or deleted during the soak")

    figures = {
        "orders": len(orders),
        "cancelled": len(cancelled_in_db),
        "units sold": sum(sold.values()),
        "units restocked": sum(restocked.values()),
        "products checked": len(catalogue.initial_stock),
        "products sold": len(sold),
        "hot products sold out": sum(1 for pk, _ in catalogue.hot if final.get(pk) == 0),
        "movements": len(movements),
        "order lines": OrderItem.objects.aggregate(n=Sum("quantity"))["n"] or 0,
    }
    return problems, figures


def report(stats: Stats, problems: list[str], figures: dict) -> None:
    kinds = sorted({k for k, _ in stats.by_status})
    print(f"\nRequests: {stats.sent} in {stats.elapsed:.0f} s ({stats.sent / stats.elapsed:.0f}/s)")
    print(f"  {'kind':<16} {'count':>7}  statuses")
    for kind in kinds:
        statuses = {s: n for (k, s), n in stats.by_status.items() if k == kind}
        total = sum(statuses.values())
        detail = ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items(), key=str))
        print(f"  {kind:<16} {total:>7}  {detail}")
    five_xx = sum(n for (_, s), n in stats.by_status.items() if isinstance(s, int) and s >= 500)
    failed = sum(n for (_, s), n in stats.by_status.items() if s == "failed")
    print(f"5xx: {five_xx}   failed requests: {failed}   errors: {stats.error_count}")
    for message in stats.errors:
        print(f"  ! {message}")
    print(
        f"Checkouts: {len(stats.placed)} placed, {stats.refused} refused (short stock), "
        f"{len(stats.cancelled)} cancelled by shoppers "
        f"({stats.cancel_refused} times an order was no longer pending: no cancel button)"
    )
    print("Books: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    if problems:
        print(f"THE BOOKS DO NOT BALANCE ({len(problems)} problems):")
        for problem in problems[:50]:
            print(f"  ✗ {problem}")
    else:
        print("The books balance: every order, line, stock movement and stock agrees.")


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------
def _interrupt(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGALRM, _interrupt)
    signal.alarm(TIMEOUT)
    workdir = Path(tempfile.mkdtemp(prefix="myecommerce-soak-"))
    port = free_port()
    env = soak_env(workdir)
    server = gunicorn("gunicorn", env, port, workdir / "gunicorn.log")
    db_created = django_ready = False
    try:
        require_loopback(PG_URL, "SOAK_PG_URL")
        require_loopback(REDIS_URL, "SOAK_REDIS_URL")
        log(
            f"database {DB_NAME}, Redis {REDIS_URL}, {USERS} shoppers + {GUESTS} guests, "
            f"{SECONDS:.0f} s or {MAX_REQUESTS} requests"
        )
        redis_flush(REDIS_URL)
        pg_admin(PG_URL, f'CREATE DATABASE "{DB_NAME}"')
        db_created = True
        log("migrate, collectstatic, generate_catalogue")
        manage(env, "migrate", "--noinput")
        manage(env, "collectstatic", "--noinput")
        manage(env, "generate_catalogue", "--products", str(PRODUCTS), "--seed", str(SEED))
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        django_ready = True
        catalogue = catalogue_prepare()
        from django.db import connections

        connections.close_all()
        log(
            f"{len(catalogue.products)} active products ({HOT_PRODUCTS} with stock {HOT_STOCK}), "
            f"{len(catalogue.users)} shoppers; gunicorn on {HOST}:{port}"
        )
        server.start().wait_healthy()
        stats = traffic(f"http://{HOST}:{port}", catalogue)
        server.stop()
        problems, figures = books_check(stats, catalogue)
        report(stats, problems, figures)
        if stats.error_count:
            print(f"\nThe end of gunicorn's log:\n{server.tail()}")
        if stats.error_count:
            problems.append(f"{stats.error_count} request errors")
        if not stats.placed:
            print("No checkout succeeded: the books were not put to the test (run longer).")
            problems.append("no orders")
        return 1 if problems else 0
    except (KeyboardInterrupt, Interrupted) as exc:
        log(f"interrupted ({str(exc) or 'Ctrl-C'}); cleaning up")
        return 130
    except (SetupError, subprocess.TimeoutExpired) as exc:
        log(f"set-up failed: {exc}")
        return 2
    finally:
        signal.alarm(0)
        # Clean-up runs to the end: a second Ctrl-C or SIGTERM must not leave things behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        server.stop()
        if django_ready:
            from django.db import connections

            connections.close_all()
        if db_created and not KEEP_DB:
            with contextlib.suppress(Exception):
                pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
                log(f"dropped {DB_NAME}")
        elif db_created:
            log(f"kept {DB_NAME} (SOAK_KEEP_DB=1)")
        with contextlib.suppress(Exception):
            redis_flush(REDIS_URL)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
