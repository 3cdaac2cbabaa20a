"""The page watcher that every browser test relies on really catches what it should."""

import pytest

pytestmark = pytest.mark.browser


def test_console_errors_failed_files_and_other_hosts_are_caught(page, page_problems):
    page.route("http://cdn.example.invalid/**", lambda route: route.abort())
    page.goto("/")
    page.evaluate("console.error('boom')")
    page.evaluate(
        """() => new Promise(done => {
             const img = new Image();
             img.onerror = img.onload = done;
             img.src = 'http://cdn.example.invalid/bootstrap.css';
           })"""
    )
    page.goto("/static/no-such-file.css")
    found = "\n".join(page_problems.found)
    assert "console error on" in found and "boom" in found
    assert "request to another host: http://cdn.example.invalid/bootstrap.css" in found
    assert "404" in found
    page_problems.found.clear()  # caught on purpose; the test itself must pass
