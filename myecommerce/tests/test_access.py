"""Who may reach what: the access matrix over every URL that names an object, CSRF, methods,
staff pages and redirects that never leave the site.

The matrix is checked against the URLconf itself (`test_every_url_with_a_parameter_is_in_the_
matrix`), so a new URL that takes an id or a number fails here until its access rules are added.
"""

import re
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib import admin
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory
from carts.models import CartItem
from carts.selectors import SESSION_CART_KEY
from carts.tests.factories import CartItemFactory
from orders.models import Order
from orders.tests.factories import OrderFactory
from products.tests.factories import ProductFactory
from wishlists.models import WishlistItem
from wishlists.tests.factories import WishlistItemFactory

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("accounts:login")


# ------------------------------------------------------------------------------
# The matrix
# ------------------------------------------------------------------------------
# Every URL name with a path parameter, and who owns the object it names:
#   "user"   — signed-in only, scoped to its owner: a guest signs in, anyone else gets 404.
#   "list"   — signed-in only; names a product and acts on the visitor's *own* wishlist, so
#              another user's wishlist is out of reach by construction (tested below).
#   "cart"   — guests have carts too (in the session): anyone else's line is a 404 for all.
#   "public" — the catalogue: anybody may see it; unknown ones are 404.
OBJECT_URLS = {
    "carts:add": "public",
    "carts:update": "cart",
    "carts:remove": "cart",
    "wishlists:add": "list",
    "wishlists:remove": "list",
    "wishlists:move-to-cart": "user",
    "orders:detail": "user",
    "orders:cancel": "user",
    "products:detail": "public",
    "products:category": "public",
    # Uploads in MEDIA_ROOT: images only, anybody (as from a public bucket); test_media.py.
    "media": "public",
}
# Pages for signed-in users only, without a parameter: they are "their own" by definition.
SIGNED_IN_PAGES = [
    "accounts:profile",
    "accounts:password-change",
    "accounts:email-verify",
    "wishlists:detail",
    "orders:list",
    "orders:checkout",
]
POST_ONLY = [
    "accounts:verify-resend",
    "accounts:logout",
    "carts:add",
    "carts:update",
    "carts:remove",
    "wishlists:add",
    "wishlists:remove",
    "wishlists:move-to-cart",
    "orders:cancel",
]


