import factory

from accounts.models import User

DEFAULT_PASSWORD = "a-Str0ng-pass!"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    email_verified = True
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"Shopper{n}")

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or DEFAULT_PASSWORD)
        if create:
            obj.save(update_fields=["password"])


class StaffFactory(UserFactory):
    is_staff = True
