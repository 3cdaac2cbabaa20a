"""Things going wrong around the shop: the mail server or the database down, a product deleted
while shoppers hold it, stock edited in the admin in the middle of checkouts.

The mail and database tests run with real transactions (`transaction=True`), so on-commit
e-mails go out exactly as in production, and the failures are real ones: an SMTP backend
pointed at a closed loopback port, a database connection re-opened at an unusable address.
"""

import re
import socket
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from functools import partial
from http import HTTPStatus

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse

from accounts.models import OneTimeCode, User
from accounts.tests.factories import UserFactory
from carts.models import CartItem
from carts.selectors import SESSION_CART_KEY
from carts.tests.factories import CartItemFactory
from orders.models import Order
from orders.tests.factories import checkout_data, order_place_for
from products.models import Product, StockMovement
from products.services import product_stock_set
from products.tests.factories import ProductFactory
from wishlists.models import WishlistItem
from wishlists.tests.factories import WishlistItemFactory

CHECKOUT_URL = reverse("orders:checkout")
CART_URL = reverse("carts:detail")
WISHLIST_URL = reverse("wishlists:detail")
RESET_URL = reverse("accounts:password-reset")
OTP_MINUTE = timedelta(minutes=1, seconds=1)
SMTP = "django.core.mail.backends.smtp.EmailBackend"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


def closed_port() -> int:
    """A loopback port (from ours, 8500–8599) where nothing listens: connecting is refused."""
    for port in range(8590, 8600):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    pytest.fail("no closed port in 8590-8599")


@pytest.fixture
def mail_down(settings):
    """Every e-mail goes to an SMTP server that refuses the connection."""
    settings.EMAIL_BACKEND = SMTP
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = closed_port()
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 2
    # Prove the premise: sending really fails.
    from django.core.mail import send_mail

    with pytest.raises(ConnectionRefusedError):
        send_mail("probe", "probe", None, ["probe@example.com"])
    return settings


def _a_minute_passes() -> None:
    for otc in OneTimeCode.objects.all():
        otc.created_at -= OTP_MINUTE
        otc.expires_at -= OTP_MINUTE
        otc.save(update_fields=["created_at", "expires_at"])


def _code(message) -> str:
    return re.search(r"\b(\d{6})\b", message.body).group(1)


# ------------------------------------------------------------------------------
# The mail server is down
# ------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_signup_with_the_mail_server_down_still_creates_the_account(client, mail_down, mailoutbox):
    response = client.post(
        reverse("accounts:signup"),
        {
            "username": "newbie",
            "email": "newbie@example.com",
            "password1": "Zq8!long-enough",
            "password2": "Zq8!long-enough",
        },
        follow=True,
    )
    assert response.status_code == HTTPStatus.OK
    assert response.redirect_chain[-1][0] == reverse("accounts:verify")
    user = User.objects.get(username="newbie")
    assert not user.email_verified

    # The mail server is back: after a minute the shopper asks for a new code and uses it.
    mail_down.EMAIL_BACKEND = LOCMEM
    _a_minute_passes()
    response = client.post(reverse("accounts:verify-resend"), follow=True)
    assert "A new code is on its way" in response.content.decode()
    assert len(mailoutbox) == 1
    response = client.post(reverse("accounts:verify"), {"code": _code(mailoutbox[0])})
    assert response.status_code == HTTPStatus.FOUND
    user.refresh_from_db()
    assert user.email_verified


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_password_reset_with_the_mail_server_down_answers_as_usual(client, mail_down, mailoutbox):
    user = UserFactory(email="known@example.com")
    response = client.post(RESET_URL, {"email": "known@example.com"}, follow=True)
    assert response.status_code == HTTPStatus.OK
    assert response.redirect_chain[-1][0] == reverse("accounts:password-reset-confirm")
    assert "we have e-mailed it a 6-digit code" in response.content.decode()

    mail_down.EMAIL_BACKEND = LOCMEM
    _a_minute_passes()
    client.post(RESET_URL, {"email": "known@example.com"})
    code = _code(mailoutbox[0])
    response = client.post(
        reverse("accounts:password-reset-confirm"),
        {"code": code, "new_password1": "n3w-Passw0rd!x", "new_password2": "n3w-Passw0rd!x"},
    )
    assert response.status_code == HTTPStatus.FOUND
    user.refresh_from_db()
    assert user.check_password("n3w-Passw0rd!x")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_checkout_with_the_mail_server_down_still_places_the_order(client, mail_down):
    user = UserFactory()
    product = ProductFactory(name="Blue mug", stock=5)
    CartItemFactory(cart__user=user, product=product, quantity=2)
    client.force_login(user)
    response = _checkout(client)
    assert response.status_code == HTTPStatus.OK
    order = Order.objects.get(user=user)
    assert response.redirect_chain[-1][0] == order.get_absolute_url()
    assert f"Your order {order.number} has been placed" in response.content.decode()
    assert Product.objects.get(pk=product.pk).stock == 3
    assert order.items.get().quantity == 2
    assert not CartItem.objects.filter(cart__user=user).exists()


