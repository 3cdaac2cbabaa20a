"""Development with `make run` (issue 15.21): runserver logs every request to the console."""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from myecommerce.tests.conftest import SETTINGS_ENV, free_port

ROOT = Path(__file__).resolve().parents[2]


def _serve_once(tmp_path, *, debug: str) -> str:
    """Start `manage.py runserver` as `make run` does, GET /healthz/ once, return its output."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS_ENV)}
    env.update(
        DEBUG=debug,
        SECRET_KEY="k" * 50,
        DATABASE_URL=f"sqlite:///{tmp_path / 'dev.sqlite3'}",
        CACHE_URL="locmemcache://",
        PYTHONUNBUFFERED="1",
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    server = subprocess.Popen(  # noqa: S603 - this interpreter, our own manage.py
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz/", timeout=5) as r:  # noqa: S310
                    assert r.status == 200
                break
            except OSError:
                assert server.poll() is None, server.communicate()[0]
                assert time.monotonic() < deadline, "runserver did not answer"
                time.sleep(0.2)
        time.sleep(0.3)  # the request line is written after the response
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    return output


def test_runserver_logs_each_request_to_the_console_in_development(tmp_path):
    assert '"GET /healthz/ HTTP/1.1" 200' in _serve_once(tmp_path, debug="True")


def test_production_leaves_the_access_log_to_gunicorn(tmp_path):
    assert "GET /healthz/" not in _serve_once(tmp_path, debug="False")
