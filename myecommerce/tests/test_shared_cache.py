"""The default cache is shared by every process on the machine (issue 15.19).

It was per process (locmem): a product created with `manage.py shell` or a management command
while `make run` served stayed invisible on the home page for up to ten minutes
(`X-Page-Cache: hit`), because the catalogue version was bumped in the other process's memory
only. Now the default cache lives in files (var/cache/), so every process sees each bump.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client, override_settings
from django.urls import reverse

from myecommerce.tests.conftest import SETTINGS_ENV, settings_json
from myecommerce.tests.test_headers import PRODUCTION
from products.catalogue_cache import CACHE_STATUS_HEADER
from products.models import Product
from products.tests.factories import CategoryFactory, ProductFactory

ROOT = Path(__file__).resolve().parents[2]
HOME = reverse("products:home")
DEFAULT_CACHE = "import json, myecommerce.settings as s; print(json.dumps(s.CACHES, default=str))"

# What another process does when it writes the catalogue: product_save's signal bumps the
# catalogue version in the cache. It runs with the default settings, its cache moved to the
# test's directory (the only change: before any cache is opened).
OTHER_PROCESS = """
import os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "myecommerce.settings"
import django
from django.conf import settings
django.setup()
settings.CACHES["default"]["LOCATION"] = sys.argv[1]
settings.CACHES["default"]["KEY_PREFIX"] = sys.argv[2]  # the same database, in reality
from products.catalogue_cache import catalogue_version_bump
catalogue_version_bump()
print("bumped")
"""


def _default_caches(**env) -> dict:
    return settings_json(DEFAULT_CACHE, **env)


def test_the_default_cache_is_in_files_beside_the_code_and_redis_when_named():
    default = _default_caches()["default"]
    assert default["BACKEND"] == "django.core.cache.backends.filebased.FileBasedCache"
    assert Path(default["LOCATION"]) == ROOT / "var" / "cache"
    assert _default_caches(CACHE_URL="locmemcache://")["default"]["BACKEND"].endswith("LocMemCache")


def test_each_database_gets_its_own_keys_in_the_shared_file_cache(tmp_path):
    def prefix(url):
        return _default_caches(DATABASE_URL=url)["default"]["KEY_PREFIX"]

    sqlite = prefix(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    assert sqlite == prefix(f"sqlite:///{tmp_path / 'a.sqlite3'}")  # every process alike
    assert sqlite != prefix(f"sqlite:///{tmp_path / 'b.sqlite3'}")
    assert sqlite != prefix("postgres://postgres@127.0.0.1:5432/shop")


@pytest.mark.django_db
def test_a_change_made_by_another_process_shows_on_the_next_page(settings, tmp_path):
    location = str(tmp_path / "cache")
    settings.CACHES = {**settings.CACHES, "default": {**_default_caches()["default"]}}
    settings.CACHES["default"]["LOCATION"] = location
    ProductFactory(name="Copper kettle", stock=3, category=CategoryFactory())

    assert Client().get(HOME)[CACHE_STATUS_HEADER] == "miss"
    stale = Client().get(HOME)
    assert stale[CACHE_STATUS_HEADER] == "hit"

    # A product written as another process would (this process's signals never hear of it)…
    category = Product.objects.get().category
    Product.objects.bulk_create(
        [
            Product(
                name="Enamel teapot",
                slug="enamel-teapot",
                sku="TEA-1",
                price="20.00",
                stock=4,
                category=category,
            )
        ]
    )
    assert "Enamel teapot" not in Client().get(HOME).text  # still the cached copy here
    # …and that process bumping the catalogue version in the cache they share.
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS_ENV)}
    env.update(SECRET_KEY="k" * 50, DATABASE_URL=f"sqlite:///{tmp_path / 'other.sqlite3'}")
    done = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", OTHER_PROCESS, location, settings.CACHES["default"]["KEY_PREFIX"]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "bumped" in done.stdout, done.stderr

    fresh = Client().get(HOME)
    assert fresh[CACHE_STATUS_HEADER] == "miss"
    assert "Enamel teapot" in fresh.text


def _deploy_check(caches: dict) -> None:
    with override_settings(**{**PRODUCTION, "CACHES": caches}):
        call_command("check", deploy=True, fail_level="WARNING")


@pytest.mark.django_db
def test_deploy_checks_warn_when_production_keeps_the_default_file_cache():
    with pytest.raises(SystemCheckError, match="No CACHE_URL"):
        _deploy_check(_default_caches(DEBUG="False"))


@pytest.mark.django_db
def test_deploy_checks_accept_a_file_cache_named_for_a_single_server(tmp_path):
    named = _default_caches(DEBUG="False", CACHE_URL=f"filecache://{tmp_path / 'cache'}")
    assert named["default"]["BACKEND"].endswith("FileBasedCache")
    _deploy_check(named)


@pytest.mark.django_db
def test_deploy_checks_still_warn_about_a_per_process_cache():
    with pytest.raises(SystemCheckError, match="local to each process"):
        _deploy_check(_default_caches(DEBUG="False", CACHE_URL="locmemcache://"))


# runserver's reloader sends these in the serving process; a code or template change must
# not leave pages built from the old one in the file cache, which outlives the restart.
RELOAD = """
import os, json
from pathlib import Path
os.environ["DJANGO_SETTINGS_MODULE"] = "myecommerce.settings"
import django
django.setup()
from django.utils.autoreload import StatReloader, autoreload_started, file_changed
from products.catalogue_cache import catalogue_version
first = catalogue_version()
reloader = StatReloader()
started = autoreload_started.send(sender=reloader)
second = catalogue_version()
changed = file_changed.send(sender=reloader, file_path=Path("templates/base.html").resolve())
third = catalogue_version()
print(json.dumps({
    "versions": [first, second, third],
    "stops_reload": [bool(result) for _receiver, result in started + changed],
}))
"""


@pytest.mark.parametrize("debug", ["True", "False"])
def test_development_pages_go_stale_when_runserver_starts_or_a_file_changes(tmp_path, debug):
    seen = settings_json(RELOAD, DEBUG=debug, CACHE_URL=f"filecache://{tmp_path / 'cache'}")
    first, second, third = seen["versions"]
    if debug == "True":
        assert first < second < third
    else:  # production processes are never restarted by file changes
        assert first == second == third
    # Ours never stops runserver's own restart (Django's template watcher may, for templates).
    assert seen["stops_reload"].count(True) <= 1
