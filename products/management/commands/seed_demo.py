from django.conf import settings
from django.core.management import BaseCommand, CommandError

from accounts.demo import demo_users_ensure
from products.demo import demo_catalogue_ensure


class Command(BaseCommand):
    help = (
        "Load demo data: the superuser admin / 123@456, a demo shopper, categories and products. "
        "Safe to run again: demo users are created only when missing, so changed passwords stay. "
        "Refuses to run with DEBUG=False unless --force is given."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even though DEBUG is off (creates a superuser with a well-known password).",
        )

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo refuses to run with DEBUG=False: it creates the superuser "
                "admin / 123@456. Pass --force if you really mean it."
            )
        admin, shopper = demo_users_ensure()
        self.stdout.write(f"Users: superuser {admin.username!r}, shopper {shopper.username!r}.")
        categories, products = demo_catalogue_ensure()
        self.stdout.write(f"Catalogue: {categories} categories, {products} products with images.")
        self.stdout.write(self.style.SUCCESS("Demo data is ready."))
