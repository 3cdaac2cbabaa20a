from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError

from accounts.tests.factories import UserFactory
from carts.models import Cart, CartItem
from carts.selectors import SESSION_CART_KEY, cart_for, cart_get_summary, cart_quantities
from carts.services import (
    CartLineNotFound,
    ProductNotFound,
    cart_add_product,
    cart_clear,
    cart_merge,
    cart_remove_item,
    cart_remove_products,
    cart_set_quantity,
)
from carts.tests.factories import CartFactory, CartItemFactory
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

GUEST = AnonymousUser()


def db_lines(user) -> dict[int, int]:
    return dict(CartItem.objects.filter(cart__user=user).values_list("product_id", "quantity"))


# --- adding, signed in -------------------------------------------------------------------


def test_adding_creates_the_cart_and_a_line_with_quantity_one_by_default(user, product):
    assert cart_add_product(cart=cart_for(user=user), product_id=product.pk) == 1
    assert Cart.objects.filter(user=user).count() == 1
    assert db_lines(user) == {product.pk: 1}


def test_adding_again_adds_to_the_same_line(user, product):
    cart_add_product(cart=cart_for(user=user), product_id=product.pk, quantity=2)
    assert cart_add_product(cart=cart_for(user=user), product_id=product.pk, quantity=3) == 5
    assert db_lines(user) == {product.pk: 5}


def test_adding_exactly_the_stock_is_allowed(user, product):
    assert cart_add_product(cart=cart_for(user=user), product_id=product.pk, quantity=10) == 10


def test_adding_more_than_stock_is_refused(user, product):
    with pytest.raises(ValidationError) as exc:
        cart_add_product(cart=cart_for(user=user), product_id=product.pk, quantity=11)
    assert exc.value.code == "exceeds_stock"
    assert "Only 10" in exc.value.messages[0]
    assert db_lines(user) == {}


def test_adding_beyond_stock_counting_what_is_in_the_cart_is_refused_and_changes_nothing(
    user, product
):
    cart_add_product(cart=cart_for(user=user), product_id=product.pk, quantity=8)
    with pytest.raises(ValidationError) as exc:
        cart_add_product(cart=cart_for(user=user), product_id=product.pk, quantity=3)
    assert "already have 8" in exc.value.messages[0]
    assert db_lines(user) == {product.pk: 8}


@pytest.mark.parametrize("quantity", [0, -1, -100])
def test_adding_a_quantity_below_one_is_refused(user, product, quantity):
    with pytest.raises(ValidationError) as exc:
        cart_add_product(cart=cart_for(user=user), product_id=product.pk, quantity=quantity)
    assert exc.value.code == "invalid"
    assert db_lines(user) == {}


@pytest.mark.parametrize("quantity", [1.5, "2", None, True])
def test_adding_a_quantity_that_is_not_a_whole_number_is_refused(user, product, quantity):
    with pytest.raises(ValidationError):
        cart_add_product(cart=cart_for(user=user), product_id=product.pk, quantity=quantity)
    assert db_lines(user) == {}


def test_adding_an_inactive_product_is_refused(user):
    product = ProductFactory(is_active=False)
    with pytest.raises(ValidationError) as exc:
        cart_add_product(cart=cart_for(user=user), product_id=product.pk)
    assert exc.value.code == "inactive"
    assert "no longer available" in exc.value.messages[0]
    assert db_lines(user) == {}


def test_adding_an_out_of_stock_product_is_refused(user):
    product = ProductFactory(stock=0)
    with pytest.raises(ValidationError) as exc:
        cart_add_product(cart=cart_for(user=user), product_id=product.pk)
    assert exc.value.code == "out_of_stock"
    assert "out of stock" in exc.value.messages[0]


@pytest.mark.parametrize("product_id", [0, -1, 999_999, 2**63, 10**30])
def test_adding_an_unknown_product_raises_not_found(user, product_id):
    with pytest.raises(ProductNotFound):
        cart_add_product(cart=cart_for(user=user), product_id=product_id)


