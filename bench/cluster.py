"""`make cluster`: two app servers sharing one PostgreSQL database and one Redis, on loopback.

It creates a fresh database (myecommerce_cluster_<pid>, dropped at the end), migrates it, makes
a small catalogue with known stock and some shoppers, and starts two gunicorn instances
(gunicorn.conf.py, DEBUG=False) on two ports with the same SECRET_KEY, database and Redis
(cache, sessions, lock-out counters, task broker), plus one Celery worker for the e-mail.
Then it drives shoppers across both servers, as a load balancer would:

  1. sign in on A, add to the cart on B, see that cart on A, open the checkout on B and place
     the order on A, see the order on B; a wishlist filled on A is seen on B; signing out on B
     ends the session on A too; five failed sign-ins spread over both lock the account on both;
  2. CLUSTER_SHOPPERS shoppers (half on each server) check out at the same moment against a
     product with CLUSTER_STOCK left: exactly that many orders, stock 0, every other shopper
     sent back to the cart with a message, no 5xx; a guest sees the same stock badge on both
     servers before and after (page caches are shared, or invalidated everywhere);
  3. the worker e-mails every order confirmation.

It prints what it checked and exits 0 only when every check passed (1 otherwise, 2 when
PostgreSQL or Redis is missing). Every process it started is stopped, also on error, Ctrl-C
or when CLUSTER_SECONDS (the bound on the whole run) runs out.

Environment (all optional):
    CLUSTER_SECONDS=180  CLUSTER_SHOPPERS=20  CLUSTER_STOCK=5  CLUSTER_WEB_WORKERS=2
    CLUSTER_PG_URL=postgres://postgres@127.0.0.1:5432/postgres
    CLUSTER_REDIS_URL=redis://127.0.0.1:6379/10  (emptied before and after)
    CLUSTER_PORTS=8400-8499  (the two servers take the first free ones)
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlencode

from checkout import CHECKOUT_FORM, hidden_fields
from loopback import (
    BIN,
    OUT,
    PYTHON,
    ROOT,
    Process,
    SetupError,
    gunicorn,
    pg_admin,
    redis_flush,
    shop_env,
    with_dbname,
)
from loopback import manage as manage_with

SECONDS = int(os.environ.get("CLUSTER_SECONDS", "180"))
SHOPPERS = int(os.environ.get("CLUSTER_SHOPPERS", "20"))
STOCK = int(os.environ.get("CLUSTER_STOCK", "5"))
WEB_WORKERS = os.environ.get("CLUSTER_WEB_WORKERS", "2")
PG_URL = os.environ.get("CLUSTER_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("CLUSTER_REDIS_URL", "redis://127.0.0.1:6379/10")
PORTS = [int(p) for p in os.environ.get("CLUSTER_PORTS", "8400-8499").split("-")]
DB_NAME = f"myecommerce_cluster_{os.getpid()}"
SECRET_KEY = secrets.token_urlsafe(50)
PASSWORD = secrets.token_urlsafe(12)
MAILDIR = OUT / f"cluster-mail-{os.getpid()}"


class ClusterError(SetupError):
    pass


class Timeout(ClusterError):
    pass


def log(message: str) -> None:
    print(f"[cluster {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --------------------------------------------------------------------------------------
# Services and processes
# --------------------------------------------------------------------------------------
def free_ports(count: int) -> list[int]:
    found = []
    for port in range(PORTS[0], PORTS[-1] + 1):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            return found
    raise ClusterError(f"fewer than {count} free ports in {PORTS[0]}–{PORTS[-1]}")


def base_env() -> dict[str, str]:
    return shop_env(
        secret_key=SECRET_KEY,  # the same on both servers and the worker
        database_url=with_dbname(PG_URL, DB_NAME),
        cache_url=REDIS_URL,
        workdir=OUT / "cluster",
        CELERY_BROKER_URL=REDIS_URL,
        EMAIL_URL=f"filemail:///{MAILDIR}",
        GUNICORN_WORKERS=WEB_WORKERS,
    )


def manage(*args: str, timeout: float = 300) -> str:
    return manage_with(base_env(), *args, timeout=timeout)


def log_path(name: str) -> Path:
    return OUT / f"cluster-{name}-{os.getpid()}.log"


def start_web(name: str, port: int) -> Process:
    return gunicorn(name, base_env(), port, log_path(name)).start()


def start_worker() -> Process:
    argv = [
        str(BIN / "celery"),
        "-A",
        "myecommerce",
        "worker",
        "--pool=solo",
        "-Q",
        "mail,celery",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--hostname",
        f"cluster-{os.getpid()}@localhost",
    ]
    return Process("worker", argv, base_env(), log_path("worker")).start()


def wait_worker(worker: Process) -> None:
    deadline = time.monotonic() + 60
    while " ready." not in worker.tail():
        if not worker.alive() or time.monotonic() > deadline:
            raise ClusterError(f"the Celery worker did not start:\n{worker.tail()}")
        time.sleep(0.3)


# --------------------------------------------------------------------------------------
# A browser: one cookie jar for both servers (cookies are per host, not per port), as
# behind a load balancer with one host name.
# --------------------------------------------------------------------------------------
@dataclass
class Browser:
    cookies: dict[str, str] = field(default_factory=dict)
    statuses: list[int] = field(default_factory=list)

    def request(
        self, port: int, method: str, path: str, form: dict | None = None
    ) -> tuple[int, str, str]:
        conn = HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            form = {"csrfmiddlewaretoken": self.cookies.get("csrftoken", ""), **form}
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://127.0.0.1:{port}{path}"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            for cookie in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = cookie.partition("=")
                value = rest.split(";", 1)[0]
                if value in ("", '""'):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = value
            self.statuses.append(response.status)
            return response.status, response.getheader("Location") or "", text
        finally:
            conn.close()

    def get(self, port: int, path: str) -> tuple[int, str, str]:
        return self.request(port, "GET", path)

    def post(self, port: int, path: str, form: dict) -> tuple[int, str, str]:
        return self.request(port, "POST", path, form)

    def sign_in(self, port: int, username: str) -> None:
        self.get(port, "/accounts/login/")  # the CSRF cookie
        status, location, _ = self.post(
            port, "/accounts/login/", {"username": username, "password": PASSWORD}
        )
        if status != 302 or "/accounts/" in location:
            raise ClusterError(f"{username} could not sign in on :{port} ({status} → {location})")


# --------------------------------------------------------------------------------------
# Data, made and read by Django in a separate process
# --------------------------------------------------------------------------------------
MAKE_DATA = """
import json, sys
from django.contrib.auth.models import Group
from accounts.models import User
from products.models import Category, Product
shoppers, stock, password = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
category = Category.objects.create(name="Cluster", slug="cluster")
scarce = Product.objects.create(
    name="Scarce kettle", slug="scarce-kettle", sku="CL-KETTLE", price="25.00",
    category=category, stock=stock, description="Only a few left.")
