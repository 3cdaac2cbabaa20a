"""Fixtures for tests that need real services on loopback (Redis, an S3 API)."""

import contextlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def service_missing(why: str):
    """Skip a test whose service is missing here; fail it where the run requires services.

    CI sets REQUIRE_SERVICES=1, so a missing Redis or moto fails the run instead of
    quietly skipping the proof that the task queue and object storage work.
    """
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{why} (REQUIRE_SERVICES=1: these tests must run)", pytrace=False)
    pytest.skip(why)


def free_port(first: int = 8300, last: int = 8399) -> int:
    """A loopback port nobody listens on, from the range these tests may use."""
    for port in range(first, last + 1):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port between {first} and {last}")


@contextlib.contextmanager
def redis_database(url: str):
    """A client of the empty Redis database `url` (skipped, or failed under REQUIRE_SERVICES,
    when Redis is not answering), emptied again afterwards."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        service_missing(f"Redis is not answering at {url}: {exc}")
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


# The shell's variables that would change what the settings make of the environment.
SETTINGS_ENV = ("CACHE_", "AXES_", "AWS_", "CELERY_", "DEBUG", "SECRET_KEY")


def settings_json(code: str, **env: str):
    """What `code` (which prints one JSON value last) prints in a fresh interpreter whose
    environment is the given variables: settings are read once, at start-up."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS_ENV)}
    clean.update(SECRET_KEY="k" * 50, **env)
    done = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
