"""The worker's side of the outbox. A task carries only a message's id: the text (a one-time
code, an address) stays in the database and never appears in the broker or the worker's log."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from .models import Message
from .services import message_send, message_send_due


@shared_task(
    bind=True,
    max_retries=None,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def message_deliver(self, message_id: int) -> str:
    """Send one outbox message; after a failed try, come back when it is due again."""
    # Due whenever the task runs (a retry's countdown is the backoff); the claim still keeps
    # another sender from sending it twice.
    outcome = message_send(message_id=message_id, force=True)
    if outcome == "retry":
        due = Message.objects.values_list("next_attempt_at", flat=True).get(pk=message_id)
        raise self.retry(countdown=max((due - timezone.now()).total_seconds(), 0))
    return outcome


@shared_task(ignore_result=True)
def message_send_pending() -> dict[str, int]:
    """The periodic sweep (CELERY_BEAT_SCHEDULE): whatever was not sent when it should have
    been (the broker was away, a worker died holding it) is sent now."""
    return message_send_due()