plenty = Product.objects.create(
    name="Plenty mug", slug="plenty-mug", sku="CL-MUG", price="7.50",
    category=category, stock=1000, description="Lots of these.")
customers, _ = Group.objects.get_or_create(name="Customers")
names = ["walker", "guessed"] + [f"shopper{i:02d}" for i in range(shoppers)]
for name in names:
    user = User(username=name, email=f"{name}@example.com", email_verified=True)
    user.set_password(password)
    user.save()
    user.groups.add(customers)
print(json.dumps({"scarce": scarce.pk, "plenty": plenty.pk, "users": names}))
"""

READ_DATA = """
import json, sys
from orders.models import Order, OrderItem
from products.models import Product, StockMovement
scarce = Product.objects.get(pk=int(sys.argv[1]))
lines = OrderItem.objects.filter(product=scarce)
print(json.dumps({
    "stock": scarce.stock,
    "orders_with_scarce": lines.values("order").distinct().count(),
    "units_sold": sum(lines.values_list("quantity", flat=True)),
    "movements": StockMovement.objects.filter(product=scarce, reason="order_placed").count(),
    "orders": list(Order.objects.values_list("number", flat=True)),
}))
"""


def django_script(script: str, *args: str) -> dict:
    done = subprocess.run(
        [PYTHON, "-c", "import django; django.setup()\n" + script, *args],
        cwd=ROOT,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode:
        raise ClusterError(f"Django script failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------
@dataclass
class Report:
    checks: list[tuple[bool, str]] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> bool:
        self.checks.append((bool(ok), what))
        log(f"  {'ok  ' if ok else 'FAIL'} {what}")
        return bool(ok)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(ok for ok, _ in self.checks)


ORDER_URL = re.compile(r"/orders/(ME-\d+)/$")


def journey(report: Report, a: int, b: int, data: dict) -> str:
    """One shopper moving between the servers at every step. Returns the order number."""
    mug, kettle = data["plenty"], data["scarce"]
    browser = Browser()
    browser.sign_in(a, "walker")
    status, _, page = browser.get(b, "/accounts/profile/")
    report.check(status == 200 and "walker" in page, "signed in on A, signed in on B too")

    status, _, _ = browser.post(b, f"/cart/add/{mug}/", {"quantity": "2"})
    _, _, cart = browser.get(a, "/cart/")
    report.check(
        status == 302 and "Plenty mug" in cart and 'value="2"' in cart,
        "2 mugs added to the cart on B are in the cart on A",
    )

    status, _, form_page = browser.get(b, "/checkout/")
    if status != 200:
        raise ClusterError(f"GET /checkout/ on B answered {status}")
    status, location, _ = browser.post(
        a, "/checkout/", {**CHECKOUT_FORM, **hidden_fields(form_page)}
    )
    match = ORDER_URL.search(location)
    report.check(
        status == 302 and match is not None,
        f"checkout form from B placed on A → {location or status}",
    )
    number = match.group(1) if match else ""
    status, _, order_page = browser.get(b, f"/orders/{number}/")
    report.check(
        status == 200 and number and number in order_page and "Plenty mug" in order_page,
        f"order {number} with the mugs is shown on B",
    )
    _, _, cart = browser.get(b, "/cart/")
    report.check("Plenty mug" not in cart, "the cart is empty on B after checking out on A")

    status, _, _ = browser.post(a, f"/wishlist/add/{kettle}/", {})
    _, _, wishlist = browser.get(b, "/wishlist/")
    report.check(status == 302 and "Scarce kettle" in wishlist, "wishlist filled on A is seen on B")

    browser.post(b, "/accounts/logout/", {})
    status, location, _ = browser.get(a, "/orders/")
    report.check(
        status == 302 and "/accounts/login/" in location, "signed out on B, signed out on A too"
    )
    report.check(all(s < 500 for s in browser.statuses), "no 5xx in the journey")
    return number


def lock_out(report: Report, a: int, b: int) -> None:
    """Failed sign-ins on either server count together (the counters are in Redis)."""
    guesser = Browser()
    guesser.get(a, "/accounts/login/")
    statuses = [
        guesser.post(port, "/accounts/login/", {"username": "guessed", "password": "wrong"})[0]
        for port in (a, b, a, b, a)
    ]
    owner = Browser()
    owner.get(b, "/accounts/login/")
    status, _, page = owner.post(
        b, "/accounts/login/", {"username": "guessed", "password": PASSWORD}
    )
    report.check(
        statuses[:4] == [200] * 4 and statuses[4] == 429 and status == 429 and "locked" in page,
        f"5 failed sign-ins spread over A and B lock the account on both ({statuses}, {status})",
    )


def badges(a: int, b: int) -> list[str]:
    """The stock badge a guest sees on the kettle's page on each server (cached or not)."""
    found = []
    for port in (a, b):
        status, _, page = Browser().get(port, "/products/scarce-kettle/")
        match = re.search(r"Out of stock|Only \d+ left|In stock", page)
        found.append(match.group(0) if status == 200 and match else f"HTTP {status}")
    return found


