"""Several app servers: what the settings make of the environment, and state that must be shared.

Settings are read in a fresh interpreter with the environment under test. The lock-out and
session tests run against a real Redis (database 11 on 127.0.0.1), skipped when Redis is not
answering (failed instead under REQUIRE_SERVICES=1).
"""

import os
import subprocess
import sys
from http import HTTPStatus
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.core.cache import cache, caches
from django.test import Client
from django.urls import reverse

from accounts import lockout
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from myecommerce.tests.conftest import redis_database, settings_json
from products.tests.factories import ProductFactory

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/11"
LOGIN_URL = reverse("accounts:login")

PRINT_SETTINGS = """
import json
from myecommerce import settings as s
from myecommerce.celery import app
print(json.dumps({
    "caches": s.CACHES,
    "axes_handler": s.AXES_HANDLER,
    "axes_cache": s.AXES_CACHE,
    "session_engine": s.SESSION_ENGINE,
    "storages": s.STORAGES,
    "broker": s.CELERY_BROKER_URL,
    "eager": app.conf.task_always_eager,
    "message_storage": getattr(s, "MESSAGE_STORAGE", "default"),
    "csrf_use_sessions": getattr(s, "CSRF_USE_SESSIONS", False),
}, default=str))
"""


def _settings(**env) -> dict:
    return settings_json(PRINT_SETTINGS, **env)


