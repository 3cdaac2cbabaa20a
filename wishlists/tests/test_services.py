import pytest
from django.core.exceptions import ValidationError

from accounts.tests.factories import UserFactory
from carts.models import CartItem
from carts.tests.factories import CartItemFactory
from products.tests.factories import ProductFactory
from wishlists.models import WishlistItem
from wishlists.selectors import wishlist_product_ids
from wishlists.services import (
    ProductNotFound,
    WishlistItemNotFound,
    wishlist_add_product,
    wishlist_move_to_cart,
    wishlist_remove_product,
)
from wishlists.tests.factories import WishlistItemFactory

pytestmark = pytest.mark.django_db


def wished(user) -> set[int]:
    return set(WishlistItem.objects.filter(user=user).values_list("product_id", flat=True))


def cart_lines(user) -> dict[int, int]:
    return dict(CartItem.objects.filter(cart__user=user).values_list("product_id", "quantity"))


def test_adding_puts_the_product_on_the_wishlist(user, product):
    assert wishlist_add_product(user=user, product_id=product.pk) is True
    assert wished(user) == {product.pk}


def test_adding_twice_is_harmless(user, product):
    wishlist_add_product(user=user, product_id=product.pk)
    assert wishlist_add_product(user=user, product_id=product.pk) is False
    assert WishlistItem.objects.filter(user=user).count() == 1


def test_out_of_stock_products_may_be_wished_for(user):
    product = ProductFactory(stock=0)
    assert wishlist_add_product(user=user, product_id=product.pk)


def test_withdrawn_products_cannot_be_added(user):
    product = ProductFactory(is_active=False)
    with pytest.raises(ValidationError) as exc:
        wishlist_add_product(user=user, product_id=product.pk)
    assert exc.value.code == "inactive"
    assert wished(user) == set()


@pytest.mark.parametrize("product_id", [0, -5, 999_999, 2**63])
def test_unknown_products_are_not_found(user, product_id):
    with pytest.raises(ProductNotFound):
        wishlist_add_product(user=user, product_id=product_id)
    with pytest.raises(ProductNotFound):
        wishlist_remove_product(user=user, product_id=product_id)
    with pytest.raises(WishlistItemNotFound):
        wishlist_move_to_cart(user=user, product_id=product_id)


def test_removing_takes_only_this_users_product_off(user, product):
    other = UserFactory()
    WishlistItemFactory(user=user, product=product)
    WishlistItemFactory(user=other, product=product)
    assert wishlist_remove_product(user=user, product_id=product.pk) is True
    assert wished(user) == set()
    assert wished(other) == {product.pk}


def test_removing_something_not_on_the_wishlist_is_harmless(user, product):
    assert wishlist_remove_product(user=user, product_id=product.pk) is False


def test_moving_to_cart_adds_one_unit_and_leaves_the_wishlist(user, product):
    WishlistItemFactory(user=user, product=product)
    assert wishlist_move_to_cart(user=user, product_id=product.pk) is True
    assert cart_lines(user) == {product.pk: 1}
    assert wished(user) == set()


def test_moving_a_product_already_in_the_cart_keeps_the_cart_quantity(user, product):
    WishlistItemFactory(user=user, product=product)
    CartItemFactory(cart__user=user, product=product, quantity=10)  # all the stock
    assert wishlist_move_to_cart(user=user, product_id=product.pk) is False
    assert cart_lines(user) == {product.pk: 10}
    assert wished(user) == set()


@pytest.mark.parametrize("change", [{"stock": 0}, {"is_active": False}])
def test_moving_an_unavailable_product_is_refused_and_keeps_it_wished(user, change):
    product = ProductFactory(**change)
    WishlistItemFactory(user=user, product=product)
    with pytest.raises(ValidationError):
        wishlist_move_to_cart(user=user, product_id=product.pk)
    assert wished(user) == {product.pk}
    assert cart_lines(user) == {}


def test_moving_into_a_full_cart_is_refused(user, product, settings):
    settings.CART_MAX_LINES = 1
    CartItemFactory(cart__user=user)
    WishlistItemFactory(user=user, product=product)
    with pytest.raises(ValidationError):
        wishlist_move_to_cart(user=user, product_id=product.pk)
    assert wished(user) == {product.pk}


def test_moving_another_users_wish_is_not_found(user, product):
    WishlistItemFactory(product=product)
    with pytest.raises(WishlistItemNotFound):
        wishlist_move_to_cart(user=user, product_id=product.pk)
    assert cart_lines(user) == {}


def test_wishlist_product_ids_is_one_query(user, django_assert_num_queries):
    items = WishlistItemFactory.create_batch(3, user=user)
    with django_assert_num_queries(1):
        assert wishlist_product_ids(user=user) == {i.product_id for i in items}


def test_deleting_a_user_removes_their_wishlist(user, product):
    WishlistItemFactory(user=user, product=product)
    user.delete()
    assert WishlistItem.objects.count() == 0
