import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_settings(**env):
    """Import the settings in a fresh interpreter with the given environment."""
    clean = {
        k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL"}
    }
    clean.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import myecommerce.settings as s; print(s.DATABASES['default']['ENGINE']);"
            "print(s.DEBUG); print(s.SECRET_KEY[:15])",
        ],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_defaults_are_sqlite_and_debug_off_with_a_key():
    result = _load_settings(SECRET_KEY="k" * 50)
    assert result.returncode == 0, result.stderr
    engine, debug, _ = result.stdout.split()
    assert engine == "django.db.backends.sqlite3"
    assert debug == "False"


def test_secret_key_is_required_when_debug_is_off():
    result = _load_settings()
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is False" in result.stderr


def test_debug_on_uses_a_development_key():
    result = _load_settings(DEBUG="True")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[2] == "django-insecure"


def test_postgres_database_url_is_understood():
    result = _load_settings(SECRET_KEY="k" * 50, DATABASE_URL="postgres://u@127.0.0.1:5432/shop")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "django.db.backends.postgresql"


@pytest.mark.parametrize("url", ["nonsense://x/y", "not a url at all"])
def test_bad_database_url_gives_a_clear_error(url):
    result = _load_settings(SECRET_KEY="k" * 50, DATABASE_URL=url)
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr
    assert "ImproperlyConfigured" in result.stderr


def test_argon2_is_the_first_password_hasher():
    from myecommerce import settings as project_settings

    assert project_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
