"""Security state out of the page cache's reach (issue 16.1).

The attack: the page cache's Redis has a maxmemory with an LRU policy, as the README used to
advise; anonymous visitors fill it with pages, Redis evicts the least recently used keys, and
a victim's sign-in failure counter goes with them, so the lock-out is lifted for the attacker.
These tests run the shop's own settings (read in a fresh interpreter from CACHE_URL and
SECURITY_CACHE_URL) against redis-server processes of their own with a 2 MB maxmemory.
"""

from http import HTTPStatus

import pytest
import redis
from django.core.checks import run_checks
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from myecommerce.tests.conftest import free_port, redis_server, settings_json
from products.tests.factories import CategoryFactory, ProductFactory

LOGIN_URL = reverse("accounts:login")
LIST_URL = reverse("products:list")
LRU = ("--maxmemory", "2mb", "--maxmemory-policy", "allkeys-lru")
NO_EVICTION = ("--maxmemory", "64mb", "--maxmemory-policy", "noeviction")

PRINT_CACHE_SETTINGS = """
import json
from myecommerce import settings as s
print(json.dumps({"caches": s.CACHES, "handler": s.AXES_HANDLER, "axes_cache": s.AXES_CACHE}))
"""


def use_shop_settings(settings, **env: str) -> None:
    """Apply what myecommerce/settings.py makes of `env` to this process's settings."""
    shop = settings_json(PRINT_CACHE_SETTINGS, **env)
    settings.CACHES = shop["caches"]
    settings.AXES_CACHE = shop["axes_cache"]
    settings.AXES_HANDLER = shop["handler"]  # after CACHES: the handler is built on them


def sign_in(username: str, password: str):
    return Client().post(
        LOGIN_URL, {"username": username, "password": password}, REMOTE_ADDR="10.7.7.7"
    )


@pytest.mark.django_db
def test_a_lock_out_survives_anonymous_pages_filling_an_lru_page_cache(settings):
    category = CategoryFactory(name="Kitchen")
    for n in range(24):  # full result pages: tens of kilobytes each
        ProductFactory(name=f"Copper kettle {n:02d}", category=category, description="x" * 400)
    UserFactory(username="victim")

    with redis_server(*LRU) as page_cache, redis_server(*NO_EVICTION) as security:
        use_shop_settings(settings, CACHE_URL=page_cache, SECURITY_CACHE_URL=security)
        for _ in range(4):
            assert sign_in("victim", "wrong-guess").status_code == HTTPStatus.OK
        assert sign_in("victim", "wrong-guess").status_code == HTTPStatus.TOO_MANY_REQUESTS
        assert sign_in("victim", DEFAULT_PASSWORD).status_code == HTTPStatus.TOO_MANY_REQUESTS

        # Anonymous traffic: made-up page numbers are redirected and store nothing...
        for n in range(20):
            assert Client().get(f"{LIST_URL}?page=x{n}").status_code == HTTPStatus.FOUND
        # ...but distinct valid filters are real pages, and fill the 2 MB page cache.
        pages = redis.Redis.from_url(page_cache)
        for n in range(1, 400):
            response = Client().get(f"{LIST_URL}?min_price=0.{n:02d}&sort=price")
            assert response.status_code == HTTPStatus.OK
            if n % 20 == 0 and pages.info("stats")["evicted_keys"] >= 50:
                break
        assert pages.info("stats")["evicted_keys"] >= 50  # the LRU really evicted pages

        # Still locked: the counters were never in the evicting Redis.
        refused = sign_in("victim", DEFAULT_PASSWORD)
        assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
        assert "locked for 15 minutes" in refused.content.decode()
        assert not any(b"axes" in key for key in pages.keys("*"))
        assert any(b"axes" in key for key in redis.Redis.from_url(security).keys("*"))


def security_warnings() -> list[str]:
    found = run_checks(include_deployment_checks=True, tags=["caches"])
    return [message.id for message in found if message.id == "myecommerce.W002"]


def test_deploy_check_warns_when_the_security_redis_may_evict(settings):
    with redis_server(*LRU) as shared:
        # No SECURITY_CACHE_URL: the same server as the pages (another database), and the
        # policy is the server's: the check says so.
        use_shop_settings(settings, CACHE_URL=shared)
        assert settings.CACHES["security"]["LOCATION"].endswith("/8")
        assert security_warnings() == ["myecommerce.W002"]


def test_deploy_check_is_quiet_for_a_noeviction_or_unreachable_security_redis(settings):
    with redis_server(*LRU) as page_cache, redis_server(*NO_EVICTION) as security:
        use_shop_settings(settings, CACHE_URL=page_cache, SECURITY_CACHE_URL=security)
        assert security_warnings() == []
    dead = f"redis://127.0.0.1:{free_port(8400, 8499)}/0"
    use_shop_settings(settings, CACHE_URL=dead)
    assert security_warnings() == []  # best effort: nothing to ask, nothing said
