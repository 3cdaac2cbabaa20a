"""Fixtures shared by every app's tests."""

import contextlib
import os

import pytest
from django.db import connection
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

# Property-based tests (myecommerce/tests/test_fuzz.py). By default a fixed, modest budget:
# derandomize=True draws the same examples on every run, so CI is reproducible and a failure
# seen once is seen again; database=None keeps no example store in the checkout. For a deeper,
# random search locally: HYPOTHESIS_PROFILE=deep pytest myecommerce/tests/test_fuzz.py
hypothesis_settings.register_profile(
    "ci",
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
hypothesis_settings.register_profile(
    "deep", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "security": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "security",
        },
    }
    settings.SECURE_SSL_REDIRECT = False
    settings.STORAGES = {
        **settings.STORAGES,
        # Uploads on disk under MEDIA_ROOT even if the shell names a bucket
        # (myecommerce/tests/test_object_storage.py points them at a real S3 API itself).
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.AXES_CACHE = "security"
    settings.AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"


@pytest.fixture(autouse=True)
def _mail_in_process():
    """E-mail lands in mailoutbox even if the shell names a Celery broker (CELERY_BROKER_URL).

    myecommerce/tests/test_celery_mail.py queues to a real broker and worker itself.
    """
    from myecommerce.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = eager


@pytest.fixture(autouse=True)
def _clear_cache(_test_settings, settings):
    from django.core.cache import cache

    from myecommerce.security_store import SECURITY_CACHE, security_cache

    def clear():
        cache.clear()
        if SECURITY_CACHE in settings.CACHES:  # a test may name only a "default" cache
            with contextlib.suppress(Exception):  # a test's dead Redis holds nothing to clear
                security_cache().clear()

    clear()
    yield
    clear()


def pytest_collection_modifyitems(config, items):
    """Skip PostgreSQL-only tests, with a reason, when the suite runs on another database.

    Also: every `django_db(transaction=True)` test restores the migrated rows (groups, content
    types) with serialized_rollback. Mixing the two kinds breaks the suite: a plain transactional
    test's flush re-creates content types under new ids, and the next serialized test then fails
    to load its copy of them (duplicate key).
    """
    from django.conf import settings

    for item in items:
        marker = item.get_closest_marker("django_db")
        kwargs = marker.kwargs if marker else {}
        if kwargs.get("transaction") and "serialized_rollback" not in kwargs:
            serialized = pytest.mark.django_db(**kwargs, serialized_rollback=True)
            item.add_marker(serialized, append=False)

    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://…")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def on_postgres():
    return connection.vendor == "postgresql"


THREAD_TIMEOUT = 60


def _run_at_once(callables) -> list[tuple[str, object]]:
    """Start every callable on its own thread (own database connection) at the same moment.

    Returns (outcome, value) per callable: "ok" with its result, "refused" with a
    ValidationError, or "error" with any other exception (a deadlock, say).
    """
    import threading

    from django.core.exceptions import ValidationError
    from django.db import connections

    barrier = threading.Barrier(len(callables))
    results: list[tuple[str, object]] = [("not run", None)] * len(callables)

    def worker(index, fn):
        try:
            barrier.wait(timeout=THREAD_TIMEOUT)
            results[index] = ("ok", fn())
        except ValidationError as exc:
            results[index] = ("refused", exc)
        except Exception as exc:  # a deadlock or anything else unexpected
            results[index] = ("error", exc)
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=worker, args=(i, fn)) for i, fn in enumerate(callables)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=THREAD_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (lock wait?)"
    return results


@pytest.fixture
def run_at_once():
    """The thread harness of the PostgreSQL concurrency tests (see _run_at_once)."""
    return _run_at_once


# --- staff for the admin tests ---------------------------------------------------------
@pytest.fixture
def superuser():
    from accounts.tests.factories import UserFactory

    return UserFactory(username="boss", is_staff=True, is_superuser=True)


@pytest.fixture
def manager():
    """Staff in the "Store managers" group: products, stock and orders, not users."""
    from django.contrib.auth.models import Group

    from accounts.tests.factories import StaffFactory

    user = StaffFactory(username="manager")
    user.groups.add(Group.objects.get(name="Store managers"))
    return user


@pytest.fixture(params=["superuser", "manager"])
def staff(request):
    """Each test that uses it runs twice: as a superuser and as a store manager."""
    return request.getfixturevalue(request.param)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def admin_client(client, superuser):
    """A client signed in as `superuser` (replaces pytest-django's fixture of that name)."""
    client.force_login(superuser)
    return client