# ------------------------------------------------------------------------------
# Settings from the environment
# ------------------------------------------------------------------------------
def test_without_redis_one_machine_shares_a_file_cache_and_lock_outs_go_to_the_database():
    s = _settings()
    # Every process on the machine shares it (test_shared_cache.py).
    assert (
        s["caches"]["default"]["BACKEND"] == "django.core.cache.backends.filebased.FileBasedCache"
    )
    assert s["axes_handler"] == "axes.handlers.database.AxesDatabaseHandler"
    assert s["session_engine"] == "django.contrib.sessions.backends.cached_db"
    assert s["eager"] is True and s["broker"] == ""
    assert s["storages"]["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"


def test_a_redis_cache_url_means_django_redis_with_timeouts_and_a_key_prefix():
    s = _settings(CACHE_URL="redis://127.0.0.1:6379/1")
    default = s["caches"]["default"]
    assert default["BACKEND"] == "django_redis.cache.RedisCache"
    assert default["LOCATION"] == "redis://127.0.0.1:6379/1"
    assert default["KEY_PREFIX"] == "myecommerce"
    assert default["OPTIONS"] == {
        "SOCKET_CONNECT_TIMEOUT": 1.0,
        "SOCKET_TIMEOUT": 1.0,
        "IGNORE_EXCEPTIONS": True,
    }
    # Lock-out counters: shared in Redis, on an alias that never hides a Redis failure, in
    # another database than the pages (by default: the same server, database number + 8).
    assert s["axes_handler"] == "axes.handlers.cache.AxesCacheHandler"
    assert s["axes_cache"] == "security"
    security = s["caches"]["security"]
    assert security["BACKEND"] == "django_redis.cache.RedisCache"
    assert security["LOCATION"] == "redis://127.0.0.1:6379/9"
    assert security["KEY_PREFIX"] == "myecommerce"
    assert security["OPTIONS"]["IGNORE_EXCEPTIONS"] is False


def test_without_redis_security_state_is_kept_apart_from_the_pages_and_never_culled():
    s = _settings()
    default, security = s["caches"]["default"], s["caches"]["security"]
    assert security["BACKEND"] == default["BACKEND"]  # shared by the machine's processes
    assert security["LOCATION"] == str(Path(default["LOCATION"]) / "security")
    assert security["OPTIONS"]["MAX_ENTRIES"] >= 10**9
    assert s["axes_handler"] == "axes.handlers.database.AxesDatabaseHandler"
    s = _settings(CACHE_URL="locmemcache://")
    assert s["caches"]["security"]["LOCATION"] == "security"  # not the pages' dictionary
    assert s["caches"]["security"]["OPTIONS"]["MAX_ENTRIES"] >= 10**9


def test_security_cache_url_puts_lock_outs_on_their_own_redis():
    s = _settings(
        CACHE_URL="redis://cache.internal:6379/0",
        SECURITY_CACHE_URL="redis://security.internal:6379/0",
    )
    assert s["caches"]["default"]["LOCATION"] == "redis://cache.internal:6379/0"
    security = s["caches"]["security"]
    assert security["LOCATION"] == "redis://security.internal:6379/0"
    assert security["OPTIONS"]["IGNORE_EXCEPTIONS"] is False
    assert (s["axes_handler"], s["axes_cache"]) == (
        "axes.handlers.cache.AxesCacheHandler",
        "security",
    )


def test_cache_options_can_be_changed_by_environment():
    s = _settings(
        CACHE_URL="rediss://:secret@redis.internal:6380/2",
        CACHE_KEY_PREFIX="shop-eu",
        CACHE_IGNORE_EXCEPTIONS="False",
        CACHE_SOCKET_TIMEOUT="0.5",
        AXES_HANDLER="axes.handlers.database.AxesDatabaseHandler",
    )
    default = s["caches"]["default"]
    assert default["BACKEND"] == "django_redis.cache.RedisCache"
    assert default["KEY_PREFIX"] == "shop-eu"
    assert default["OPTIONS"]["IGNORE_EXCEPTIONS"] is False
    assert default["OPTIONS"]["SOCKET_TIMEOUT"] == 0.5
    assert s["axes_handler"] == "axes.handlers.database.AxesDatabaseHandler"  # env wins


def test_a_bucket_name_sends_uploads_to_object_storage():
    s = _settings(
        AWS_STORAGE_BUCKET_NAME="shop-media",
        AWS_S3_ENDPOINT_URL="http://127.0.0.1:9000",
        AWS_S3_REGION_NAME="eu-central-1",
        AWS_ACCESS_KEY_ID="AKIAEXAMPLE",
        AWS_SECRET_ACCESS_KEY="example-secret",
        AWS_S3_CUSTOM_DOMAIN="media.example.com",
    )
    default = s["storages"]["default"]
    assert default["BACKEND"] == "storages.backends.s3.S3Storage"
    options = default["OPTIONS"]
    assert options["bucket_name"] == "shop-media"
    assert options["endpoint_url"] == "http://127.0.0.1:9000"
    assert options["region_name"] == "eu-central-1"
    assert (options["access_key"], options["secret_key"]) == ("AKIAEXAMPLE", "example-secret")
    assert options["custom_domain"] == "media.example.com"
    assert options["file_overwrite"] is False and options["querystring_auth"] is False
    # Static files stay with whitenoise either way.
    assert "whitenoise" in s["storages"]["staticfiles"]["BACKEND"]


def test_a_bucket_without_keys_leaves_credentials_to_boto3():
    options = _settings(AWS_STORAGE_BUCKET_NAME="shop-media")["storages"]["default"]["OPTIONS"]
    assert options["access_key"] is None and options["endpoint_url"] is None


def test_a_broker_url_queues_tasks_instead_of_running_them_in_process():
    s = _settings(CELERY_BROKER_URL="redis://127.0.0.1:6379/3")
    assert s["broker"] == "redis://127.0.0.1:6379/3"
    assert s["eager"] is False


def test_no_per_process_state_for_csrf_and_messages():
    s = _settings()
    # The CSRF secret is a cookie; messages are in cookies, falling back to the session.
    assert s["csrf_use_sessions"] is False
    assert s["message_storage"] in {
        "default",
        "django.contrib.messages.storage.fallback.FallbackStorage",
        "django.contrib.messages.storage.cookie.CookieStorage",
        "django.contrib.messages.storage.session.SessionStorage",
    }


def test_deploy_checks_pass_with_redis_object_storage_and_a_broker():
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CACHE_", "AXES_", "AWS_", "CELERY_", "DEBUG", "DATABASE_URL"))
        # The browser tests set this for their live server; production never does.
        and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env.update(
        DEBUG="False",
        SECRET_KEY="a-long-random-production-key-" + "x" * 40,
        ALLOWED_HOSTS="shop.example.com",
        EMAIL_URL="smtp+tls://shop:secret@mail.example.com:587",
        CACHE_URL="redis://127.0.0.1:6379/11",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/11",
        AWS_STORAGE_BUCKET_NAME="shop-media",
        AWS_S3_ENDPOINT_URL="https://s3.example.com",
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# ------------------------------------------------------------------------------
# Sessions survive the loss of the cache (cached_db keeps them in the database)
# ------------------------------------------------------------------------------
@pytest.fixture
def redis_cache(settings):
    """The shop's cache and lock-out counters in Redis database 11, as CACHE_URL=redis:// sets."""
    options = {"SOCKET_CONNECT_TIMEOUT": 1.0, "SOCKET_TIMEOUT": 1.0}
    common = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": REDIS_URL}
    settings.CACHES = {
        "default": {**common, "KEY_PREFIX": "t", "OPTIONS": {**options, "IGNORE_EXCEPTIONS": True}},
        "security": {
            **common,
            "KEY_PREFIX": "t",
            "OPTIONS": {**options, "IGNORE_EXCEPTIONS": False},
        },
    }
    settings.AXES_CACHE = "security"
    settings.AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"  # after CACHES: built on it
    with redis_database(REDIS_URL) as client:
        yield client


@pytest.mark.django_db
@pytest.mark.parametrize("backend", ["locmem", "redis"])
def test_sessions_of_two_shoppers_survive_a_cache_wipe(backend, request):
    flush = cache.clear
    if backend == "redis":
        flush = request.getfixturevalue("redis_cache").flushdb
    product = ProductFactory(name="Kettle", stock=5)
    shopper = UserFactory(username="ada")
    signed_in, guest = Client(), Client()
    assert signed_in.post(LOGIN_URL, {"username": "ada", "password": DEFAULT_PASSWORD}).url == "/"
    guest.post(reverse("carts:add", args=[product.pk]), {"quantity": "2"})
    assert Session.objects.count() == 2  # written through to the database

    flush()  # Redis restarted, or another server with a cold cache

    profile = signed_in.get(reverse("accounts:profile"))
    assert profile.status_code == HTTPStatus.OK
    assert profile.context["user"] == shopper
    cart = guest.get(reverse("carts:detail"))
    assert "Kettle" in cart.content.decode()
    assert cart.context["cart_count"] == 2


# ------------------------------------------------------------------------------
# Lock-out counters in Redis (AxesCacheHandler) with accounts.lockout's two limits
# ------------------------------------------------------------------------------
WRONG_PASSWORD = "wrong-password"


def _login(client, username, password=WRONG_PASSWORD, ip="10.1.1.1"):
    return client.post(LOGIN_URL, {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.django_db
def test_five_failures_lock_an_account_on_every_server_through_redis(redis_cache):
    UserFactory(username="alice", email="alice@example.com")
    # Failures land on different "servers" (clients) and spellings: one counter in Redis.
    for name in ["alice", "ALICE", "alice@example.com", "Alice"]:
        assert _login(Client(), name).status_code == HTTPStatus.OK
    assert _login(Client(), "alice").status_code == HTTPStatus.TOO_MANY_REQUESTS
    response = _login(Client(), "alice", DEFAULT_PASSWORD, ip="10.9.9.9")
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "locked for 15 minutes" in response.content.decode()

    assert not AccessAttempt.objects.exists()  # nothing in the database
    assert any(key.startswith(b"t:1:axes-") for key in redis_cache.keys("*"))
    assert caches["security"].get("nothing-here", "x") == "x"

    # forget_failures (a password reset) clears the account in Redis too.
    assert lockout.forget_failures(username="Alice") >= 1
    assert _login(Client(), "alice", DEFAULT_PASSWORD).status_code == HTTPStatus.FOUND


@pytest.mark.django_db
def test_twenty_failures_from_one_ip_lock_it_but_not_other_ips_through_redis(redis_cache):
    UserFactory(username="bob")
    for i in range(19):
        assert _login(Client(), f"guess{i}").status_code == HTTPStatus.OK
    assert _login(Client(), "bob", DEFAULT_PASSWORD).status_code == HTTPStatus.FOUND
    _login(Client(), "guess-last")
    assert _login(Client(), "bob", DEFAULT_PASSWORD).status_code == HTTPStatus.TOO_MANY_REQUESTS
    other_ip = _login(Client(), "bob", DEFAULT_PASSWORD, ip="10.2.2.2")
    assert other_ip.status_code == HTTPStatus.FOUND


# ------------------------------------------------------------------------------
# Behind a load balancer: the client's address for the per-IP limit
# ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, "203.0.113.7", "10.0.0.1"),  # no proxy trusted: the header is ignored
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # the client's own entry is not trusted
        (2, "6.6.6.6, 203.0.113.7, 10.0.0.9", "203.0.113.7"),
        (1, "", "10.0.0.1"),  # not through the balancer (a health check)
        (2, "203.0.113.7", "10.0.0.1"),  # fewer hops than proxies: the peer
        (1, "not-an-address", "10.0.0.1"),
        (1, "203.0.113.7:5678", "203.0.113.7"),  # some balancers add the client's port
        (1, "[2001:db8::1]:443", "2001:db8::"),
        # One IPv6 subscriber holds a /64: any address in it counts as the same client.
        (1, "2001:db8:0:7:aaaa::1", "2001:db8:0:7::"),
        (1, "2001:db8:0:7:bbbb::2", "2001:db8:0:7::"),
        (0, "", "10.0.0.1"),
    ],
)
def test_the_client_address_comes_from_the_trusted_proxies_only(
    rf, settings, count, forwarded, expected
):
    from myecommerce.proxies import client_ip

    settings.TRUSTED_PROXY_COUNT = count
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def _login_via_balancer(client, username, client_address, password=WRONG_PASSWORD):
    return client.post(
        LOGIN_URL,
        {"username": username, "password": password},
        REMOTE_ADDR="10.0.0.1",  # the load balancer
        HTTP_X_FORWARDED_FOR=client_address,
    )


@pytest.mark.django_db
def test_behind_a_balancer_one_clients_failures_do_not_lock_out_the_others(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    UserFactory(username="bob")
    for i in range(20):
        _login_via_balancer(Client(), f"guess{i}", "203.0.113.66")
    locked = _login_via_balancer(Client(), "bob", "203.0.113.66", DEFAULT_PASSWORD)
    assert locked.status_code == HTTPStatus.TOO_MANY_REQUESTS
    other = _login_via_balancer(Client(), "bob", "198.51.100.5", DEFAULT_PASSWORD)
    assert other.status_code == HTTPStatus.FOUND
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.66"}


@pytest.mark.django_db
def test_a_redis_outage_leaves_the_catalogue_sessions_and_carts_working(settings):
    """CACHE_IGNORE_EXCEPTIONS (the default): a dead Redis makes pages slower, not broken."""
    from myecommerce.tests.conftest import free_port

    dead = f"redis://127.0.0.1:{free_port(8300, 8399)}/0"
    options = {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5, "IGNORE_EXCEPTIONS": True}
    backend = "django_redis.cache.RedisCache"
    settings.CACHES = {
        "default": {"BACKEND": backend, "LOCATION": dead, "OPTIONS": options},
        "security": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    product = ProductFactory(name="Kettle", stock=5)
    client = Client()
    assert client.get(reverse("products:home")).status_code == HTTPStatus.OK
    assert "Kettle" in client.get(reverse("products:list")).content.decode()
    response = client.post(reverse("carts:add", args=[product.pk]), {"quantity": "1"})
    assert response.status_code == HTTPStatus.FOUND
    cart = client.get(reverse("carts:detail"))
    assert cart.status_code == HTTPStatus.OK and cart.context["cart_count"] == 1
    assert Session.objects.count() == 1  # the session lives in the database meanwhile


@pytest.mark.django_db
def test_failures_with_an_ip_address_as_username_do_not_lock_out_that_address(redis_cache):
    # AxesCacheHandler keys a counter by the value alone (sha256), so without the suffix
    # accounts.lockout gives IP-like account names, this username would share the address's.
    UserFactory(username="victim")
    for _ in range(20):
        _login(Client(), "203.0.113.9", ip="198.51.100.1")  # the attacker's own address
    response = _login(Client(), "victim", DEFAULT_PASSWORD, ip="203.0.113.9")
    assert response.status_code == HTTPStatus.FOUND


@pytest.fixture
def redis_down(settings):
    """CACHE_URL names a Redis that does not answer: the cache ignores it, lock-outs do not."""
    from myecommerce.tests.conftest import free_port

    dead = f"redis://127.0.0.1:{free_port(8300, 8399)}/0"
    options = {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5}
    common = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": dead}
    settings.CACHES = {
        "default": {**common, "OPTIONS": {**options, "IGNORE_EXCEPTIONS": True}},
        "security": {**common, "OPTIONS": {**options, "IGNORE_EXCEPTIONS": False}},
    }
    settings.AXES_CACHE = "security"
    settings.AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"


@pytest.mark.django_db
def test_a_redis_outage_does_not_fail_a_password_reset_once_it_is_saved(
    redis_down, django_capture_on_commit_callbacks, mailoutbox
):
    import re

    user = UserFactory(username="bob", email="bob@example.com")
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:password-reset"), {"email": "bob@example.com"})
    code = re.search(r"\b(\d{6})\b", mailoutbox[-1].body).group(1)
    new_password = "a-New-passw0rd!"
    response = client.post(
        reverse("accounts:password-reset-confirm"),
        {"code": code, "new_password1": new_password, "new_password2": new_password},
    )
    assert response.status_code == HTTPStatus.FOUND
    user.refresh_from_db()
    assert user.check_password(new_password)


@pytest.mark.django_db
def test_a_redis_outage_refuses_sign_in_with_a_503_page_not_a_500(redis_down):
    """Lock-out counters never ignore Redis errors: sign-in waits, the catalogue carries on."""
    UserFactory(username="alice", is_staff=True, is_superuser=True)
    client = Client()

    response = _login(client, "alice", DEFAULT_PASSWORD)
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response["Retry-After"] == "30"
    assert "unavailable for a moment" in response.content.decode()
    assert "_auth_user_id" not in client.session

    admin = client.post(reverse("admin:login"), {"username": "alice", "password": DEFAULT_PASSWORD})
    assert admin.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("products:home")).status_code == HTTPStatus.OK