def rush(report: Report, a: int, b: int, data: dict) -> list[str]:
    """Every shopper checks out the scarce kettle at once, half of them on each server."""
    kettle = data["scarce"]
    before = badges(a, b)  # also fills each server's page cache, if it has one
    report.check(
        before == [f"Only {STOCK} left"] * 2 if STOCK <= 5 else before[0] == before[1],
        f"a guest sees the same stock on A and B before the rush ({before})",
    )
    shoppers = data["users"][2:]
    prepared = []
    for i, name in enumerate(shoppers):
        port, other = (a, b) if i % 2 == 0 else (b, a)
        browser = Browser()
        browser.sign_in(other, name)  # signed in on one server, buys on the other
        status, _, _ = browser.post(port, f"/cart/add/{kettle}/", {"quantity": "1"})
        if status != 302:
            raise ClusterError(f"{name} could not add the kettle on :{port} ({status})")
        status, _, page = browser.get(port, "/checkout/")
        if status != 200:
            raise ClusterError(f"{name}: GET /checkout/ on :{port} answered {status}")
        prepared.append((name, port, browser, hidden_fields(page)))

    results: dict[str, tuple[int, str]] = {}
    barrier = threading.Barrier(len(prepared))

    def buy(name: str, port: int, browser: Browser, hidden: dict) -> None:
        barrier.wait(timeout=30)
        try:
            status, location, _ = browser.post(port, "/checkout/", {**CHECKOUT_FORM, **hidden})
        except OSError as exc:
            status, location = 0, f"{type(exc).__name__}: {exc}"
        results[name] = (status, location)

    threads = [threading.Thread(target=buy, args=item, daemon=True) for item in prepared]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    elapsed = time.monotonic() - started

    placed = [loc for status, loc in results.values() if status == 302 and ORDER_URL.search(loc)]
    refused = {
        name: (status, loc)
        for name, (status, loc) in results.items()
        if not (status == 302 and ORDER_URL.search(loc))
    }
    log(
        f"  {len(prepared)} simultaneous checkouts in {elapsed:.1f} s: "
        f"{len(placed)} placed, {len(refused)} refused"
    )
    report.check(len(results) == len(prepared), "every checkout answered")
    report.check(len(placed) == STOCK, f"exactly {STOCK} orders placed (got {len(placed)})")

    polite = 0
    for name, (status, location) in refused.items():
        browser = next(b for n, _, b, _ in prepared if n == name)
        port = next(p for n, p, _, _ in prepared if n == name)
        if status == 302 and location.endswith("/cart/"):
            _, _, cart = browser.get(port, "/cart/")
            if "out of stock" in cart or "left in stock" in cart:
                polite += 1
    report.check(
        polite == len(refused),
        f"each of the {len(refused)} refused shoppers is sent to the cart and told why "
        f"({polite} were)",
    )
    statuses = [s for _, _, b, _ in prepared for s in b.statuses]
    report.check(
        statuses and all(0 < s < 500 for s in statuses),
        f"no 5xx or dropped connection in {len(statuses)} requests",
    )
    after = badges(a, b)
    report.check(
        after == ["Out of stock"] * 2,
        f"after it, a guest sees the kettle sold out on A and on B ({after})",
    )
    return [ORDER_URL.search(loc).group(1) for loc in placed]


