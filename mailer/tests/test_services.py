"""The outbox's rules: written with the change, sent after commit, retried, sent once."""

import smtplib
from datetime import timedelta

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.utils import timezone

from accounts.models import OneTimeCode
from accounts.otp import otp_issue
from accounts.tests.factories import UserFactory
from mailer.models import Message
from mailer.services import email_dispatch, message_send, message_send_due

from .factories import MessageFactory

pytestmark = pytest.mark.django_db

CALLS: list[str] = []


class DownBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        CALLS.append("down")
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


@pytest.fixture(autouse=True)
def _calls():
    CALLS.clear()
    yield
    CALLS.clear()


def _down(settings):
    settings.EMAIL_BACKEND = f"{__name__}.DownBackend"


def test_a_rolled_back_change_leaves_no_message_and_sends_nothing(
    mailoutbox, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        email_dispatch(to=["a@example.com"], subject="Hello", text="Hi")
        assert Message.objects.count() == 1  # in the change's transaction
        raise RuntimeError("the change failed")
    assert Message.objects.count() == 0
    assert callbacks == [] and mailoutbox == []


def test_a_one_time_code_is_written_with_its_code_row(django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
        otp_issue(user=user, purpose=OneTimeCode.Purpose.RESET)
        (message,) = Message.objects.all()
    assert message.to == [user.email] and message.expires_at is not None


def test_an_smtp_failure_leaves_it_unsent_and_a_later_try_sends_it_once(settings, mailoutbox):
    message = MessageFactory()
    _down(settings)
    assert message_send(message_id=message.pk) == "retry"
    message.refresh_from_db()
    assert message.status == Message.Status.PENDING and message.attempts == 1
    assert "SMTPServerDisconnected" in message.last_error
    assert message.next_attempt_at >= timezone.now() + timedelta(seconds=10)  # backoff

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert message_send(message_id=message.pk) == "skipped"  # not due yet
    later = message.next_attempt_at + timedelta(seconds=1)
    assert message_send(message_id=message.pk, now=later) == "sent"
    assert message_send(message_id=message.pk, now=later, force=True) == "skipped"
    assert [m.subject for m in mailoutbox] == [message.subject]
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("sent", 2, "")
    assert message.sent_at is not None


def test_a_message_claimed_by_another_sender_is_not_sent_until_its_claim_expires(mailoutbox):
    message = MessageFactory(claimed_until=timezone.now() + timedelta(minutes=5))
    assert message_send(message_id=message.pk, force=True) == "skipped"
    assert mailoutbox == []
    # The other sender died holding it: once the claim has passed, it is sent.
    message.claimed_until = timezone.now() - timedelta(seconds=1)
    message.save()
    assert message_send(message_id=message.pk) == "sent"
    assert len(mailoutbox) == 1


def test_an_expired_code_is_not_sent_and_its_text_is_dropped(mailoutbox):
    message = MessageFactory(
        text="Your code is 123456", expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert message_send(message_id=message.pk) == "failed"
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED and "Expired" in message.last_error
    assert message.text == "" and mailoutbox == []


def test_a_sent_code_keeps_no_text(mailoutbox):
    message = MessageFactory(
        text="Your code is 123456", expires_at=timezone.now() + timedelta(minutes=10)
    )
    assert message_send(message_id=message.pk) == "sent"
    message.refresh_from_db()
    assert "123456" in mailoutbox[0].body
    assert (message.text, message.html) == ("", "")


def test_the_sweep_sends_what_is_due_oldest_first_and_nothing_twice(mailoutbox):
    now = timezone.now()
    old = MessageFactory(next_attempt_at=now - timedelta(minutes=2))
    new = MessageFactory(next_attempt_at=now - timedelta(minutes=1))
    MessageFactory(next_attempt_at=now + timedelta(minutes=5))  # backing off
    MessageFactory(status=Message.Status.SENT, sent_at=now)
    assert message_send_due() == {"sent": 2, "retry": 0, "failed": 0, "skipped": 0}
    assert [m.subject for m in mailoutbox] == [old.subject, new.subject]
    assert message_send_due()["sent"] == 0
