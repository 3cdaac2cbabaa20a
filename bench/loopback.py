"""What the scripts in bench/ share: the shop run as production runs it (DEBUG off, gunicorn,
PostgreSQL, Redis), on loopback only, in child processes that are always stopped, against a
database and a Redis database the script creates or empties first and cleans up after.

No Django import here: the scripts drive the shop from outside, as a load generator would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"  # git-ignored: logs, collected static files, media
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").is_dir() else sys.executable
BIN = Path(PYTHON).parent
HOST = "127.0.0.1"  # every server listens here, every request goes here

# Variables of the developer's shell that could point the shop at other services.
FOREIGN_ENV = (
    "DATABASE_",
    "CACHE_",
    "SECURITY_CACHE_",
    "CELERY_",
    "AWS_",
    "EMAIL_",
    "AXES_",
    "GUNICORN_BIND",
)


class SetupError(Exception):
    """A set-up step failed: the script cannot run."""


# ------------------------------------------------------------------------------
# Services
# ------------------------------------------------------------------------------
def require_loopback(url: str, what: str) -> None:
    host = urlsplit(url).hostname
    if host not in {"127.0.0.1", "localhost", "::1"}:
        raise SetupError(f"{what} must be on this machine (loopback), not {host!r}")


def with_dbname(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def pg_admin(pg_url: str, sql: str) -> None:
    """Run one statement (CREATE/DROP DATABASE) on the server of `pg_url`, outside a
    transaction."""
    import psycopg2

    conn = psycopg2.connect(pg_url.replace("postgres://", "postgresql://", 1), connect_timeout=5)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
    finally:
        conn.close()


def redis_flush(redis_url: str) -> None:
    """Empty the one Redis database that `redis_url` names."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.flushdb()
    finally:
        client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# ------------------------------------------------------------------------------
# The shop's processes
# ------------------------------------------------------------------------------
def shop_env(
    *, secret_key: str, database_url: str, cache_url: str, workdir: Path, **overrides: str
) -> dict[str, str]:
    """The environment of every process of the shop: production settings, plain HTTP on
    loopback, static and media files under `workdir`, and nothing from the shell that could
    reach another service. Every process of one run must share `secret_key`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_ENV)}
    env.update(
        DJANGO_SETTINGS_MODULE="myecommerce.settings",
        DEBUG="False",
        SECRET_KEY=secret_key,
        DATABASE_URL=database_url,
        CACHE_URL=cache_url,
        # Lock-out counters in the run's own Redis database too, emptied with it.
        SECURITY_CACHE_URL=cache_url,
        EMAIL_URL="dummymail://",
        ALLOWED_HOSTS=HOST,
        # Plain HTTP on loopback: no HTTPS redirect or secure-only cookies.
        SECURE_SSL_REDIRECT="False",
        SESSION_COOKIE_SECURE="False",
        CSRF_COOKIE_SECURE="False",
        SECURE_HSTS_SECONDS="0",
        STATIC_ROOT=str(workdir / "static"),
        MEDIA_ROOT=str(workdir / "media"),
        LOG_LEVEL="WARNING",
        GUNICORN_LOG_LEVEL="warning",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(overrides)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode:
        raise SetupError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


class Process:
    """A child in its own process group, its output in `log_path`; stop() ends the group
    (gunicorn's or Celery's workers included)."""

    def __init__(
        self, name: str, argv: list[str], env: dict[str, str], log_path: Path, port: int = 0
    ):
        self.name, self.argv, self.env, self.log_path, self.port = name, argv, env, log_path, port
        self.proc: subprocess.Popen | None = None

    def start(self) -> Process:
        with open(self.log_path, "w") as out:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def wait_healthy(self, seconds: float = 60) -> None:
        """Until GET /healthz/ answers 200 (the server has a worker and reaches the database)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not self.alive():
                raise SetupError(f"{self.name} exited:\n{self.tail()}")
            try:
                url = f"http://{HOST}:{self.port}/healthz/"
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise SetupError(
            f"{self.name} did not answer /healthz/ within {seconds:g} s:\n{self.tail()}"
        )

    def stop(self) -> None:
        if not self.alive():
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        except ProcessLookupError:
            pass


def gunicorn(name: str, env: dict[str, str], port: int, log_path: Path) -> Process:
    """The web server as the Procfile runs it (gunicorn.conf.py), on 127.0.0.1:`port`."""
    argv = [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "myecommerce.wsgi"]
    return Process(name, argv, {**env, "GUNICORN_BIND": f"{HOST}:{port}"}, log_path, port)
