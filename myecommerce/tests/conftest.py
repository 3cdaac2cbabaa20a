"""Fixtures for tests that need real services on loopback (Redis, an S3 API)."""

import os
import socket

import pytest


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
