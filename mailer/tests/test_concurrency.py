"""Two senders at once (the worker's retry and the sweep, say) send a message once.

SQLite serialises writers, so this only says something on PostgreSQL.
"""

import threading
import time
from functools import partial

import pytest
from django.core.mail.backends.base import BaseEmailBackend

from mailer.models import Message
from mailer.services import message_send

from .factories import MessageFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DELIVERED: list[str] = []
LOCK = threading.Lock()


class SlowBackend(BaseEmailBackend):
    """An SMTP conversation that takes a while: the other sender arrives in the middle."""

    def send_messages(self, email_messages):
        time.sleep(0.3)
        with LOCK:
            DELIVERED.extend(m.subject for m in email_messages)
        return len(email_messages)


def test_two_senders_at_once_send_a_message_once(settings, run_at_once):
    settings.EMAIL_BACKEND = f"{__name__}.SlowBackend"
    DELIVERED.clear()
    messages = [MessageFactory() for _ in range(5)]
    calls = [
        partial(message_send, message_id=message.pk, force=True)
        for message in messages
        for _sender in range(4)
    ]
    results = run_at_once(calls)
    assert [outcome for outcome, _ in results] == ["ok"] * len(calls)
    assert sorted(DELIVERED) == sorted(m.subject for m in messages)
    assert sorted(value for _, value in results).count("sent") == len(messages)
    assert Message.objects.filter(status=Message.Status.SENT, attempts=1).count() == 5