def test_the_line_after_the_maximum_is_refused(user, settings):
    settings.CART_MAX_LINES = 3
    products = ProductFactory.create_batch(4)
    for product in products[:3]:
        cart_add_product(cart=cart_for(user=user), product_id=product.pk)
    with pytest.raises(ValidationError) as exc:
        cart_add_product(cart=cart_for(user=user), product_id=products[3].pk)
    assert exc.value.code == "too_many_lines"
    assert "3 different products" in exc.value.messages[0]
    assert len(db_lines(user)) == 3
    # A full cart still takes more of a product it already holds.
    assert cart_add_product(cart=cart_for(user=user), product_id=products[0].pk) == 2


def test_the_default_maximum_is_one_hundred_lines(user, settings):
    assert settings.CART_MAX_LINES == 100
    cart = CartFactory(user=user)
    CartItem.objects.bulk_create(
        CartItem(cart=cart, product=p, quantity=1) for p in ProductFactory.create_batch(100)
    )
    with pytest.raises(ValidationError):
        cart_add_product(cart=cart_for(user=user), product_id=ProductFactory().pk)
    assert CartItem.objects.filter(cart=cart).count() == 100


def test_carts_of_different_users_are_separate(product):
    alice, bob = UserFactory(), UserFactory()
    cart_add_product(cart=cart_for(user=alice), product_id=product.pk, quantity=2)
    cart_add_product(cart=cart_for(user=bob), product_id=product.pk, quantity=3)
    assert db_lines(alice) == {product.pk: 2}
    assert db_lines(bob) == {product.pk: 3}


# --- adding, guest -----------------------------------------------------------------------


def test_a_guest_cart_lives_in_the_session_keyed_by_product_id(session, product):
    assert cart_add_product(cart=cart_for(session=session), product_id=product.pk, quantity=2) == 2
    assert session[SESSION_CART_KEY] == {str(product.pk): 2}
    assert CartItem.objects.count() == 0
    assert Cart.objects.count() == 0


def test_a_guest_adding_again_adds_to_the_same_line(session, product):
    cart_add_product(cart=cart_for(session=session), product_id=product.pk, quantity=2)
    cart_add_product(cart=cart_for(session=session), product_id=product.pk, quantity=2)
    assert cart_quantities(cart=cart_for(session=session)) == {product.pk: 4}


def test_a_guest_adding_more_than_stock_is_refused(session, product):
    cart_add_product(cart=cart_for(session=session), product_id=product.pk, quantity=9)
    with pytest.raises(ValidationError):
        cart_add_product(cart=cart_for(session=session), product_id=product.pk, quantity=2)
    assert cart_quantities(cart=cart_for(session=session)) == {product.pk: 9}


def test_a_guest_cannot_add_inactive_or_out_of_stock_products(session):
    for product in (ProductFactory(is_active=False), ProductFactory(stock=0)):
        with pytest.raises(ValidationError):
            cart_add_product(cart=cart_for(session=session), product_id=product.pk)
    assert cart_quantities(cart=cart_for(session=session)) == {}


def test_a_guests_line_after_the_maximum_is_refused(session, settings):
    settings.CART_MAX_LINES = 2
    products = ProductFactory.create_batch(3)
    for product in products[:2]:
        cart_add_product(cart=cart_for(session=session), product_id=product.pk)
    with pytest.raises(ValidationError) as exc:
        cart_add_product(cart=cart_for(session=session), product_id=products[2].pk)
    assert exc.value.code == "too_many_lines"
    assert len(cart_quantities(cart=cart_for(session=session))) == 2


def test_a_guest_cart_needs_a_session(product):
    with pytest.raises(ValueError):
        cart_add_product(cart=cart_for(user=GUEST), product_id=product.pk)


