from django.core.management.base import BaseCommand

from accounts.otp import OTP_KEEP_AFTER_EXPIRY, otp_delete_expired


class Command(BaseCommand):
    help = (
        "Delete one-time codes that expired more than "
        f"{OTP_KEEP_AFTER_EXPIRY.days} day(s) ago. Run it daily, beside clearsessions."
    )

    def handle(self, *args, **options):
        deleted = otp_delete_expired()
        self.stdout.write(f"Deleted {deleted} expired one-time code(s).")
