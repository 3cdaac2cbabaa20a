"""Security headers: every HTML answer carries a strict Content-Security-Policy and the
classic headers, error pages and the admin included, and `check --deploy` is clean.

Whether the pages actually satisfy the policy is proved in the browser (e2e/test_csp.py);
here the HTML is also scanned for the inline code the policy forbids, which is quicker and
names the template.
"""

import re
import secrets
from http import HTTPStatus
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client, override_settings
from django.urls import path

from accounts.tests.factories import StaffFactory, UserFactory
from carts.services import cart_add_product, cart_for
from myecommerce.tests.conftest import settings_json
from myecommerce.urls import urlpatterns as shop_urlpatterns
from orders.tests.factories import OrderFactory
from products.tests.factories import CategoryFactory, ProductFactory
from wishlists.models import WishlistItem

ROOT = Path(__file__).resolve().parents[2]


def _boom(request):
    raise RuntimeError("a bug in a view")


# This module is also a URLconf (pytest.mark.urls below): the shop plus a view that fails.
urlpatterns = [path("test-boom/", _boom), *shop_urlpatterns]


def csp_directives(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_security_headers(response):
    assert "Content-Security-Policy" in response.headers, response.headers
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.fixture
def shopper(db):
    return UserFactory()


@pytest.fixture
def product(db):
    return ProductFactory(category=CategoryFactory(), stock=10, price="12.50")


def test_the_policy_allows_only_the_sites_own_code_and_no_framing(client, db):
    response = client.get("/")

    assert response.status_code == HTTPStatus.OK
    directives = csp_directives(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["img-src"] == ["'self'", "data:"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["form-action"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]


@pytest.mark.parametrize(
    "url",
    ["/", "/products/", "/products/?q=lamp", "/accounts/login/", "/accounts/signup/", "/healthz/"],
)
def test_public_answers_carry_the_security_headers(client, product, url):
    response = client.get(url)

    assert response.status_code == HTTPStatus.OK
    assert_security_headers(response)


def test_a_product_page_carries_the_security_headers(client, product):
    response = client.get(product.get_absolute_url())

    assert response.status_code == HTTPStatus.OK
    assert_security_headers(response)


@pytest.mark.parametrize(
    "url", ["/cart/", "/wishlist/", "/checkout/", "/orders/", "/accounts/profile/"]
)
def test_a_shoppers_pages_carry_the_security_headers(client, shopper, product, url):
    cart_add_product(cart=cart_for(user=shopper), product_id=product.pk, quantity=1)
    client.force_login(shopper)

    response = client.get(url)

    assert response.status_code == HTTPStatus.OK
    assert_security_headers(response)


def test_the_not_found_page_carries_the_security_headers(client, db):
    response = client.get("/no-such-page/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "Page not found" in response.content.decode()
    assert_security_headers(response)


def test_another_users_order_answers_not_found_with_the_security_headers(client, shopper):
    order = OrderFactory(user=UserFactory())
    client.force_login(shopper)

    response = client.get(order.get_absolute_url())

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert_security_headers(response)


@pytest.mark.urls(__name__)
def test_the_server_error_page_carries_the_security_headers(db):
    client = Client(raise_request_exception=False)

    response = client.get("/test-boom/")

    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert "Traceback" not in response.content.decode()
    assert_security_headers(response)


def test_a_refused_csrf_post_carries_the_security_headers(db):
    response = Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": "x"})

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert_security_headers(response)


def test_the_admin_sign_in_page_carries_the_security_headers(client, db):
    response = client.get("/admin/login/")

    assert response.status_code == HTTPStatus.OK
    assert_security_headers(response)


def test_the_admin_pages_carry_the_security_headers(client, product):
    client.force_login(StaffFactory(is_superuser=True))

    for url in [
        "/admin/",
        "/admin/products/product/",
        f"/admin/products/product/{product.pk}/change/",
    ]:
        response = client.get(url)
        assert response.status_code == HTTPStatus.OK, url
        assert_security_headers(response)


# <script> with a body (no src), inline event handlers, javascript: links, <style> blocks
# and style="" attributes: everything a policy without 'unsafe-inline' refuses.
INLINE_CODE = re.compile(
    r"<script(?![^>]*\bsrc=)[^>]*>\s*\S"
    r"|<style[\s>]"
    r"|\sstyle\s*=\s*[\"']"
    r"|\son[a-z]+\s*=\s*[\"']"
    r"|href\s*=\s*[\"']\s*javascript:",
    re.IGNORECASE,
)


def inline_code(response) -> list[str]:
    html = response.content.decode()
    return [html[max(0, m.start() - 60) : m.end() + 40] for m in INLINE_CODE.finditer(html)]


def test_the_inline_code_scan_finds_what_the_policy_forbids():
    samples = [
        "<script>alert(1)</script>",
        '<p style="color:red">',
        "<style>p{}</style>",
        '<button onclick="go()">',
        '<a href="javascript:go()">',
    ]
    for sample in samples:
        assert INLINE_CODE.search(sample), sample
    allowed = '<script src="/static/js/checkout.js"></script><p class="styled" data-on="x">'
    assert not INLINE_CODE.search(allowed)


def test_checkout_profile_wishlist_and_not_found_pages_have_no_inline_code(
    client, shopper, product
):
    """Their script and style attributes moved to static files for the CSP."""
    cart_add_product(cart=cart_for(user=shopper), product_id=product.pk, quantity=1)
    WishlistItem.objects.create(user=shopper, product=product)
    client.force_login(shopper)

    for url in ["/checkout/", "/accounts/profile/", "/wishlist/", "/no-such-page/"]:
        response = client.get(url)
        assert response.status_code in {HTTPStatus.OK, HTTPStatus.NOT_FOUND}, url
        assert inline_code(response) == [], url
    assert b"js/checkout.js" in client.get("/checkout/").content


def test_the_admin_dashboard_and_order_page_have_no_inline_code(client, product):
    order = OrderFactory()
    client.force_login(StaffFactory(is_superuser=True))

    for url in ["/admin/", f"/admin/orders/order/{order.pk}/change/"]:
        response = client.get(url)
        assert response.status_code == HTTPStatus.OK, url
        assert inline_code(response) == [], url
        assert b"css/admin.css" in response.content


PRODUCTION = {
    "DEBUG": False,
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": ["shop.example.com"],
    "SECURE_SSL_REDIRECT": True,
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
    "SECURE_HSTS_SECONDS": 60 * 60 * 24 * 365,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SECURE_HSTS_PRELOAD": True,
    # CACHE_URL=redis://… (checked, never connected to)
    "CACHES": {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/15",
        }
    },
}


def test_deployment_checks_are_clean_with_production_settings(db):
    with override_settings(**PRODUCTION):
        call_command("check", deploy=True, fail_level="WARNING")


def test_deployment_checks_fail_when_a_production_switch_is_off(db):
    """The check above can fail: plain-HTTP cookies are reported."""
    with (
        override_settings(**{**PRODUCTION, "SESSION_COOKIE_SECURE": False}),
        pytest.raises(SystemCheckError, match="SESSION_COOKIE_SECURE"),
    ):
        call_command("check", deploy=True, fail_level="WARNING")


def test_deployment_checks_fail_with_a_per_process_cache(db):
    locmem = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    with (
        override_settings(**{**PRODUCTION, "CACHES": locmem}),
        pytest.raises(SystemCheckError, match="myecommerce.W001"),
    ):
        call_command("check", deploy=True, fail_level="WARNING")


def test_deployment_checks_fail_when_e_mail_goes_to_the_console(db):
    console = "django.core.mail.backends.console.EmailBackend"
    with (
        override_settings(**{**PRODUCTION, "EMAIL_BACKEND": console}),
        pytest.raises(SystemCheckError, match="accounts.W001"),
    ):
        call_command("check", deploy=True, fail_level="WARNING")


def _img_src(**env) -> list[str]:
    """img-src as the settings build it in a fresh interpreter with this environment."""
    return settings_json(
        "import json, myecommerce.settings as s;"
        "print(json.dumps(s.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src']))",
        **env,
    )


def test_images_from_object_storage_are_allowed_when_it_is_configured():
    assert _img_src() == ["'self'", "data:"]
    assert _img_src(
        AWS_S3_ENDPOINT_URL="http://127.0.0.1:9000",
        AWS_S3_CUSTOM_DOMAIN="media.example.com/shop",
    ) == ["'self'", "data:", "https://media.example.com", "http://127.0.0.1:9000"]


def test_images_from_an_aws_bucket_are_allowed_without_a_custom_domain():
    assert _img_src(AWS_STORAGE_BUCKET_NAME="shop-media", AWS_S3_REGION_NAME="eu-west-1") == [
        "'self'",
        "data:",
        "https://shop-media.s3.amazonaws.com",
        "https://shop-media.s3.eu-west-1.amazonaws.com",
        "https://s3.eu-west-1.amazonaws.com",
    ]
    assert _img_src(
        AWS_STORAGE_BUCKET_NAME="shop-media", AWS_S3_ENDPOINT_URL="http://minio.internal:9000"
    ) == ["'self'", "data:", "http://minio.internal:9000", "http://shop-media.minio.internal:9000"]
    assert _img_src(
        AWS_STORAGE_BUCKET_NAME="shop-media", AWS_S3_CUSTOM_DOMAIN="cdn.example.com"
    ) == ["'self'", "data:", "https://cdn.example.com"]


def test_unusable_object_storage_addresses_are_left_out_of_the_policy():
    assert _img_src(AWS_S3_ENDPOINT_URL="not a url", AWS_S3_CUSTOM_DOMAIN="") == [
        "'self'",
        "data:",
    ]
    assert _img_src(AWS_S3_ENDPOINT_URL="ftp://files.example.com") == ["'self'", "data:"]
