"""The demo users of `manage.py seed_demo` (and `make run`): a superuser and a shopper.

The superuser's password is in the README: accounts.checks warns while it still signs in.
"""

from django.contrib.auth.models import Group
from django.db import transaction

from .models import User
from .services import CUSTOMERS_GROUP

DEMO_ADMIN = {"username": "admin", "email": "admin@example.com", "password": "123@456"}
DEMO_SHOPPER = {"username": "shopper", "email": "shopper@example.com", "password": "shopper-demo-1"}


@transaction.atomic
def demo_users_ensure() -> tuple[User, User]:
    """Create the demo superuser and demo shopper when missing. Idempotent.

    Existing demo users are left as they are: `make run` calls this every time, and must not
    undo a password (or anything else) the developer has changed since.
    """
    admin, created = User.objects.get_or_create(
        username=DEMO_ADMIN["username"], defaults={"email": DEMO_ADMIN["email"]}
    )
    if created:
        admin.is_staff = admin.is_superuser = admin.is_active = True
        admin.email_verified = True
        admin.set_password(DEMO_ADMIN["password"])
        admin.save()

    shopper, created = User.objects.get_or_create(
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
    if created:
        shopper.is_active = shopper.email_verified = True
        shopper.set_password(DEMO_SHOPPER["password"])
        shopper.save()
        customers, _created = Group.objects.get_or_create(name=CUSTOMERS_GROUP)
        shopper.groups.add(customers)
    return admin, shopper
