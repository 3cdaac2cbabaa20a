"""gunicorn.conf.py as gunicorn reads it: a Python file of settings, from the environment."""

import runpy

import pytest

from myecommerce.tests.conftest import ROOT


def _conf(monkeypatch, **env) -> dict:
    for name in ("TRUSTED_PROXY_COUNT", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


@pytest.mark.parametrize("allow", [None, "*", "10.0.0.5"])
def test_without_a_trusted_proxy_gunicorn_trusts_no_forwarded_headers(monkeypatch, allow):
    env = {"FORWARDED_ALLOW_IPS": allow} if allow else {}
    assert _conf(monkeypatch, **env)["forwarded_allow_ips"] == ""
    assert _conf(monkeypatch, TRUSTED_PROXY_COUNT="0", **env)["forwarded_allow_ips"] == ""


def test_behind_a_proxy_gunicorn_trusts_the_configured_addresses(monkeypatch):
    assert _conf(monkeypatch, TRUSTED_PROXY_COUNT="1")["forwarded_allow_ips"] == "127.0.0.1"
    conf = _conf(monkeypatch, TRUSTED_PROXY_COUNT="2", FORWARDED_ALLOW_IPS="10.0.0.5,10.0.0.6")
    assert conf["forwarded_allow_ips"] == "10.0.0.5,10.0.0.6"


def test_gunicorn_accepts_the_value(monkeypatch):
    from gunicorn.config import Config

    config = Config()
    config.set("forwarded_allow_ips", _conf(monkeypatch)["forwarded_allow_ips"])
    assert config.forwarded_allow_ips == []