def test_malformed_session_data_is_ignored(session, product):
    session[SESSION_CART_KEY] = {"abc": 3, str(product.pk): "x", "-4": 1, "7": -2}
    assert cart_quantities(cart=cart_for(session=session)) == {}
    cart_add_product(cart=cart_for(session=session), product_id=product.pk)
    assert session[SESSION_CART_KEY] == {str(product.pk): 1}
    session[SESSION_CART_KEY] = ["not", "a", "dict"]
    assert cart_quantities(cart=cart_for(session=session)) == {}


# --- setting quantities ------------------------------------------------------------------


def test_setting_a_quantity_replaces_it(user, product):
    item = CartItemFactory(cart__user=user, product=product, quantity=2)
    assert cart_set_quantity(cart=cart_for(user=user), product_id=item.product_id, quantity=7) == 7
    item.refresh_from_db()
    assert item.quantity == 7


def test_setting_more_than_stock_is_refused_and_changes_nothing(user, product):
    item = CartItemFactory(cart__user=user, product=product, quantity=2)
    with pytest.raises(ValidationError) as exc:
        cart_set_quantity(cart=cart_for(user=user), product_id=item.product_id, quantity=11)
    assert exc.value.code == "exceeds_stock"
    item.refresh_from_db()
    assert item.quantity == 2


def test_setting_zero_removes_the_line(user, product):
    item = CartItemFactory(cart__user=user, product=product, quantity=2)
    assert cart_set_quantity(cart=cart_for(user=user), product_id=item.product_id, quantity=0) == 0
    assert not CartItem.objects.filter(pk=item.pk).exists()


@pytest.mark.parametrize("quantity", [-1, 1.5, 0.0, "3", None, False])
def test_setting_a_bad_quantity_is_refused(user, product, quantity):
    item = CartItemFactory(cart__user=user, product=product, quantity=2)
    with pytest.raises(ValidationError):
        cart_set_quantity(cart=cart_for(user=user), product_id=item.product_id, quantity=quantity)
    item.refresh_from_db()
    assert item.quantity == 2


def test_lowering_a_quantity_is_allowed_when_the_stock_fell_below_it(user, product):
    item = CartItemFactory(cart__user=user, product=product, quantity=8)
    product.stock = 3
    product.save()
    assert cart_set_quantity(cart=cart_for(user=user), product_id=item.product_id, quantity=5) == 5
    with pytest.raises(ValidationError):
        cart_set_quantity(cart=cart_for(user=user), product_id=item.product_id, quantity=6)


def test_raising_the_quantity_of_a_withdrawn_product_is_refused(user, product):
    item = CartItemFactory(cart__user=user, product=product, quantity=2)
    product.is_active = False
    product.save()
    with pytest.raises(ValidationError) as exc:
        cart_set_quantity(cart=cart_for(user=user), product_id=item.product_id, quantity=3)
    assert exc.value.code == "inactive"
    assert cart_set_quantity(cart=cart_for(user=user), product_id=item.product_id, quantity=1) == 1


def test_another_users_line_is_not_found(product):
    owner, intruder = UserFactory(), UserFactory()
    item = CartItemFactory(cart__user=owner, product=product, quantity=2)
    CartFactory(user=intruder)
    with pytest.raises(CartLineNotFound):
        cart_set_quantity(cart=cart_for(user=intruder), product_id=item.product_id, quantity=1)
    with pytest.raises(CartLineNotFound):
        cart_remove_item(cart=cart_for(user=intruder), product_id=item.product_id)
    item.refresh_from_db()
    assert item.quantity == 2


@pytest.mark.parametrize("product_id", [0, -1, 123_456, 2**63, 10**30])
def test_products_not_in_the_cart_are_not_found(user, session, product_id):
    with pytest.raises(CartLineNotFound):
        cart_set_quantity(cart=cart_for(user=user), product_id=product_id, quantity=1)
    with pytest.raises(CartLineNotFound):
        cart_remove_item(cart=cart_for(user=user), product_id=product_id)
    with pytest.raises(CartLineNotFound):
        cart_set_quantity(cart=cart_for(session=session), product_id=product_id, quantity=1)
    with pytest.raises(CartLineNotFound):
        cart_remove_item(cart=cart_for(session=session), product_id=product_id)


