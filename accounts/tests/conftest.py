import re

import pytest


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    """Run a block and its on-commit callbacks (the e-mails go out after commit)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def code_in():
    """The 6-digit code in an e-mail."""

    def find(message) -> str:
        match = re.search(r"\b(\d{6})\b", message.body)
        assert match, message.body
        return match.group(1)

    return find
