"""The embedded default (SQLite) under simultaneous writes: no 500, one winner, the usual message.

A real server (gunicorn: several processes, several threads each) on a real SQLite file, as
`make run`-style development or a small single-machine shop would run it. pytest-django's own
live server shares one in-memory connection between threads, so it could not show locking.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
import requests

from myecommerce.tests.conftest import ROOT, free_port, settings_json

pytestmark = pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").split(":", 1)[0] not in {"", "sqlite"},
    reason="about the embedded default: runs when the suite runs on SQLite",
)

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
TOKEN_INPUT = re.compile(r'name="checkout_token" value="([0-9a-f]+)"')
PASSWORD = "a-long-test-password-7"  # noqa: S105
SETUP = f"""
from decimal import Decimal
from django.contrib.auth import get_user_model
from products.models import Category, Product
User = get_user_model()
for name in ("ann", "bob", "cat"):
    user = User.objects.create_user(name, f"{{name}}@example.com", "{PASSWORD}")
    user.email_verified = True
    user.save()
category = Category.objects.create(name="Lamps", slug="lamps")
for number in range(1, 7):
    Product.objects.create(
        category=category, name=f"Lamp {{number}}", slug=f"lamp-{{number}}",
        sku=f"LAMP-{{number}}", price=Decimal("10.00"), stock=1,
    )