def test_a_guest_sets_and_removes_lines_by_product_id(session, product):
    other = ProductFactory()
    cart_add_product(cart=cart_for(session=session), product_id=product.pk, quantity=2)
    cart_add_product(cart=cart_for(session=session), product_id=other.pk)
    assert cart_set_quantity(cart=cart_for(session=session), product_id=product.pk, quantity=6) == 6
    with pytest.raises(ValidationError):
        cart_set_quantity(cart=cart_for(session=session), product_id=product.pk, quantity=11)
    assert cart_quantities(cart=cart_for(session=session)) == {product.pk: 6, other.pk: 1}
    assert cart_remove_item(cart=cart_for(session=session), product_id=other.pk) == other
    assert cart_set_quantity(cart=cart_for(session=session), product_id=product.pk, quantity=0) == 0
    assert cart_quantities(cart=cart_for(session=session)) == {}


def test_a_guest_cannot_touch_a_product_not_in_their_cart(session, product):
    with pytest.raises(CartLineNotFound):
        cart_set_quantity(cart=cart_for(session=session), product_id=product.pk, quantity=1)
    assert cart_quantities(cart=cart_for(session=session)) == {}


def test_a_guest_line_whose_product_was_deleted_can_be_removed(session, product):
    cart_add_product(cart=cart_for(session=session), product_id=product.pk)
    product_id = product.pk
    product.delete()
    with pytest.raises(CartLineNotFound):
        cart_remove_item(cart=cart_for(session=session), product_id=product_id)
    assert cart_quantities(cart=cart_for(session=session)) == {}


def test_removing_returns_the_product_and_deletes_only_that_line(user, product):
    keep = CartItemFactory(cart__user=user)
    item = CartItemFactory(cart=keep.cart, product=product)
    assert cart_remove_item(cart=cart_for(user=user), product_id=item.product_id) == product
    assert list(CartItem.objects.values_list("pk", flat=True)) == [keep.pk]


def test_clearing_empties_a_users_cart_and_a_guests_session(user, session, product):
    CartItemFactory(cart__user=user, product=product)
    cart_add_product(cart=cart_for(session=session), product_id=product.pk)
    cart_clear(cart=cart_for(user=user))
    cart_clear(cart=cart_for(session=session))
    assert db_lines(user) == {}
    assert cart_quantities(cart=cart_for(session=session)) == {}


# --- merging on sign-in ------------------------------------------------------------------


def test_merge_adds_quantities_of_overlapping_lines_and_keeps_the_rest(user, session):
    both, only_db, only_session = ProductFactory.create_batch(3, stock=10)
    CartItemFactory(cart__user=user, product=both, quantity=2)
    CartItemFactory(cart__user=user, product=only_db, quantity=4)
    cart_add_product(cart=cart_for(session=session), product_id=both.pk, quantity=3)
    cart_add_product(cart=cart_for(session=session), product_id=only_session.pk, quantity=1)

    result = cart_merge(user=user, session=session)

    assert db_lines(user) == {both.pk: 5, only_db.pk: 4, only_session.pk: 1}
    assert set(result.merged) == {both, only_session}
    assert result.capped == result.unavailable == result.no_room == []
    assert SESSION_CART_KEY not in session


def test_merge_caps_at_stock_and_says_so(user, session):
    product = ProductFactory(stock=5)
    CartItemFactory(cart__user=user, product=product, quantity=4)
    cart_add_product(cart=cart_for(session=session), product_id=product.pk, quantity=3)
    result = cart_merge(user=user, session=session)
    assert db_lines(user) == {product.pk: 5}
    assert result.capped == [product]


def test_merge_creates_the_users_cart(user, session, product):
    cart_add_product(cart=cart_for(session=session), product_id=product.pk, quantity=2)
    cart_merge(user=user, session=session)
    assert db_lines(user) == {product.pk: 2}