# ------------------------------------------------------------------------------
# The database is down
# ------------------------------------------------------------------------------
@contextmanager
def database_down():
    """Drop the live connection and make every reconnect go to an address nothing serves:
    a closed loopback port on PostgreSQL, a file in a missing folder on SQLite."""
    if connection.vendor == "postgresql":
        unusable = {"HOST": "127.0.0.1", "PORT": str(closed_port())}
    else:
        unusable = {"NAME": "/nonexistent-folder/db.sqlite3"}
    live = connection.connection
    saved = dict(connection.settings_dict)
    connection.settings_dict.update(unusable)
    connection.connection = None  # kept in `live`, not closed: the test database survives
    try:
        with pytest.raises(OperationalError):
            connection.ensure_connection()  # the premise: the database does not answer
        yield
    finally:
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
        connection.connection = live


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_healthz_answers_503_while_the_database_is_down_and_ok_after():
    client = Client()
    with database_down():
        response = client.get(reverse("healthz"))
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.content == b"database unavailable"
    assert client.get(reverse("healthz")).content == b"ok"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("signed_in", [False, True], ids=["guest", "signed-in"])
def test_pages_answer_our_503_page_while_the_database_is_down(settings, signed_in):
    settings.DEBUG = False
    ProductFactory(name="Blue mug")
    client = Client(raise_request_exception=False)
    if signed_in:
        client.force_login(UserFactory())
    # (A guest's empty cart needs no database at all, so it is not on the list.)
    urls = ["/", reverse("products:list")] + ([CART_URL] if signed_in else [])
    with database_down():
        pages = [client.get(url) for url in urls]
    for response in pages:
        # A lost database is "try again in a moment" (issue 19), never the 500 page.
        assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
        assert response["Retry-After"] == "30"
        html = response.content.decode()
        assert "503 — Unavailable for a moment" in html
        assert "Traceback" not in html and "OperationalError" not in html
    assert client.get("/").status_code == HTTPStatus.OK  # and back when it is


# ------------------------------------------------------------------------------
# A product deleted or withdrawn while shoppers hold it
# ------------------------------------------------------------------------------
@pytest.fixture
def shelf(db):
    """A shopper whose cart and wishlist hold a product that stays and one that goes."""
    user = UserFactory(username="holder")
    stays = ProductFactory(name="Green teapot", price="10.00", stock=5)
    goes = ProductFactory(name="Doomed kettle", price="30.00", stock=5)
    for product in (stays, goes):
        CartItemFactory(cart__user=user, product=product, quantity=1)
        WishlistItemFactory(user=user, product=product)
    return user, stays, goes