def _named_patterns(resolver: URLResolver, namespace: str = "", prefix: str = ""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue  # Django's admin: checked as a whole by the staff tests below
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _named_patterns(pattern, inner, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}", prefix + str(pattern.pattern)


def test_every_url_with_a_parameter_is_in_the_matrix():
    with_params = {
        name for name, route in _named_patterns(get_resolver()) if "<" in route and ":" in route
    }
    # Nothing may be added without saying who owns it, and the matrix names no ghost URLs.
    assert with_params == set(OBJECT_URLS)


@pytest.fixture
def owner():
    return UserFactory(username="owner")


@pytest.fixture
def intruder():
    return UserFactory(username="intruder")


@pytest.fixture
def objects(owner):
    """One object of each kind, all belonging to `owner`."""
    product = ProductFactory(stock=10)
    wished = ProductFactory(stock=10)
    return {
        "product": product,
        "cart_item": CartItemFactory(cart__user=owner, product=product, quantity=2),
        "wish": WishlistItemFactory(user=owner, product=wished),
        "order": OrderFactory(user=owner),
    }


def _url(name: str, objects) -> str:
    kwargs = {
        "carts:add": {"product_id": objects["product"].pk},
        "carts:update": {"product_id": objects["cart_item"].product_id},
        "carts:remove": {"product_id": objects["cart_item"].product_id},
        "wishlists:add": {"product_id": objects["wish"].product_id},
        "wishlists:remove": {"product_id": objects["wish"].product_id},
        "wishlists:move-to-cart": {"product_id": objects["wish"].product_id},
        "orders:detail": {"number": objects["order"].number},
        "orders:cancel": {"number": objects["order"].number},
        "products:detail": {"slug": objects["product"].slug},
        "products:category": {"slug": objects["product"].category.slug},
    }[name]
    return reverse(name, kwargs=kwargs)


def _state(objects) -> dict:
    """Everything the owner has, to prove a refused request changed nothing."""
    order = Order.objects.get(pk=objects["order"].pk)
    return {
        "cart": sorted(CartItem.objects.values_list("cart__user_id", "product_id", "quantity")),
        "wishlist": sorted(WishlistItem.objects.values_list("user_id", "product_id")),
        "order": order.status,
        "orders": Order.objects.count(),
    }


def _post_or_get(client, name, url):
    return client.post(url, {"quantity": 1}) if name in POST_ONLY else client.get(url)


OWNED = sorted(name for name, kind in OBJECT_URLS.items() if kind in {"user", "cart"})
SIGNED_IN_ONLY = sorted(name for name, kind in OBJECT_URLS.items() if kind in {"user", "list"})


@pytest.mark.parametrize("name", OWNED)
def test_another_user_gets_404_and_changes_nothing(client, intruder, objects, name):
    before = _state(objects)
    client.force_login(intruder)
    response = _post_or_get(client, name, _url(name, objects))
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert _state(objects) == before


def test_wishlist_clicks_of_another_user_touch_only_their_own_wishlist(
    client, owner, intruder, objects
):
    client.force_login(intruder)
    response = client.post(_url("wishlists:remove", objects), follow=True)
    assert response.status_code == HTTPStatus.OK
    assert "was not in your wishlist" in response.content.decode()
    client.post(_url("wishlists:add", objects))
    assert sorted(WishlistItem.objects.values_list("user__username", "product_id")) == [
        ("intruder", objects["wish"].product_id),
        ("owner", objects["wish"].product_id),
    ]


@pytest.mark.parametrize("name", sorted(set(OWNED) | set(SIGNED_IN_ONLY)))
def test_a_guest_is_sent_to_sign_in_or_gets_404(client, objects, name):
    before = _state(objects)
    url = _url(name, objects)
    response = _post_or_get(client, name, url)
    if OBJECT_URLS[name] == "cart":
        # A guest's cart is their session: a signed-in user's line is simply not in it.
        assert response.status_code == HTTPStatus.NOT_FOUND
    else:
        assert response.status_code == HTTPStatus.FOUND
        location = urlsplit(response["Location"])
        assert location.path == LOGIN_URL
        assert parse_qs(location.query)["next"] != []
    assert _state(objects) == before


@pytest.mark.parametrize("name", SIGNED_IN_PAGES)
def test_signed_in_pages_send_a_guest_to_sign_in_and_back(client, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == HTTPStatus.FOUND
    location = urlsplit(response["Location"])
    assert location.path == LOGIN_URL
    assert parse_qs(location.query)["next"] == [url]


@pytest.mark.parametrize("name", sorted(set(OWNED) | set(SIGNED_IN_ONLY)))
def test_the_owner_may_use_every_owned_url(client, owner, objects, name):
    client.force_login(owner)
    response = _post_or_get(client, name, _url(name, objects))
    assert response.status_code in {HTTPStatus.OK, HTTPStatus.FOUND}


def test_a_guest_cannot_reach_another_guests_cart_line(client, objects):
    other_guest = SessionStore()
    other_guest[SESSION_CART_KEY] = {str(objects["product"].pk): 3}
    other_guest.create()
    # The line's id is the product id, but only in the other guest's session.
    url = reverse("carts:update", kwargs={"product_id": objects["product"].pk})
    response = client.post(url, {"quantity": 1})
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert SessionStore(session_key=other_guest.session_key)[SESSION_CART_KEY] == {
        str(objects["product"].pk): 3
    }


def test_staff_without_the_order_permission_see_only_their_own_orders(client, objects):
    client.force_login(StaffFactory())
    assert client.get(_url("orders:detail", objects)).status_code == HTTPStatus.NOT_FOUND


def test_store_managers_see_any_order_but_cannot_cancel_it_as_theirs(client, objects, manager):
    client.force_login(manager)
    assert client.get(_url("orders:detail", objects)).status_code == HTTPStatus.OK
    response = client.post(_url("orders:cancel", objects))
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert Order.objects.get(pk=objects["order"].pk).status == Order.Status.PENDING


# ------------------------------------------------------------------------------
# CSRF and methods
# ------------------------------------------------------------------------------
STATE_CHANGING_POSTS = [
    ("accounts:signup", {"username": "x", "email": "x@example.com", "password1": "p"}),
    ("accounts:login", {"username": "owner", "password": DEFAULT_PASSWORD}),
    ("accounts:logout", {}),
    ("accounts:password-reset", {"email": "owner@example.com"}),
    ("accounts:password-change", {"old_password": DEFAULT_PASSWORD}),
    ("accounts:profile", {"username": "renamed", "email": "owner@example.com"}),
    ("accounts:email-verify", {"code": "123456"}),
    ("accounts:email-undo", {"token": "x"}),
    ("accounts:verify", {"code": "123456"}),
    ("accounts:verify-resend", {}),
    ("accounts:password-reset-confirm", {"code": "123456"}),
    ("carts:add", {"quantity": 1}),
    ("carts:update", {"quantity": 5}),
    ("carts:remove", {}),
    ("wishlists:add", {}),
    ("wishlists:remove", {}),
    ("wishlists:move-to-cart", {}),
    ("orders:checkout", {"full_name": "X", "payment_method": "cod"}),
    ("orders:cancel", {}),
]


@pytest.mark.parametrize(
    ("name", "data"), STATE_CHANGING_POSTS, ids=[n for n, _ in STATE_CHANGING_POSTS]
)
def test_a_post_without_a_csrf_token_is_forbidden_and_changes_nothing(owner, objects, name, data):
    client = Client(enforce_csrf_checks=True)
    if name != "accounts:login":
        client.force_login(owner)
    before = _state(objects)
    before_user = User.objects.values().get(pk=owner.pk)
    url = _url(name, objects) if name in OBJECT_URLS else reverse(name)
    response = client.post(url, data)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "This form has expired or was not sent by this site" in response.content.decode()
    assert _state(objects) == before
    assert User.objects.values().get(pk=owner.pk) == before_user
    if name == "accounts:logout":
        assert client.get(reverse("orders:list")).status_code == HTTPStatus.OK  # still signed in


def test_the_same_post_with_its_csrf_token_goes_through(owner, objects):
    """The control for the CSRF test above: the token, not something else, made the 403."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    client.get(reverse("carts:detail"))
    response = client.post(
        _url("carts:update", objects),
        {"quantity": 5, "csrfmiddlewaretoken": client.cookies["csrftoken"].value},
    )
    assert response.status_code == HTTPStatus.FOUND
    assert CartItem.objects.get(pk=objects["cart_item"].pk).quantity == 5


@pytest.mark.parametrize("name", POST_ONLY)
def test_get_on_a_post_only_url_is_405_and_changes_nothing(client, owner, objects, name):
    client.force_login(owner)
    before = _state(objects)
    url = _url(name, objects) if name in OBJECT_URLS else reverse(name)
    response = client.get(url)
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert "POST" in response["Allow"]
    assert _state(objects) == before


# ------------------------------------------------------------------------------
# Staff pages
# ------------------------------------------------------------------------------
def _admin_urls() -> list[str]:
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        urls.append(reverse("admin:{}_{}_changelist".format(*info)))
        urls.append(reverse("admin:{}_{}_add".format(*info)))
    return urls


@pytest.mark.parametrize("signed_in", [False, True], ids=["guest", "shopper"])
def test_admin_pages_refuse_non_staff(client, signed_in):
    if signed_in:
        client.force_login(UserFactory())
    for url in _admin_urls():
        response = client.get(url)
        assert response.status_code == HTTPStatus.FOUND, url
        location = urlsplit(response["Location"])
        assert location.path == reverse("admin:login"), url
    assert len(_admin_urls()) > 10  # every registered model was listed


def test_admin_object_pages_refuse_non_staff(client, owner, objects):
    client.force_login(owner)
    for url in [
        reverse("admin:orders_order_change", args=[objects["order"].pk]),
        reverse("admin:accounts_user_change", args=[owner.pk]),
        reverse("admin:products_product_change", args=[objects["product"].pk]),
        reverse("admin:products_product_delete", args=[objects["product"].pk]),
    ]:
        response = client.get(url)
        assert response.status_code == HTTPStatus.FOUND, url
        assert urlsplit(response["Location"]).path == reverse("admin:login")
    assert not User.objects.get(pk=owner.pk).is_staff


def test_non_staff_cannot_sign_in_to_the_admin(client, owner):
    response = client.post(
        reverse("admin:login"), {"username": "owner", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == HTTPStatus.OK  # the form again, with an error
    assert "staff account" in response.content.decode()
    assert client.get(reverse("admin:index")).status_code == HTTPStatus.FOUND


# ------------------------------------------------------------------------------
# Redirects stay on the site
# ------------------------------------------------------------------------------
EVIL_NEXT = [
    "https://evil.example/",
    "http://evil.example/path",
    "//evil.example",
    "///evil.example",
    "\\\\evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    " //evil.example",
    "http://testserver@evil.example/",
    "\x00//evil.example",
]


def _assert_on_site(location: str) -> None:
    parts = urlsplit(location)
    assert parts.scheme in {"", "http"}, location
    assert parts.netloc in {"", "testserver"}, location
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location
    assert "evil" not in location.split("?")[0], location


@pytest.mark.parametrize("evil", EVIL_NEXT)
def test_login_never_redirects_off_site(client, owner, evil):
    response = client.post(
        f"{LOGIN_URL}?next={evil}", {"username": "owner", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == HTTPStatus.FOUND
    _assert_on_site(response["Location"])
    assert client.session.get("_auth_user_id") == str(owner.pk)


@pytest.mark.parametrize("evil", EVIL_NEXT)
def test_login_form_field_next_never_redirects_off_site(client, owner, evil):
    response = client.post(
        LOGIN_URL, {"username": "owner", "password": DEFAULT_PASSWORD, "next": evil}
    )
    _assert_on_site(response["Location"])


@pytest.mark.parametrize("evil", EVIL_NEXT)
def test_logout_never_redirects_off_site(client, owner, evil):
    client.force_login(owner)
    for response in [
        client.post(reverse("accounts:logout"), {"next": evil}),
        client.post(f"{reverse('accounts:logout')}?next={evil}"),
    ]:
        assert response.status_code == HTTPStatus.FOUND
        _assert_on_site(response["Location"])
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("evil", EVIL_NEXT[:6])
def test_an_unverified_sign_in_keeps_no_unsafe_next_for_after_the_code(
    client, mailoutbox, django_capture_on_commit_callbacks, evil
):
    UserFactory(username="late", email_verified=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{LOGIN_URL}?next={evil}", {"username": "late", "password": DEFAULT_PASSWORD}
        )
    assert response["Location"] == reverse("accounts:verify")
    code = re.search(r"\b(\d{6})\b", mailoutbox[-1].body).group(1)
    response = client.post(reverse("accounts:verify"), {"code": code})
    assert response["Location"] == "/"


@pytest.mark.parametrize("evil", EVIL_NEXT)
def test_a_signed_in_visit_to_login_never_redirects_off_site(client, owner, evil):
    client.force_login(owner)
    response = client.get(LOGIN_URL, {"next": evil})
    _assert_on_site(response["Location"])


@pytest.mark.parametrize("evil", EVIL_NEXT)
def test_cart_and_wishlist_actions_never_redirect_off_site(client, owner, objects, evil):
    client.force_login(owner)
    for name in ["carts:add", "carts:update", "wishlists:add", "wishlists:remove"]:
        url = _url(name, objects)
        by_field = client.post(url, {"quantity": 1, "next": evil})
        _assert_on_site(by_field["Location"])
        by_query = client.post(f"{url}?next={evil}", {"quantity": 1})
        _assert_on_site(by_query["Location"])
        by_referer = client.post(url, {"quantity": 1}, headers={"referer": evil})
        _assert_on_site(by_referer["Location"])


@pytest.mark.parametrize("evil", EVIL_NEXT[:6])
def test_a_guest_wishlist_click_sends_to_sign_in_with_a_safe_next(client, objects, evil):
    response = client.post(_url("wishlists:add", objects), {"next": evil})
    location = urlsplit(response["Location"])
    assert location.path == LOGIN_URL
    _assert_on_site(parse_qs(location.query)["next"][0])


@pytest.mark.parametrize("evil", EVIL_NEXT[:6])
def test_signup_next_is_dropped_when_it_leaves_the_site(
    client, mailoutbox, django_capture_on_commit_callbacks, evil
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{reverse('accounts:signup')}?next={evil}",
            {
                "username": "newbie",
                "email": "newbie@example.com",
                "password1": "Zq8!long-enough",
                "password2": "Zq8!long-enough",
            },
        )
    assert response.status_code == HTTPStatus.FOUND
    code = re.search(r"\b(\d{6})\b", mailoutbox[-1].body).group(1)
    response = client.post(reverse("accounts:verify"), {"code": code})
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/"
