import pytest
from django.db import IntegrityError, transaction

from carts.models import CartItem
from carts.tests.factories import CartFactory, CartItemFactory

pytestmark = pytest.mark.django_db


def test_one_line_per_product_per_cart():
    item = CartItemFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        CartItem.objects.create(cart=item.cart, product=item.product, quantity=1)


def test_a_quantity_is_at_least_one():
    with pytest.raises(IntegrityError), transaction.atomic():
        CartItemFactory(quantity=0)


def test_deleting_a_user_removes_their_cart():
    item = CartItemFactory()
    item.cart.user.delete()
    assert not CartItem.objects.exists()


def test_str():
    cart = CartFactory(user__username="ann")
    item = CartItemFactory(cart=cart, product__name="Mug", quantity=2)
    assert str(cart) == "Cart of ann"
    assert str(item) == "2 × Mug"
