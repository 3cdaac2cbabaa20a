import factory

from accounts.tests.factories import UserFactory
from products.tests.factories import ProductFactory
from wishlists.models import WishlistItem


class WishlistItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WishlistItem

    user = factory.SubFactory(UserFactory)
    product = factory.SubFactory(ProductFactory)
