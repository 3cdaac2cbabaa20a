from django.core.management.base import BaseCommand

from mailer.services import message_send_due


class Command(BaseCommand):
    help = (
        "Send the outbox's e-mails that are due (not yet sent, or due for another try). "
        "Run it every minute from cron when no Celery worker runs."
    )

    def handle(self, *args, **options):
        counts = message_send_due()
        self.stdout.write(
            "sent {sent}, to retry {retry}, failed {failed}, skipped {skipped}".format(**counts)
        )