def test_merge_drops_products_that_became_unavailable_or_were_deleted(user, session):
    withdrawn, sold_out, gone, fine = ProductFactory.create_batch(4)
    for p in (withdrawn, sold_out, gone, fine):
        cart_add_product(cart=cart_for(session=session), product_id=p.pk)
    withdrawn.is_active = False
    withdrawn.save()
    sold_out.stock = 0
    sold_out.save()
    gone.delete()

    result = cart_merge(user=user, session=session)

    assert db_lines(user) == {fine.pk: 1}
    assert set(result.unavailable) == {withdrawn, sold_out}
    assert result.merged == [fine]


def test_merge_respects_the_line_limit(user, session, settings):
    in_db = CartItemFactory(cart__user=user).product
    a, b = ProductFactory.create_batch(2)
    for p in (in_db, a, b):
        cart_add_product(cart=cart_for(session=session), product_id=p.pk)
    settings.CART_MAX_LINES = 2
    result = cart_merge(user=user, session=session)
    assert len(db_lines(user)) == 2
    assert db_lines(user)[in_db.pk] == 2
    assert result.no_room == [b]


def test_merging_an_empty_session_cart_changes_nothing(user, session, product):
    CartItemFactory(cart__user=user, product=product, quantity=2)
    result = cart_merge(user=user, session=session)
    assert not result.merged
    assert db_lines(user) == {product.pk: 2}


def test_merging_twice_does_not_double_the_quantities(user, session, product):
    cart_add_product(cart=cart_for(session=session), product_id=product.pk, quantity=2)
    cart_merge(user=user, session=session)
    cart_merge(user=user, session=session)
    assert db_lines(user) == {product.pk: 2}


# --- totals --------------------------------------------------------------------------------


def test_totals_are_decimals_computed_from_current_prices(user):
    a = ProductFactory(price="19.99", stock=10)
    b = ProductFactory(price="0.10", stock=10)
    cart_add_product(cart=cart_for(user=user), product_id=a.pk, quantity=3)
    cart_add_product(cart=cart_for(user=user), product_id=b.pk, quantity=7)
    summary = cart_get_summary(cart=cart_for(user=user, session=None))
    assert [line.line_total for line in summary] == [Decimal("59.97"), Decimal("0.70")]
    assert summary.total == Decimal("60.67")
    assert isinstance(summary.total, Decimal)
    assert summary.item_count == 10
    a.price = Decimal("20.00")
    a.save()
    assert cart_get_summary(cart=cart_for(user=user, session=None)).total == Decimal("60.70")


def test_guest_totals_match(session):
    a = ProductFactory(price="2.50", stock=10)
    cart_add_product(cart=cart_for(session=session), product_id=a.pk, quantity=4)
    summary = cart_get_summary(cart=cart_for(session=session))
    assert summary.total == Decimal("10.00")
    assert [line.id for line in summary] == [a.pk]


def test_an_empty_cart_totals_zero(user):
    summary = cart_get_summary(cart=cart_for(user=user, session=None))
    assert not summary
    assert summary.total == Decimal("0.00")


def test_cart_remove_products_takes_out_those_lines_only_and_marks_the_cart_changed():
    from datetime import timedelta

    from django.utils import timezone

    cart = CartFactory()
    kept, ordered = CartItemFactory(cart=cart), CartItemFactory(cart=cart)
    someone_elses = CartItemFactory()
    long_ago = timezone.now() - timedelta(days=1)
    Cart.objects.filter(pk=cart.pk).update(updated_at=long_ago)

    cart_remove_products(
        cart=cart_for(user=cart.user),
        product_ids=[ordered.product_id, someone_elses.product_id],
    )

    assert set(CartItem.objects.values_list("pk", flat=True)) == {kept.pk, someone_elses.pk}
    assert Cart.objects.get(pk=cart.pk).updated_at > long_ago
    cart_clear(cart=cart_for(user=cart.user))
    assert not CartItem.objects.filter(cart=cart).exists()


