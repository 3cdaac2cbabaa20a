"""E-mail for every app: sent by a Celery worker when a broker is configured, else right here.

The web process renders each message after its transaction has committed and hands over the
finished parts (recipients, subject, text, HTML). The worker therefore reads no database row:
nothing it needs can be uncommitted, rolled back or not yet visible on a replica, and a code
e-mail never waits for a database the worker cannot reach.

A one-time code travels inside the queued message (it is the e-mail's text), so the task's
arguments are never logged: their printable form lists only the recipients and the subject.
"""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.core.mail import EmailMultiAlternatives
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

# Delays between tries: 15 s, 30 s, 1 min, … capped at 10 min, with jitter; 8 retries span
# about 35 minutes. A code e-mail carries an expiry (its code's lifetime) and is dropped after.
EMAIL_MAX_RETRIES = 8
EMAIL_RETRY_BACKOFF = 15
EMAIL_RETRY_BACKOFF_MAX = 600


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


def email_deliver(*, to: list[str], subject: str, text: str, html: str = "") -> None:
    """Send one message now through the configured EMAIL_BACKEND. Raises what the backend raises."""
    message = EmailMultiAlternatives(subject=subject, body=text, to=list(to))
    if html:
        message.attach_alternative(html, "text/html")
    message.send()


def _printable(*, to: list[str], subject: str) -> str:
    """What Celery shows of the task's arguments (logs, events, the queued message's headers)."""
    return repr({"to": to, "subject": subject})


@shared_task(
    bind=True,
    max_retries=EMAIL_MAX_RETRIES,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def email_send(self, *, to: list[str], subject: str, text: str, html: str = "") -> bool:
    """The worker's side of email_dispatch. Returns False when the server refused for good.

    smtplib.SMTPException, ConnectionError and socket timeouts are all OSErrors: each is tried
    again later (15 s, 30 s, 1 min, … 10 min, with full jitter) unless it is a 5xx refusal.
    """
    try:
        email_deliver(to=to, subject=subject, text=text, html=html)
    except OSError as exc:
        if isinstance(exc, smtplib.SMTPException) and smtp_error_is_permanent(exc):
            logger.error("The mail server refused the e-mail %r for good: %s", subject, exc)
            return False
        countdown = get_exponential_backoff_interval(
            EMAIL_RETRY_BACKOFF, self.request.retries, EMAIL_RETRY_BACKOFF_MAX, full_jitter=True
        )
        # By hand, not autoretry_for: a retried message would print all its arguments,
        # the one-time code in the text included, where the first one printed only these.
        raise self.retry(
            exc=exc, countdown=countdown, kwargsrepr=_printable(to=to, subject=subject)
        ) from exc
    return True


def email_dispatch(
    *, to: list[str], subject: str, text: str, html: str = "", expires: float | None = None
) -> bool:
    """Send a rendered e-mail: queue it for a worker, or (without a broker) send it now.

    Call it after commit (transaction.on_commit). It never raises for a mail server or broker
    failure, so it can never break a request or undo an order: it logs and returns False.
    `expires` (seconds) drops a queued message that could not be sent in time (a code
    that has expired). An unreachable broker is logged, and the message is sent in-process.
    """
    parts = {"to": [str(address) for address in to], "subject": str(subject), "text": str(text)}
    parts["html"] = str(html)
    if not email_send.app.conf.task_always_eager:
        try:
            email_send.apply_async(
                kwargs=parts,
                expires=expires,
                kwargsrepr=_printable(to=parts["to"], subject=parts["subject"]),
            )
        except OperationalError:
            logger.exception(
                "The task queue is unreachable: sending the e-mail %r from this process",
                parts["subject"],
            )
        else:
            return True
    try:
        email_deliver(**parts)
    except OSError:
        logger.exception("Could not send the e-mail %r", parts["subject"])
        return False
    return True
