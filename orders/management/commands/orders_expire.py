from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from orders.services import order_expire_overdue


class Command(BaseCommand):
    help = (
        "Cancel bank-transfer orders still unpaid BANK_TRANSFER_TIMEOUT_DAYS after they were "
        "placed: their stock goes back on sale and the customer is e-mailed. Cash-on-delivery "
        "orders never expire. Run it daily, beside clearsessions; two runs at once are safe."
    )

    def handle(self, *args, **options):
        expired, failed = order_expire_overdue()
        numbers = ", ".join(order.number for order in expired)
        self.stdout.write(
            f"Cancelled {len(expired)} bank-transfer order(s) unpaid after "
            f"{settings.BANK_TRANSFER_TIMEOUT_DAYS} day(s)" + (f": {numbers}." if expired else ".")
        )
        if failed:
            # Each failure is logged with its traceback; those orders are left as they were.
            raise CommandError(
                "Could not expire " + ", ".join(order.number for order in failed) + "."
            )
