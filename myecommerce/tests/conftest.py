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


@contextlib.contextmanager
def redis_server(*options: str):
    """A redis-server of our own on a free loopback port (e.g. with a small maxmemory and an
    eviction policy), stopped afterwards; yields its URL (database 0). Skipped, or failed under
    REQUIRE_SERVICES=1, when redis-server is not installed."""
    import shutil
    import time

    import redis

    executable = shutil.which("redis-server")
    if executable is None:
        service_missing("redis-server is not installed")
    port = free_port(8400, 8499)
    process = subprocess.Popen(  # noqa: S603 - a fixed program with our own arguments
        [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        else:
            pytest.fail(f"redis-server on port {port} did not start")
        client.close()
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


# The shell's variables that would change what the settings make of the environment.
SETTINGS_ENV = ("CACHE_", "SECURITY_CACHE_", "AXES_", "AWS_", "CELERY_", "DEBUG", "SECRET_KEY")


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
