from django.db import transaction

from .models import User

DEMO_ADMIN = {"username": "admin", "email": "admin@example.com", "password": "123@456"}
DEMO_SHOPPER = {"username": "shopper", "email": "shopper@example.com", "password": "shopper-demo-1"}


@transaction.atomic
def demo_users_ensure() -> tuple[User, User]:
    """Create (or reset) the demo superuser and demo shopper. Idempotent."""
    admin, _ = User.objects.get_or_create(
        username=DEMO_ADMIN["username"], defaults={"email": DEMO_ADMIN["email"]}
    )
    admin.is_staff = admin.is_superuser = admin.is_active = True
    admin.email_verified = True
    admin.set_password(DEMO_ADMIN["password"])
    admin.save()

    shopper, _ = User.objects.get_or_create(
        username=DEMO_SHOPPER["username"],
        defaults={
            "email": DEMO_SHOPPER["email"],
            "first_name": "Demo",
            "last_name": "Shopper",
            "address_line1": "1 Market Street",
            "city": "Springfield",
            "postal_code": "12345",
            "country": "US",
        },
    )
    shopper.is_active = shopper.email_verified = True
    shopper.set_password(DEMO_SHOPPER["password"])
    shopper.save()
    return admin, shopper
