"""The outbox's rules: write a message in the caller's transaction, send it once, retry it.

`email_dispatch` writes the message as a row, so it commits or rolls back with the change it
belongs to (an order, a status change, a one-time code), and asks for it to be sent after
commit: by a Celery worker when a broker is configured (the task carries only the row's id,
never a code), else right here in the web process. Whatever is not sent then (the mail
server or the broker was away) is sent by the next retry, the worker's periodic sweep or
`manage.py mail_send`: an outage delays a message, it never drops it.

A message is sent by whoever claims it first with a conditional UPDATE (pending, unclaimed or
its claim expired, due): two senders never both send it. A 5xx refusal fails it for good;
anything else (a refused connection, a 4xx, a timeout) is tried again later with backoff.
"""

from __future__ import annotations

import logging
import smtplib
import time
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from .models import Message

logger = logging.getLogger(__name__)

# Delays between tries: 15 s, 30 s, 1 min, … capped at 10 min; a message is tried until it is
# sent, refused for good (5xx) or, for a code, expired.
RETRY_BACKOFF = 15
RETRY_BACKOFF_MAX = 600
# Marking a delivered message sent when the database just went away (a restart): tries, a
# second apart.
MARK_SENT_TRIES = 20


def claim_seconds() -> int:
    """How long a sender owns a message it claimed (MAIL_CLAIM_SECONDS): longer than any SMTP
    conversation. A sender that dies holding one delays it by this much."""
    return settings.MAIL_CLAIM_SECONDS


def smtp_error_is_permanent(exc: BaseException) -> bool:
    """True for a refusal that another try cannot fix (an SMTP 5xx answer).

    4xx answers, dropped connections, refused connections and timeouts are worth retrying.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


def retry_delay(*, attempts: int) -> timedelta:
    return timedelta(seconds=min(RETRY_BACKOFF_MAX, RETRY_BACKOFF * 2 ** max(attempts - 1, 0)))


def email_dispatch(
    *, to: list[str], subject: str, text: str, html: str = "", expires: float | None = None
) -> Message:
    """Write an e-mail to the outbox (in the caller's transaction) and send it after commit.

    Call it inside the transaction of the change the message belongs to: a rolled-back change
    leaves no message. `expires` (seconds) is a one-time code's lifetime: an e-mail that could
    not be sent by then is not sent. Never raises for a mail server or broker failure.
    """
    now = timezone.now()
    message = Message.objects.create(
        to=[str(address) for address in to],
        subject=str(subject),
        text=str(text),
        html=str(html),
        created_at=now,
        next_attempt_at=now,
        expires_at=now + timedelta(seconds=expires) if expires else None,
    )
    transaction.on_commit(partial(message_schedule, message_id=message.pk), robust=True)
    return message


def message_schedule(*, message_id: int) -> None:
    """After commit: queue the message for a worker, or (no broker, or it is away) send it now."""
    from .tasks import message_deliver

    if not message_deliver.app.conf.task_always_eager:
        from kombu.exceptions import OperationalError as BrokerError

        try:
            message_deliver.apply_async(args=[message_id])
        except BrokerError:
            logger.exception(
                "The task queue is unreachable: sending e-mail %s from this process", message_id
            )
        else:
            return
    message_send(message_id=message_id)


def _deliver(message: Message) -> None:
    email = EmailMultiAlternatives(subject=message.subject, body=message.text, to=message.to)
    if message.html:
        email.attach_alternative(message.html, "text/html")
    email.send()


def _wiped(message: Message) -> dict:
    # A code's text is not kept once it is sent or dead: the row then holds no usable code.
    return {"text": "", "html": ""} if message.expires_at else {}


def _mark_sent(*, message_id: int, claim: datetime, fields: dict) -> None:
    """Record a delivery, outliving a database restart: the e-mail has gone, and a message
    left pending would be sent again once its claim expires."""
    for attempt in range(MARK_SENT_TRIES):
        try:
            Message.objects.filter(pk=message_id, claimed_until=claim).update(**fields)
            return
        except DatabaseError:
            if attempt == MARK_SENT_TRIES - 1 or connection.in_atomic_block:
                raise
            logger.warning("Could not record e-mail %s as sent; trying again", message_id)
            connection.close()
            time.sleep(1)


def message_send(*, message_id: int, force: bool = False, now: datetime | None = None) -> str:
    """Send one outbox message if it is pending and due (or `force`: due now). Never raises for
    a mail server failure. Returns "sent", "retry", "failed" or "skipped" (not pending, not
    due, or another sender has it)."""
    now = now or timezone.now()
    claim = now + timedelta(seconds=claim_seconds())
    available = Q(pk=message_id, status=Message.Status.PENDING) & (
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )
    if not force:
        available &= Q(next_attempt_at__lte=now)
    if not Message.objects.filter(available).update(
        claimed_until=claim, attempts=F("attempts") + 1
    ):
        return "skipped"
    message = Message.objects.get(pk=message_id)
    if message.expires_at and message.expires_at <= now:
        Message.objects.filter(pk=message_id).update(
            status=Message.Status.FAILED,
            claimed_until=None,
            last_error="Expired before it could be sent.",
            **_wiped(message),
        )
        return "failed"
    try:
        _deliver(message)
    except OSError as exc:
        # smtplib.SMTPException, ConnectionError and socket timeouts are all OSErrors.
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if isinstance(exc, smtplib.SMTPException) and smtp_error_is_permanent(exc):
            logger.error("The mail server refused e-mail %s for good: %s", message_id, exc)
            Message.objects.filter(pk=message_id).update(
                status=Message.Status.FAILED, claimed_until=None, last_error=error
            )
            return "failed"
        logger.warning("Could not send e-mail %s (try %s): %s", message_id, message.attempts, error)
        Message.objects.filter(pk=message_id).update(
            claimed_until=None,
            last_error=error,
            next_attempt_at=now + retry_delay(attempts=message.attempts),
        )
        return "retry"
    _mark_sent(
        message_id=message_id,
        claim=claim,
        fields={
            "status": Message.Status.SENT,
            "sent_at": timezone.now(),
            "claimed_until": None,
            "last_error": "",
            **_wiped(message),
        },
    )
    return "sent"


def message_send_due(*, limit: int = 500) -> dict[str, int]:
    """Send every pending message that is due (oldest first): the sweep behind the worker's
    periodic task and `manage.py mail_send`. Returns how many ended each way."""
    now = timezone.now()
    ids = list(
        Message.objects.filter(status=Message.Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    counts = {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}
    for message_id in ids:
        counts[message_send(message_id=message_id)] += 1
    return counts
