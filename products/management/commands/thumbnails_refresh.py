from django.core.management import BaseCommand

from products.images import product_image_thumbnails_refresh


class Command(BaseCommand):
    help = "Make missing product-image thumbnails (or, with --all, remake every one)."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="Remake thumbnails that exist too.")

    def handle(self, *args, all: bool = False, **options):
        made, failed = product_image_thumbnails_refresh(only_missing=not all)
        self.stdout.write(self.style.SUCCESS(f"Thumbnails made for {made} image(s)."))
        if failed:
            self.stdout.write(
                self.style.WARNING(f"{failed} image(s) could not be read; see the log.")
            )