# --- the most one order may hold of a product (issue 16.7, against stock hoarding) ----------


@pytest.fixture
def laptop(db):
    return ProductFactory(name="Laptop", price="650.00", stock=60)


def test_adding_more_than_the_per_order_limit_is_refused_naming_it(user, laptop):
    with pytest.raises(ValidationError) as exc:
        cart_add_product(cart=cart_for(user=user), product_id=laptop.pk, quantity=60)
    assert exc.value.code == "exceeds_line_limit"
    assert exc.value.messages == ["You can buy at most 10 of Laptop per order."]
    assert db_lines(user) == {}


def test_adding_up_to_the_limit_is_allowed_and_one_more_is_refused(user, laptop):
    assert cart_add_product(cart=cart_for(user=user), product_id=laptop.pk, quantity=8) == 8
    with pytest.raises(ValidationError) as exc:
        cart_add_product(cart=cart_for(user=user), product_id=laptop.pk, quantity=3)
    assert exc.value.messages == [
        "You can buy at most 10 of Laptop per order. Your cart already has 8."
    ]
    assert db_lines(user) == {laptop.pk: 8}
    assert cart_add_product(cart=cart_for(user=user), product_id=laptop.pk, quantity=2) == 10


def test_a_guest_is_held_to_the_same_limit(session, laptop):
    cart_add_product(cart=cart_for(session=session), product_id=laptop.pk, quantity=10)
    with pytest.raises(ValidationError) as exc:
        cart_add_product(cart=cart_for(session=session), product_id=laptop.pk, quantity=1)
    assert exc.value.code == "exceeds_line_limit"
    assert cart_quantities(cart=cart_for(session=session)) == {laptop.pk: 10}


def test_setting_a_quantity_over_the_limit_is_refused_and_changes_nothing(user, session, laptop):
    item = CartItemFactory(cart__user=user, product=laptop, quantity=5)
    with pytest.raises(ValidationError) as exc:
        cart_set_quantity(cart=cart_for(user=user), product_id=item.product_id, quantity=11)
    assert exc.value.messages == ["You can buy at most 10 of Laptop per order."]
    assert db_lines(user) == {laptop.pk: 5}

    cart_add_product(cart=cart_for(session=session), product_id=laptop.pk, quantity=5)
    with pytest.raises(ValidationError):
        cart_set_quantity(cart=cart_for(session=session), product_id=laptop.pk, quantity=11)
    assert cart_quantities(cart=cart_for(session=session)) == {laptop.pk: 5}


def test_lowering_a_line_that_is_over_a_lowered_limit_is_allowed(user, laptop, settings):
    item = CartItemFactory(cart__user=user, product=laptop, quantity=9)
    settings.ORDER_MAX_QUANTITY_PER_LINE = 4
    assert (
        cart_set_quantity(cart=cart_for(user=user), product_id=item.product_id, quantity=6) == 6
    )  # checkout refuses it
    with pytest.raises(ValidationError) as exc:
        cart_set_quantity(cart=cart_for(user=user), product_id=item.product_id, quantity=7)
    assert exc.value.messages == ["You can buy at most 4 of Laptop per order."]


def test_when_stock_is_the_tighter_bound_the_stock_message_wins(user):
    product = ProductFactory(name="Lamp", stock=3)
    with pytest.raises(ValidationError) as exc:
        cart_add_product(cart=cart_for(user=user), product_id=product.pk, quantity=12)
    assert exc.value.code == "exceeds_stock"


def test_merge_caps_at_the_per_order_limit_and_says_so(user, session, laptop):
    CartItemFactory(cart__user=user, product=laptop, quantity=8)
    cart_add_product(cart=cart_for(session=session), product_id=laptop.pk, quantity=7)
    result = cart_merge(user=user, session=session)
    assert db_lines(user) == {laptop.pk: 10}
    assert result.limited == [laptop] and result.capped == []