def _pages_work_for(client, *, stays, gone_name):
    home = client.get("/")
    assert home.status_code == HTTPStatus.OK
    cart = client.get(CART_URL)
    assert cart.status_code == HTTPStatus.OK
    html = cart.content.decode()
    assert stays.name in html
    return home, cart


@pytest.mark.django_db
def test_a_hard_deleted_product_leaves_the_users_cart_and_wishlist_working(client, shelf):
    user, stays, goes = shelf
    client.force_login(user)
    gone_pk = goes.pk
    goes.delete()

    home, cart = _pages_work_for(client, stays=stays, gone_name="Doomed kettle")
    assert "Doomed kettle" not in cart.content.decode()
    assert cart.context["cart"].item_count == 1
    assert 'data-testid="cart-count">1<' in home.content.decode()
    wishlist = client.get(WISHLIST_URL)
    assert wishlist.status_code == HTTPStatus.OK
    assert "Green teapot" in wishlist.content.decode()
    assert "Doomed kettle" not in wishlist.content.decode()
    assert list(WishlistItem.objects.values_list("product__name", flat=True)) == ["Green teapot"]
    # Clicking a stale button for it is a 404, not a 500.
    assert client.post(reverse("wishlists:remove", args=[gone_pk])).status_code == 404
    assert client.post(reverse("carts:add", args=[gone_pk])).status_code == 404

    response = _checkout(client)
    order = Order.objects.get(user=user)
    assert response.redirect_chain[-1][0] == order.get_absolute_url()
    assert [item.product_name for item in order.items.all()] == ["Green teapot"]
    assert order.total == Decimal("10.00")


@pytest.mark.django_db
def test_a_withdrawn_product_is_named_in_cart_wishlist_and_checkout(client, shelf):
    user, stays, goes = shelf
    client.force_login(user)
    Product.objects.filter(pk=goes.pk).update(is_active=False)

    home, cart = _pages_work_for(client, stays=stays, gone_name="Doomed kettle")
    assert "be bought as they stand" in cart.content.decode()
    wishlist = client.get(WISHLIST_URL).content.decode()
    assert "No longer available" in wishlist
    refused = client.post(reverse("wishlists:move-to-cart", args=[goes.pk]), follow=True)
    assert refused.status_code == HTTPStatus.OK

    response = _checkout(client)
    assert response.redirect_chain[-1][0] == CART_URL
    assert "Doomed kettle" in response.content.decode()
    assert not Order.objects.exists()
    assert Product.objects.get(pk=stays.pk).stock == 5  # nothing taken
    # Removing the withdrawn line lets the shopper check out.
    client.post(reverse("carts:remove", args=[goes.pk]))  # a line is named by its product
    _checkout(client)
    assert Order.objects.get(user=user).items.get().product_name == "Green teapot"


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["deleted", "withdrawn"])
def test_a_guests_session_cart_survives_a_product_going(client, how):
    stays = ProductFactory(name="Green teapot", stock=5)
    goes = ProductFactory(name="Doomed kettle", stock=5)
    for product in (stays, goes):
        client.post(reverse("carts:add", args=[product.pk]), {"quantity": 2}, follow=True)
    if how == "deleted":
        goes.delete()
    else:
        Product.objects.filter(pk=goes.pk).update(is_active=False)

    cart = client.get(CART_URL)
    assert cart.status_code == HTTPStatus.OK
    assert "Green teapot" in cart.content.decode()
    assert ("Doomed kettle" in cart.content.decode()) is (how == "withdrawn")

    # Signing in merges what can be merged and the shopper can check out.
    user = UserFactory(username="guest-now")
    client.post(reverse("accounts:login"), {"username": "guest-now", "password": "a-Str0ng-pass!"})
    assert list(
        CartItem.objects.filter(cart__user=user).values_list("product__name", "quantity")
    ) == [("Green teapot", 2)]
    _checkout(client)
    assert Order.objects.get(user=user).items.get().quantity == 2


