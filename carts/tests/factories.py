import factory

from accounts.tests.factories import UserFactory
from carts.models import Cart, CartItem
from products.tests.factories import ProductFactory


class CartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cart
        django_get_or_create = ("user",)

    user = factory.SubFactory(UserFactory)


class CartItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CartItem

    cart = factory.SubFactory(CartFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 1
