"""The benchmark's Django-side steps, run as one-off processes by bench/run.py.

    python bench/django_side.py prepare <connections>   # users, sessions, carts; prints JSON
    python bench/django_side.py queries <plan.json>      # SQL queries per page; prints JSON
                                                         # (warm, and after a catalogue change)

Both run with the same environment as the server (database, cache, settings), so sessions
made here are valid there and the queries counted here are the ones the server runs.
"""

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myecommerce.settings")

import django  # noqa: E402

django.setup()

from checkout import CHECKOUT_FORM, hidden_fields  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils.crypto import get_random_string  # noqa: E402

from accounts.models import User  # noqa: E402
from carts.models import Cart, CartItem  # noqa: E402
from products.catalogue_cache import CACHE_STATUS_HEADER, catalogue_version_bump  # noqa: E402
from products.models import Category, Product  # noqa: E402

BACKEND = "accounts.backends.UsernameOrEmailBackend"
BIG_STOCK = 1_000_000_000
# Catalogue pages loaded by the signed-in cart user too: never from the shared page cache, so
# they show what building a page costs ({name: the anonymous page it repeats}).
USER_PAGES = {"list_user": "list", "search_user": "search", "detail_user": "detail"}
SEARCH_WORD = "lamp"


def session_for(user: User) -> str:
    client = Client()
    client.force_login(user, backend=BACKEND)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def make_user(username: str) -> User:
    user, _ = User.objects.update_or_create(
        username=username,
        defaults={"email": f"{username}@bench.invalid", "email_verified": True, "is_active": True},
    )
    user.set_unusable_password()
    user.save()
    return user


def sample_pages() -> dict[str, str]:
    """The catalogue pages to load: a top-level category (with its sub-categories), a product
    from the middle of the catalogue, a common search word."""
    products = Product.objects.filter(is_active=True, stock__gt=5).order_by("sku")
    middle = products[products.count() // 2]
    root = (
        Category.objects.filter(parent=None, slug__startswith="gen-").order_by("slug").first()
        or Category.objects.filter(parent=None).order_by("pk").first()
    )
    return {
        "home": "/",
        "list": "/products/",
        "search": f"/products/?q={SEARCH_WORD}",
        "filtered": (
            f"/products/?category={root.slug}&min_price=10&max_price=500&in_stock=1&sort=price"
        ),
        "category": f"/categories/{root.slug}/",
        "detail": f"/products/{middle.slug}/",
    }


@transaction.atomic
def prepare(connections: int) -> dict:
    pages = sample_pages()
    products = Product.objects.filter(is_active=True, stock__gt=5).order_by("sku")
    total = Product.objects.count()
    picks = list(products.values_list("pk", flat=True)[:40])
    cart_ids, add_ids, checkout_id = picks[:10], picks[10:30], picks[30]
    # Plenty of stock, so the add-to-cart and checkout loops never run out during the bench.
    Product.objects.filter(pk__in=add_ids + [checkout_id]).update(stock=BIG_STOCK)

    cart_user = make_user("bench-cart")
    cart, _ = Cart.objects.get_or_create(user=cart_user)
    cart.items.all().delete()
    CartItem.objects.bulk_create(
        CartItem(cart=cart, product_id=pid, quantity=1) for pid in cart_ids
    )
    add_user = make_user("bench-add")
    Cart.objects.get_or_create(user=add_user)
    checkout_users = [make_user(f"bench-checkout-{i}") for i in range(connections)]

    csrf = get_random_string(32)
    return {
        "csrf": csrf,
        "cart_session": session_for(cart_user),
        "add_session": session_for(add_user),
        "add_paths": [f"/cart/add/{pid}/" for pid in add_ids],
        "checkout_sessions": [session_for(u) for u in checkout_users],
        "checkout_add_path": f"/cart/add/{checkout_id}/",
        "pages": pages,
        "products": total,
        "database": connection.vendor,
    }


def count_queries(plan: dict) -> dict[str, float]:
    """SQL queries per request, after one warm-up request (the steady state under load)."""
    host = {"SERVER_NAME": "127.0.0.1"}
    csrf_cookie = settings.CSRF_COOKIE_NAME
    session_cookie = settings.SESSION_COOKIE_NAME

    def client(session: str | None = None) -> Client:
        c = Client(**host)
        c.cookies[csrf_cookie] = plan["csrf"]
        if session:
            c.cookies[session_cookie] = session
        return c

    counts: dict[str, float | str] = {}

    def measure(name: str, do) -> None:
        """Queries of the steady state (caches warm), then of a cache miss: the request after
        a catalogue change, when cached pages and counts are stale and are built again."""
        do()
        with CaptureQueriesContext(connection) as captured:
            response = do()
        counts[name] = len(captured)
        counts[f"{name}:cache"] = response.headers.get(CACHE_STATUS_HEADER, "")
        catalogue_version_bump()
        with CaptureQueriesContext(connection) as captured:
            do()
        counts[f"{name}:cold"] = len(captured)

    anonymous = client()
    measure("healthz", lambda: anonymous.get("/healthz/"))
    for key in ("", ":cache", ":cold"):
        counts[f"healthz2{key}"] = counts[f"healthz{key}"]
    for name, path in plan["pages"].items():
        measure(name, lambda path=path: anonymous.get(path))
    cart = client(plan["cart_session"])
    measure("cart", lambda: cart.get("/cart/"))
    for name, page in USER_PAGES.items():
        measure(name, lambda page=page: cart.get(plan["pages"][page]))
    add = client(plan["add_session"])
    measure(
        "add",
        lambda: add.post(
            plan["add_paths"][0], {"quantity": "1", "csrfmiddlewaretoken": plan["csrf"]}
        ),
    )
    if plan.get("checkout"):
        shopper = client(plan["checkout_sessions"][0])

        def checkout():
            shopper.post(
                plan["checkout_add_path"], {"quantity": "1", "csrfmiddlewaretoken": plan["csrf"]}
            )
            page = shopper.get("/checkout/")
            return shopper.post("/checkout/", {**CHECKOUT_FORM, **hidden_fields(page.text)})

        measure("checkout", checkout)
    return counts


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "prepare":
        print(json.dumps(prepare(int(sys.argv[2]))))
    elif command == "queries":
        print(json.dumps(count_queries(json.loads(Path(sys.argv[2]).read_text()))))
    else:
        sys.exit(f"unknown command {command!r}")