@pytest.mark.django_db
def test_the_navbar_count_of_a_guest_ignores_a_deleted_product(client):
    stays = ProductFactory(stock=5)
    goes = ProductFactory(stock=5)
    client.post(reverse("carts:add", args=[stays.pk]), {"quantity": 1})
    client.post(reverse("carts:add", args=[goes.pk]), {"quantity": 3})
    goes.delete()
    session = client.session
    assert SESSION_CART_KEY in session
    home = client.get("/").content.decode()
    assert 'data-testid="cart-count">1<' in home


def _checkout(client):
    return client.post(CHECKOUT_URL, checkout_data(client), follow=True)


# ------------------------------------------------------------------------------
# Stock edited in the admin during checkouts (PostgreSQL: real row locks, real threads)
# ------------------------------------------------------------------------------
def _assert_books_balance(product: Product, initial: int) -> None:
    """Every stock change is a movement, the movements chain up, the stock is never negative."""
    product.refresh_from_db()
    movements = list(StockMovement.objects.filter(product=product).order_by("pk"))
    running = initial
    for movement in movements:
        running += movement.change
        assert movement.resulting_stock == running >= 0, movement
    assert product.stock == running >= 0
    sold = sum(
        item.quantity
        for order in Order.objects.all()
        for item in order.items.filter(product=product)
    )
    taken = -sum(m.change for m in movements if m.reason == StockMovement.Reason.ORDER_PLACED)
    assert sold == taken


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_stock_lowered_in_the_admin_form_during_checkouts_never_oversells(run_at_once):
    from products.tests.factories import change_form_data

    product = ProductFactory(name="Limited print", stock=10)
    shoppers = [UserFactory() for _ in range(8)]
    for user in shoppers:
        CartItemFactory(cart__user=user, product=product, quantity=2)
    staff = UserFactory(username="boss", is_staff=True, is_superuser=True)
    admin = Client()
    admin.force_login(staff)
    form = change_form_data(product, stock=3, **{"initial-stock": 10})

    def admin_edit():
        response = admin.post(reverse("admin:products_product_change", args=[product.pk]), form)
        return response.status_code

    results = run_at_once([admin_edit] + [partial(order_place_for, user) for user in shoppers])

    assert [value for outcome, value in results if outcome == "error"] == []
    assert results[0] == ("ok", HTTPStatus.FOUND)
    _assert_books_balance(product, initial=10)
    # The admin's edit is one of the movements, and orders after it took at most its 3 units.
    edit = StockMovement.objects.get(product=product, created_by=staff)
    after_edit = StockMovement.objects.filter(
        product=product, pk__gt=edit.pk, reason=StockMovement.Reason.ORDER_PLACED
    )
    assert edit.resulting_stock == 3
    assert -sum(after_edit.values_list("change", flat=True)) <= 3
    placed = sum(1 for outcome, _ in results[1:] if outcome == "ok")
    refused = sum(1 for outcome, _ in results[1:] if outcome == "refused")
    assert placed + refused == 8 and placed == Order.objects.count() >= 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_stock_set_again_and_again_during_checkouts_never_oversells(run_at_once):
    product = ProductFactory(name="Limited print", stock=6)
    shoppers = [UserFactory() for _ in range(10)]
    for user in shoppers:
        CartItemFactory(cart__user=user, product=product, quantity=1)
    staff = UserFactory(username="boss", is_staff=True)

    def set_stock(value):
        return lambda: product_stock_set(
            product_id=product.pk,
            new_stock=value,
            reason=StockMovement.Reason.ADMIN_EDIT,
            by=staff,
        )

    edits = [set_stock(value) for value in (0, 4, 1, 2)]
    results = run_at_once(edits + [partial(order_place_for, user) for user in shoppers])

    assert [value for outcome, value in results if outcome == "error"] == []
    _assert_books_balance(product, initial=6)
    for outcome, value in results[len(edits) :]:
        if outcome == "refused":
            assert "Limited print" in value.messages[0]