"""


def _environment(database: Path, static: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CACHE_"))}
    return {
        **keep,
        "DATABASE_URL": f"sqlite:///{database}",
        "DEBUG": "False",
        "SECRET_KEY": "s" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "False",
        "SESSION_COOKIE_SECURE": "False",
        "CSRF_COOKIE_SECURE": "False",
        "EMAIL_URL": "consolemail://",
        "CELERY_BROKER_URL": "",
        "CATALOGUE_PAGE_CACHE_SECONDS": "0",
        "STATIC_ROOT": str(static),
    }


def _manage(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(  # noqa: S603 - this interpreter, our own manage.py
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr


@contextlib.contextmanager
def _serving(env: dict[str, str], folder: Path, **extra: str):
    """gunicorn with 3 processes × 4 threads (gthread) on loopback; yields its URL."""
    port = free_port()
    log_path = folder / f"gunicorn-{port}.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(  # noqa: S603 - our own app server
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "myecommerce.wsgi"],
            cwd=ROOT,
            env={
                **env,
                "GUNICORN_BIND": f"127.0.0.1:{port}",
                "GUNICORN_WORKERS": "3",
                "GUNICORN_THREADS": "4",
                "GUNICORN_MAX_REQUESTS": "0",
                **extra,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _attempt in range(300):
                try:
                    if requests.get(f"{url}/healthz/", timeout=2).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                time.sleep(0.2)
            else:
                pytest.fail(log_path.read_text(), pytrace=False)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)


@pytest.fixture(scope="module")
def shop_files(tmp_path_factory):
    """A fresh SQLite shop on disk: (environment, folder, database)."""
    folder = tmp_path_factory.mktemp("sqlite-shop")
    database = folder / "shop.sqlite3"
    env = _environment(database, folder / "static")
    _manage(env, "collectstatic", "--noinput")
    _manage(env, "migrate", "--noinput")
    _manage(env, "shell", "-c", SETUP)
    return env, folder, database


@pytest.fixture(scope="module")
def shop(shop_files):
    """The shop served by several processes and threads: (url, database)."""
    env, folder, database = shop_files
    with _serving(env, folder) as url:
        yield url, database


def _rows(database: Path, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(database, timeout=30) as connection:
        return connection.execute(sql, params).fetchall()


def _csrf(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=30)
    assert page.status_code == 200, page.status_code
    return CSRF_INPUT.search(page.text).group(1)


def _signed_in(url: str, username: str) -> requests.Session:
    session = requests.Session()
    token = _csrf(session, f"{url}/accounts/login/")
    answer = session.post(
        f"{url}/accounts/login/",
        data={"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD},
        headers={"Referer": f"{url}/accounts/login/"},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302, answer.text[:500]
    return session


def _add_to_cart(session: requests.Session, url: str, product_id: int, *, referer: str):
    token = session.cookies["csrftoken"]
    return session.post(
        f"{url}/cart/add/{product_id}/",
        data={"csrfmiddlewaretoken": token, "quantity": "1"},
        headers={"Referer": referer},
        allow_redirects=False,
        timeout=60,
    )


def _at_once(*calls: Callable[[], requests.Response]) -> list[requests.Response]:
    """Run the calls in threads released together; their responses, in order."""
    barrier = threading.Barrier(len(calls))
    answers: list[requests.Response | BaseException] = [None] * len(calls)  # type: ignore[list-item]

    def run(index: int, call: Callable[[], requests.Response]) -> None:
        barrier.wait()
        try:
            answers[index] = call()
        except BaseException as exc:  # noqa: BLE001 - reported below
            answers[index] = exc

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    return answers  # type: ignore[return-value]


def _messages(session: requests.Session, url: str) -> str:
    return session.get(url, timeout=30).text


def _checkout_data(session: requests.Session, url: str) -> dict[str, str]:
    page = session.get(f"{url}/checkout/", timeout=30)
    assert page.status_code == 200, page.status_code
    return {
        "csrfmiddlewaretoken": CSRF_INPUT.search(page.text).group(1),
        "checkout_token": TOKEN_INPUT.search(page.text).group(1),
        "full_name": "Ann Example",
        "address_line1": "1 Main Street",
        "city": "Springfield",
        "postal_code": "12345",
        "country": "US",
        "phone": "",
        "billing_same_as_shipping": "on",
        "payment_method": "cod",
    }


def _post(session: requests.Session, url: str, data: dict[str, str]):
    return session.post(
        url, data=data, headers={"Referer": url}, allow_redirects=False, timeout=120
    )


def _product_id(database: Path, slug: str) -> int:
    return _rows(database, "SELECT id FROM products_product WHERE slug = ?", slug)[0][0]


def test_a_double_submitted_checkout_places_one_order_and_says_so(shop):
    url, database = shop
    session = _signed_in(url, "ann")
    for slug in ("lamp-1", "lamp-2", "lamp-3"):
        added = _add_to_cart(session, url, _product_id(database, slug), referer=f"{url}/")
        assert added.status_code == 302
        data = _checkout_data(session, url)
        answers = _at_once(*[partial(_post, session, f"{url}/checkout/", data)] * 2)

        assert [answer.status_code for answer in answers] == [302, 302], [
            (answer.status_code, re.findall(r'role="alert">([^<]*)', answer.text))
            for answer in answers
        ]
        orders = _rows(
            database,
            "SELECT number FROM orders_order WHERE checkout_token = ?",
            data["checkout_token"],
        )
        assert len(orders) == 1
        assert {answer.headers["Location"] for answer in answers} == {f"/orders/{orders[0][0]}/"}
        page = _messages(session, f"{url}/orders/{orders[0][0]}/")
        assert "already placed from this form" in page or "has been placed" in page


def test_two_carts_buying_the_last_unit_sell_it_once(shop):
    url, database = shop
    shoppers = [_signed_in(url, "bob"), _signed_in(url, "cat")]
    for slug in ("lamp-4", "lamp-5"):
        product_id = _product_id(database, slug)
        added = _at_once(
            *[partial(_add_to_cart, s, url, product_id, referer=f"{url}/") for s in shoppers]
        )
        assert [answer.status_code for answer in added] == [302, 302]
        forms = [_checkout_data(session, url) for session in shoppers]
        answers = _at_once(
            *[
                lambda s=s, d=d: _post(s, f"{url}/checkout/", d)
                for s, d in zip(shoppers, forms, strict=True)
            ]
        )

        assert [answer.status_code for answer in answers] == [302, 302]
        sold = _rows(
            database, "SELECT count(*) FROM orders_orderitem WHERE product_id = ?", product_id
        )
        assert sold == [(1,)]
        assert _rows(database, "SELECT stock FROM products_product WHERE id = ?", product_id) == [
            (0,)
        ]
        loser = next(
            session
            for session, answer in zip(shoppers, answers, strict=True)
            if answer.headers["Location"] == "/cart/"
        )
        assert "out of stock" in _messages(loser, f"{url}/cart/").lower()
        for session in shoppers:  # empty both carts for the next round
            for line in re.findall(
                r'action="(/cart/items/\d+/remove/)"', session.get(f"{url}/cart/").text
            ):
                _post(
                    session, f"{url}{line}", {"csrfmiddlewaretoken": session.cookies["csrftoken"]}
                )


def test_simultaneous_sign_ups_with_one_address_make_one_account(shop):
    url, database = shop
    for round_ in range(3):
        email = f"twin{round_}@example.com"
        sessions = [requests.Session() for _ in range(4)]
        tokens = [_csrf(session, f"{url}/accounts/signup/") for session in sessions]
        answers = _at_once(
            *[
                partial(
                    _post,
                    s,
                    f"{url}/accounts/signup/",
                    {
                        "csrfmiddlewaretoken": t,
                        "username": f"twin{round_}x{n}",
                        "email": email,
                        "password1": PASSWORD,
                        "password2": PASSWORD,
                    },
                )
                for n, (s, t) in enumerate(zip(sessions, tokens, strict=True))
            ]
        )

        assert all(answer.status_code in {200, 302} for answer in answers), [
            (answer.status_code, answer.text[:300]) for answer in answers
        ]
        assert _rows(database, "SELECT count(*) FROM accounts_user WHERE email = ?", email) == [
            (1,)
        ]


def test_sqlite_is_set_up_for_several_processes():
    database = settings_json(
        "import json; from django.conf import settings; "
        "print(json.dumps(settings.DATABASES['default']))",
        DATABASE_URL="sqlite:////tmp/x.sqlite3",
        DJANGO_SETTINGS_MODULE="myecommerce.settings",
    )
    assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in database["OPTIONS"]["init_command"]
    assert database["OPTIONS"]["timeout"] >= 10


def test_postgres_gets_no_sqlite_options():
    database = settings_json(
        "import json; from django.conf import settings; "
        "print(json.dumps(settings.DATABASES['default']))",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/shop",
        DJANGO_SETTINGS_MODULE="myecommerce.settings",
    )
    assert "transaction_mode" not in database.get("OPTIONS", {})


def test_a_write_lock_that_cannot_be_had_answers_503_and_reads_go_on(shop_files):
    env, folder, database = shop_files
    product_id = _product_id(database, "lamp-6")
    with _serving(env, folder, SQLITE_BUSY_TIMEOUT="0.5") as url:
        shopper = requests.Session()
        _csrf(shopper, f"{url}/products/lamp-6/")
        holder = sqlite3.connect(database, timeout=5, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            added = _add_to_cart(shopper, url, product_id, referer=f"{url}/products/lamp-6/")
            page = shopper.get(f"{url}/products/lamp-6/", timeout=30)
        finally:
            holder.rollback()
            holder.close()
        again = _add_to_cart(shopper, url, product_id, referer=f"{url}/products/lamp-6/")

    assert added.status_code == 503
    assert added.headers["Retry-After"] == "30"
    assert "Unavailable for a moment" in added.text
    assert page.status_code == 200  # WAL: reading never waits for the writer
    assert again.status_code == 302