def confirmations(report: Report, numbers: list[str]) -> None:
    """The worker e-mails a confirmation for every order (waits up to 30 s)."""
    deadline = time.monotonic() + 30
    found: set[str] = set()
    while time.monotonic() < deadline:
        found = set()
        for path in MAILDIR.glob("*.log"):
            found.update(re.findall(r"Subject: Your order (ME-\d+) at", path.read_text("utf-8")))
        if found >= set(numbers):
            break
        time.sleep(0.5)
    report.check(
        found >= set(numbers),
        f"the Celery worker e-mailed {len(found & set(numbers))} of {len(numbers)} "
        "order confirmations",
    )


# --------------------------------------------------------------------------------------
def main() -> int:
    def on_alarm(signum, frame):
        raise Timeout(f"the cluster run took longer than CLUSTER_SECONDS={SECONDS}")

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.alarm(SECONDS)

    OUT.mkdir(exist_ok=True)
    MAILDIR.mkdir(exist_ok=True)
    processes: list[Process] = []
    created = False
    report = Report()
    started = time.monotonic()
    try:
        try:
            redis_flush(REDIS_URL)
            pg_admin(PG_URL, f"CREATE DATABASE {DB_NAME}")
            created = True
        except Exception as exc:
            log(f"PostgreSQL ({PG_URL}) and Redis ({REDIS_URL}) are needed: {exc}")
            return 2
        log(f"database {DB_NAME}: migrate, collectstatic, {SHOPPERS + 1} shoppers")
        manage("migrate", "--noinput")
        manage("collectstatic", "--noinput")
        data = django_script(MAKE_DATA, str(SHOPPERS), str(STOCK), PASSWORD)

        port_a, port_b = free_ports(2)
        log(f"starting server A on :{port_a}, server B on :{port_b} and a Celery worker")
        server_a, server_b = start_web("A", port_a), start_web("B", port_b)
        worker = start_worker()
        processes += [server_a, server_b, worker]
        for server in (server_a, server_b):
            server.wait_healthy()
        wait_worker(worker)

        log("one shopper across both servers")
        numbers = [journey(report, port_a, port_b, data)]
        lock_out(report, port_a, port_b)
        log(f"{SHOPPERS} shoppers check out at once, {STOCK} kettles in stock")
        numbers += rush(report, port_a, port_b, data)

        state = django_script(READ_DATA, str(data["scarce"]))
        report.check(
            state["stock"] == 0 and state["units_sold"] == STOCK,
            f"the database agrees: stock {state['stock']}, {state['units_sold']} kettles sold "
            f"in {state['orders_with_scarce']} orders, {state['movements']} stock movements",
        )
        report.check(
            sorted(numbers) == sorted(state["orders"]), "every order in the database was seen"
        )
        confirmations(report, [n for n in numbers if n])
        for server in (server_a, server_b):
            report.check(server.alive(), f"server {server.name} still running")
    except (SetupError, subprocess.TimeoutExpired, OSError) as exc:
        report.check(False, f"stopped: {exc}")
        for process in processes:
            if process.tail():
                log(f"last lines of {process.name}'s log ({process.log_path}):\n{process.tail()}")
    except KeyboardInterrupt:
        log("interrupted")
        report.check(False, "interrupted")
    finally:
        signal.alarm(0)
        for process in processes:
            process.stop()
        if created:
            try:
                pg_admin(PG_URL, f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
            except Exception as exc:
                log(f"could not drop {DB_NAME}: {exc}")
        try:
            redis_flush(REDIS_URL)
        except Exception as exc:
            log(f"could not empty {REDIS_URL}: {exc}")
        for path in MAILDIR.glob("*"):
            path.unlink()
        MAILDIR.rmdir()

    failed = [what for ok, what in report.checks if not ok]
    if not failed:  # logs are kept only when something went wrong
        for process in processes:
            process.log_path.unlink(missing_ok=True)
    log(
        f"{len(report.checks) - len(failed)} of {len(report.checks)} checks passed "
        f"in {time.monotonic() - started:.0f} s; every process stopped, {DB_NAME} dropped"
    )
    if failed:
        log("FAILED: " + "; ".join(failed))
        log(f"logs: {', '.join(str(process.log_path) for process in processes)}")
        return 1
    log("sessions and carts consistent across instances, exactly the stock sold, no 5xx")
    return 0


if __name__ == "__main__":
    sys.exit(main())
