import re
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from carts.models import Cart, CartItem
from carts.selectors import SESSION_CART_KEY, cart_item_count
from carts.services import cart_add_product, cart_clear, cart_for, cart_set_quantity
from carts.tests.factories import CartFactory, CartItemFactory
from products.models import StockMovement
from products.services import product_stock_adjust
from products.tests.factories import ProductFactory, ProductImageFactory

pytestmark = pytest.mark.django_db

CART_URL = reverse("carts:detail")
BAD_QUANTITIES = ["-1", "0", "abc", "1.5", "99999999999", "1e3", "0x10"]


def add_url(product) -> str:
    return reverse("carts:add", args=[product.pk])


def update_url(product_id: int) -> str:
    return reverse("carts:update", args=[product_id])


def remove_url(product_id: int) -> str:
    return reverse("carts:remove", args=[product_id])


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def guest_lines(client) -> dict:
    return client.session.get(SESSION_CART_KEY, {})


def db_lines(user) -> dict[int, int]:
    return dict(CartItem.objects.filter(cart__user=user).values_list("product_id", "quantity"))


@pytest.fixture
def shopper(client, user):
    client.force_login(user)
    return user


# --- the cart page -----------------------------------------------------------------------


def test_an_empty_cart_says_so(client):
    response = client.get(CART_URL)
    assert response.status_code == HTTPStatus.OK
    assert b"Your cart is empty" in response.content
    assert reverse("products:list").encode() in response.content


def test_the_cart_page_shows_each_line_and_the_total(client, shopper, settings):
    settings.STORE_CURRENCY = "EUR"
    pictured = ProductFactory(name="Blue Kettle", price="19.99", stock=10)
    image = ProductImageFactory(product=pictured)
    plain = ProductFactory(name="Red Mug", price="5.00", stock=10)
    CartItemFactory(cart__user=shopper, product=pictured, quantity=3)
    CartItemFactory(cart__user=shopper, product=plain, quantity=1)

    response = client.get(CART_URL)

    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "Blue Kettle" in html and "Red Mug" in html
    assert pictured.get_absolute_url() in html
    assert "19.99 EUR" in html
    assert "59.97 EUR" in html  # line total
    assert "64.97 EUR" in html  # cart total
    thumbnail = getattr(image, "thumbnail_list", None)
    assert (thumbnail.url if thumbnail else image.image.url) in html
    assert "img/placeholder.svg" in html  # the mug has no picture
    assert reverse("orders:checkout") in html
    assert "Continue shopping" in html
    assert response.context["cart"].total == Decimal("64.97")
    for item in CartItem.objects.all():
        assert update_url(item.product_id) in html
        assert remove_url(item.product_id) in html


def test_a_guest_cart_page_uses_product_ids_as_line_ids(client):
    product = ProductFactory(name="Green Lamp", stock=5)
    client.post(add_url(product), {"quantity": 2})
    html = client.get(CART_URL).content.decode()
    assert "Green Lamp" in html
    assert update_url(product.pk) in html
    assert remove_url(product.pk) in html


def test_a_users_cart_lines_are_named_by_product_id_as_a_guests_are(client, shopper):
    # Make the line's own row id differ from its product's id.
    ProductFactory.create_batch(3)
    product = ProductFactory(name="Green Lamp", stock=5)
    line = CartItemFactory(cart__user=shopper, product=product, quantity=2)
    CartItem.objects.filter(pk=line.pk).update(id=product.pk + 100)
    html = client.get(CART_URL).text
    assert update_url(product.pk) in html and remove_url(product.pk) in html
    assert client.post(update_url(product.pk + 100), {"quantity": 1}).status_code == 404
    assert client.post(update_url(product.pk), {"quantity": 3}).status_code == HTTPStatus.FOUND
    assert db_lines(shopper) == {product.pk: 3}
    assert client.post(remove_url(product.pk)).status_code == HTTPStatus.FOUND
    assert db_lines(shopper) == {}


@pytest.mark.parametrize("path", ["add/0/", "items/0/update/", "items/9223372036854775808/remove/"])
def test_ids_outside_a_database_id_are_not_urls(client, shopper, path):
    assert client.post(f"{CART_URL}{path}").status_code == HTTPStatus.NOT_FOUND


def test_the_cart_page_flags_lines_that_cannot_be_bought(client, shopper):
    product = ProductFactory(stock=10)
    CartItemFactory(cart__user=shopper, product=product, quantity=4)
    product.stock = 2
    product.save()
    response = client.get(CART_URL)
    assert b"Only 2 left" in response.content
    assert response.context["cart"].has_unavailable_lines


@pytest.mark.parametrize("signed_in", [True, False])
def test_the_cart_page_runs_a_fixed_number_of_queries(
    client, user, signed_in, django_assert_max_num_queries
):
    products = ProductFactory.create_batch(50, stock=10)
    for product in products[::2]:
        ProductImageFactory(product=product)
        ProductImageFactory(product=product)
    if signed_in:
        client.force_login(user)
        cart = CartFactory(user=user)
        CartItem.objects.bulk_create(CartItem(cart=cart, product=p, quantity=2) for p in products)
    else:
        session = client.session
        session[SESSION_CART_KEY] = {str(p.pk): 2 for p in products}
        session.save()

    with django_assert_max_num_queries(6):
        response = client.get(CART_URL)

    assert response.status_code == HTTPStatus.OK
    assert len(response.context["cart"].lines) == 50
    assert response.content.count(b'data-testid="cart-line"') == 50


def test_the_navbar_count_is_one_query_for_a_user_and_none_for_a_guest(
    rf, user, django_assert_num_queries
):
    cart = CartFactory(user=user)
    CartItem.objects.bulk_create(
        CartItem(cart=cart, product=p, quantity=2) for p in ProductFactory.create_batch(30)
    )
    request = rf.get("/")
    request.user = user
    with django_assert_num_queries(1):
        assert cart_item_count(request=request) == 60
    guest = rf.get("/")
    guest.user, guest.session = AnonymousUser(), {}
    with django_assert_num_queries(0):  # an empty guest cart needs no query
        assert cart_item_count(request=guest) == 0


def test_a_guests_navbar_count_leaves_out_deleted_products(client, django_assert_num_queries):
    stays, goes = ProductFactory(stock=5), ProductFactory(stock=5)
    client.post(add_url(stays), {"quantity": 1})
    client.post(add_url(goes), {"quantity": 3})
    goes.delete()
    page = client.get(reverse("products:home")).text
    assert 'data-testid="cart-count">1<' in page  # as the cart page shows: one line of one
    assert client.get(CART_URL).text.count('data-testid="cart-line"') == 1


def test_the_navbar_shows_the_count(client, product):
    client.post(add_url(product), {"quantity": 3})
    response = client.get(CART_URL)
    assert b'data-testid="cart-count">3<' in response.content


# --- adding ------------------------------------------------------------------------------


def test_a_guest_adds_to_the_session_cart_and_is_sent_back(client, product):
    response = client.post(add_url(product))
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == CART_URL
    assert guest_lines(client) == {str(product.pk): 1}
    assert any("Added" in m and product.name in m for m in messages_of(response))


def test_a_signed_in_user_adds_to_the_database_cart(client, shopper, product):
    client.post(add_url(product), {"quantity": "4"})
    assert db_lines(shopper) == {product.pk: 4}
    assert SESSION_CART_KEY not in client.session


def test_adding_goes_back_to_a_safe_next(client, product):
    response = client.post(add_url(product), {"next": product.get_absolute_url()})
    assert response.url == product.get_absolute_url()


def test_adding_goes_back_to_a_safe_referer(client, product):
    referer = "http://testserver" + product.get_absolute_url()
    response = client.post(add_url(product), HTTP_REFERER=referer)
    assert response.url == referer


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"]
)
def test_adding_never_goes_to_an_unsafe_next_or_referer(client, product, next_url):
    response = client.post(add_url(product), {"next": next_url}, HTTP_REFERER=next_url)
    assert response.url == CART_URL


def test_adding_more_than_stock_is_refused_with_a_message(client, product):
    response = client.post(add_url(product), {"quantity": "11"})
    assert response.status_code == HTTPStatus.FOUND
    assert guest_lines(client) == {}
    assert any("Only 10" in m for m in messages_of(response))


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_bad_quantities_are_refused_with_a_message(client, shopper, product, quantity):
    response = client.post(add_url(product), {"quantity": quantity})
    assert response.status_code == HTTPStatus.FOUND
    assert db_lines(shopper) == {}
    assert messages_of(response)


def test_an_empty_quantity_means_one(client, product):
    client.post(add_url(product), {"quantity": ""})
    assert guest_lines(client) == {str(product.pk): 1}


def test_adding_an_out_of_stock_or_withdrawn_product_is_refused(client):
    for product in (ProductFactory(stock=0), ProductFactory(is_active=False)):
        response = client.post(add_url(product))
        assert response.status_code == HTTPStatus.FOUND
        assert messages_of(response)
    assert guest_lines(client) == {}


def test_the_line_after_the_maximum_is_refused_with_a_message(client, shopper, settings):
    settings.CART_MAX_LINES = 2
    products = ProductFactory.create_batch(3)
    for product in products:
        response = client.post(add_url(product))
    assert len(db_lines(shopper)) == 2
    assert any("2 different products" in m for m in messages_of(response))


@pytest.mark.parametrize("product_id", [999_999, 2**63, 10**25])
def test_adding_an_unknown_product_is_a_404(client, product_id):
    response = client.post(reverse("carts:add", args=[product_id]), {"quantity": "abc"})
    assert response.status_code == HTTPStatus.NOT_FOUND


def test_post_only_urls_answer_get_with_405(client, shopper, product):
    item = CartItemFactory(cart__user=shopper, product=product)
    for url in (add_url(product), update_url(item.product_id), remove_url(item.product_id)):
        assert client.get(url).status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert db_lines(shopper) == {product.pk: 1}


def test_changes_need_a_csrf_token(product):
    response = Client(enforce_csrf_checks=True).post(add_url(product))
    assert response.status_code == HTTPStatus.FORBIDDEN


# --- what adding says, and the page script's JSON answers ----------------------------------

JSON = {"HTTP_ACCEPT": "application/json"}
# What Chromium sends with a form submission: the page, not JSON.
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_the_added_message_counts_the_whole_cart_as_the_badge_does(client, shopper):
    lamp, kettle = ProductFactory(name="Lamp", stock=9), ProductFactory(name="Kettle", stock=9)

    first = client.post(add_url(lamp), follow=True)
    assert messages_of(first) == ["Added Lamp to your cart. Cart: 1 item."]
    second = client.post(add_url(kettle), {"quantity": "2"}, follow=True)
    # Not "(2 in your cart)", the kettle line's quantity, beside a badge that says 3.
    assert messages_of(second) == ["Added Kettle to your cart. Cart: 3 items."]
    assert 'data-testid="cart-count">3<' in client.get(CART_URL).text


def test_a_guests_added_message_counts_the_session_cart(client, product):
    client.post(add_url(product), {"quantity": "2"}, follow=True)
    response = client.post(add_url(product))
    assert messages_of(response) == [f"Added {product.name} to your cart. Cart: 3 items."]


def test_the_script_adds_and_gets_the_message_and_count_as_json(client, product):
    client.post(add_url(ProductFactory(stock=5)), {"quantity": "2"}, follow=True)

    response = client.post(add_url(product), {"quantity": "1"}, **JSON)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "message": f"Added {product.name} to your cart. Cart: 3 items.",
        "cart_count": 3,
    }
    assert guest_lines(client)[str(product.pk)] == 1
    # Said once, in the page: nothing is left over for the next page to flash.
    assert messages_of(response) == []
    assert "Cart: 3 items" not in client.get(CART_URL).text


def test_a_signed_in_users_json_add_counts_their_database_cart(client, shopper, product):
    CartItemFactory(cart__user=shopper, product=ProductFactory(stock=5), quantity=4)
    response = client.post(add_url(product), **JSON)
    assert response.json()["cart_count"] == 5
    assert db_lines(shopper)[product.pk] == 1


def test_a_browsers_form_post_still_gets_the_redirect(client, product):
    response = client.post(add_url(product), {"next": "/products/?page=2#product-7"},
                           HTTP_ACCEPT=BROWSER_ACCEPT)  # fmt: skip
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == "/products/?page=2#product-7"


def test_the_redirect_keeps_the_products_anchor_but_never_leaves_the_site(client, product):
    back = client.post(add_url(product), {"next": f"/products/?page=2#product-{product.pk}"})
    assert back.url == f"/products/?page=2#product-{product.pk}"
    away = client.post(add_url(product), {"next": f"//evil.example/#product-{product.pk}"})
    assert away.url == CART_URL


def test_json_refusals_are_4xx_with_the_message_to_announce(client, product):
    client.post(add_url(product), {"quantity": "3"}, follow=True)

    too_many = client.post(add_url(product), {"quantity": "8"}, **JSON)
    assert too_many.status_code == HTTPStatus.CONFLICT
    assert too_many.json() == {
        "message": f"Only 10 of {product.name} are in stock and you already have 3 in your cart.",
        "cart_count": 3,
    }

    bad = client.post(add_url(product), {"quantity": "abc"}, **JSON)
    assert bad.status_code == HTTPStatus.BAD_REQUEST
    assert bad.json()["message"] == "Enter a whole number for the quantity."

    sold_out = ProductFactory(name="Gone", stock=0)
    out = client.post(add_url(sold_out), **JSON)
    assert out.status_code == HTTPStatus.CONFLICT
    assert out.json()["message"] == "Sorry, Gone is out of stock."

    unknown = client.post(reverse("carts:add", args=[999_999]), **JSON)
    assert unknown.status_code == HTTPStatus.NOT_FOUND
    assert unknown.json()["message"] == "We could not find that product: reload the page."

    assert guest_lines(client) == {str(product.pk): 3}
    assert messages_of(out) == []


def test_the_scripts_post_needs_the_forms_csrf_token(product):
    client = Client(enforce_csrf_checks=True)
    refused = client.post(add_url(product), **JSON)
    assert refused.status_code == HTTPStatus.FORBIDDEN
    assert guest_lines(client) == {}

    page = client.get(product.get_absolute_url()).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(add_url(product), HTTP_X_CSRFTOKEN=token, **JSON)
    assert response.status_code == HTTPStatus.OK
    assert response.json()["cart_count"] == 1


# --- updating and removing ---------------------------------------------------------------


def test_updating_a_line_sets_its_quantity(client, shopper, product):
    item = CartItemFactory(cart__user=shopper, product=product, quantity=1)
    response = client.post(update_url(item.product_id), {"quantity": "6"})
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == CART_URL
    assert db_lines(shopper) == {product.pk: 6}
    assert any("updated to 6" in m for m in messages_of(response))


def test_updating_to_zero_removes_the_line(client, shopper, product):
    item = CartItemFactory(cart__user=shopper, product=product, quantity=1)
    response = client.post(update_url(item.product_id), {"quantity": "0"})
    assert db_lines(shopper) == {}
    assert any("Removed" in m for m in messages_of(response))


@pytest.mark.parametrize("quantity", ["-1", "abc", "1.5", "99999999999", "", "11"])
def test_updating_with_bad_input_changes_nothing(client, shopper, product, quantity):
    item = CartItemFactory(cart__user=shopper, product=product, quantity=2)
    response = client.post(update_url(item.product_id), {"quantity": quantity})
    assert response.status_code == HTTPStatus.FOUND
    assert db_lines(shopper) == {product.pk: 2}
    assert messages_of(response)
    assert item.pk


def test_removing_a_line(client, shopper, product):
    item = CartItemFactory(cart__user=shopper, product=product, quantity=2)
    response = client.post(remove_url(item.product_id))
    assert response.status_code == HTTPStatus.FOUND
    assert db_lines(shopper) == {}
    assert any("Removed" in m and product.name in m for m in messages_of(response))


def test_another_users_line_is_a_404(client, shopper, product):
    item = CartItemFactory(cart__user=UserFactory(), product=product, quantity=2)
    CartFactory(user=shopper)
    assert client.post(update_url(item.product_id), {"quantity": "1"}).status_code == 404
    assert client.post(remove_url(item.product_id)).status_code == HTTPStatus.NOT_FOUND
    item.refresh_from_db()
    assert item.quantity == 2


def test_a_guest_cannot_reach_a_users_line(client, product):
    item = CartItemFactory(product=product, quantity=2)
    assert client.post(remove_url(item.product_id)).status_code == HTTPStatus.NOT_FOUND
    assert CartItem.objects.filter(pk=item.pk).exists()


@pytest.mark.parametrize("product_id", [999_999, 2**63 - 1, 2**63, 10**25])
def test_products_not_in_the_cart_are_a_404(client, shopper, product_id):
    assert client.post(update_url(product_id), {"quantity": "1"}).status_code == 404
    assert client.post(remove_url(product_id)).status_code == HTTPStatus.NOT_FOUND


def test_a_guest_updates_and_removes_lines(client, product):
    client.post(add_url(product), {"quantity": 2})
    client.post(update_url(product.pk), {"quantity": 5})
    assert guest_lines(client) == {str(product.pk): 5}
    client.post(remove_url(product.pk))
    assert guest_lines(client) == {}


def test_a_guest_updating_a_product_not_in_the_cart_is_a_404(client, product):
    assert client.post(update_url(product.pk), {"quantity": 1}).status_code == 404


# --- signing in ----------------------------------------------------------------------------


def test_signing_in_merges_the_guest_cart_with_overlapping_lines(client, user):
    both = ProductFactory(stock=5)
    only_guest = ProductFactory(stock=5)
    only_user = ProductFactory(stock=5)
    CartItemFactory(cart__user=user, product=both, quantity=4)
    CartItemFactory(cart__user=user, product=only_user, quantity=1)
    client.post(add_url(both), {"quantity": 3})
    client.post(add_url(only_guest), {"quantity": 2})

    client.force_login(user)

    assert db_lines(user) == {both.pk: 5, only_guest.pk: 2, only_user.pk: 1}
    assert SESSION_CART_KEY not in client.session
    response = client.get(CART_URL)
    assert len(response.context["cart"].lines) == 3


def test_signing_in_through_the_login_page_merges_and_tells_the_shopper(client):
    user = UserFactory()
    product = ProductFactory(stock=3)
    CartItemFactory(cart__user=user, product=product, quantity=2)
    client.post(add_url(product), {"quantity": 3})

    response = client.post(
        reverse("accounts:login"),
        {"username": user.username, "password": DEFAULT_PASSWORD},
        follow=True,
    )

    assert response.context["user"].is_authenticated
    assert db_lines(user) == {product.pk: 3}
    assert any("lowered the quantity" in str(m) for m in response.context["messages"])


def test_a_users_cart_survives_signing_out_and_in_on_another_device(client, user, product):
    client.force_login(user)
    client.post(add_url(product), {"quantity": 2})
    client.logout()
    assert client.get(CART_URL).context["cart"].lines == []

    other_device = Client()
    other_device.force_login(user)
    response = other_device.get(CART_URL)
    assert [line.quantity for line in response.context["cart"]] == [2]
    assert Cart.objects.filter(user=user).count() == 1


def test_a_guest_who_signs_up_finds_their_cart_in_the_new_account(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    product = ProductFactory(stock=5)
    client.post(add_url(product), {"quantity": 2})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("accounts:signup"),
            {
                "username": "newshopper",
                "email": "newshopper@example.com",
                "password1": DEFAULT_PASSWORD,
                "password2": DEFAULT_PASSWORD,
            },
        )
    code = re.search(r"\b(\d{6})\b", mailoutbox[0].body).group(1)

    client.post(reverse("accounts:verify"), {"code": code})

    user = User.objects.get(username="newshopper")
    assert db_lines(user) == {product.pk: 2}
    assert SESSION_CART_KEY not in client.session


# --- the signed-in cart page, kept per user in the cache ---------------------------------

CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def page_status(response) -> str:
    return response["X-Page-Cache"]


def test_a_users_unchanged_cart_page_is_served_from_the_cache(
    client, shopper, product, django_assert_max_num_queries
):
    cart_add_product(cart=cart_for(user=shopper), product_id=product.pk, quantity=2)
    first = client.get(CART_URL)
    assert page_status(first) == "miss"
    with django_assert_max_num_queries(1) as captured:  # the user; the cart version is cached
        second = client.get(CART_URL)
    assert page_status(second) == "hit"
    assert not any("products_product" in q["sql"] for q in captured.captured_queries)
    assert "private" in second["Cache-Control"]
    assert CSRF_TOKEN.sub("", second.text) == CSRF_TOKEN.sub("", first.text)


def test_every_change_to_the_lines_shows_at_once(client, shopper, product):
    other = ProductFactory(name="Teapot", price="12.00", stock=5)
    cart_add_product(cart=cart_for(user=shopper), product_id=product.pk, quantity=1)
    client.get(CART_URL)
    cart_add_product(cart=cart_for(user=shopper), product_id=other.pk, quantity=1)
    assert "Teapot" in client.get(CART_URL).text
    item = CartItem.objects.get(cart__user=shopper, product=other)
    cart_set_quantity(cart=cart_for(user=shopper), product_id=item.product_id, quantity=3)
    assert re.search(r'name="quantity" value="3"', client.get(CART_URL).text)
    cart_clear(cart=cart_for(user=shopper))  # as after a checkout
    assert "Your cart is empty" in client.get(CART_URL).text


def test_a_cart_page_with_a_query_string_is_never_stored_or_served(client, shopper, product):
    cart_add_product(cart=cart_for(user=shopper), product_id=product.pk, quantity=1)
    lure = client.get(CART_URL + "?q=Call+0800+FRAUD")
    assert page_status(lure) == "bypass"
    client.get(CART_URL)
    page = client.get(CART_URL)
    assert page_status(page) == "hit"
    assert "FRAUD" not in page.text


def test_a_stored_cart_page_is_empty_after_a_checkout(client, shopper, product):
    from orders.models import Order
    from orders.tests.factories import checkout_data

    cart_add_product(cart=cart_for(user=shopper), product_id=product.pk, quantity=1)
    client.get(CART_URL)
    assert page_status(client.get(CART_URL)) == "hit"
    client.post(reverse("orders:checkout"), checkout_data(client), follow=True)
    assert Order.objects.filter(user=shopper).count() == 1
    page = client.get(CART_URL)
    assert page_status(page) == "miss"
    assert "Your cart is empty" in page.text


def test_a_price_or_stock_change_shows_on_a_stored_cart_page(client, shopper, product):
    cart_add_product(cart=cart_for(user=shopper), product_id=product.pk, quantity=2)
    client.get(CART_URL)
    product.price = Decimal("25.00")
    product.save()
    assert "50.00" in client.get(CART_URL).text
    product_stock_adjust(product_id=product.pk, change=-9, reason=StockMovement.Reason.RESTOCK)
    page = client.get(CART_URL).text
    assert "Only 1 left" in page


def test_a_cart_page_is_never_shown_to_another_user(client, shopper, product):
    cart_add_product(cart=cart_for(user=shopper), product_id=product.pk, quantity=1)
    client.get(CART_URL)
    client.get(CART_URL)
    someone = Client()
    someone.force_login(UserFactory(username="someone-else"))
    page = someone.get(CART_URL)
    assert "Your cart is empty" in page.text
    assert product.name not in page.text


def test_flash_messages_on_the_cart_page_are_shown_once_and_never_stored(client, shopper, product):
    cart_add_product(cart=cart_for(user=shopper), product_id=product.pk, quantity=1)
    client.get(CART_URL)
    item = CartItem.objects.get(cart__user=shopper)
    response = client.post(update_url(item.product_id), {"quantity": 2}, follow=True)
    assert page_status(response) == "bypass"
    assert "quantity updated to 2" in response.text
    again = client.get(CART_URL)
    assert "quantity updated" not in again.text
    assert "quantity updated" not in client.get(CART_URL).text


def test_forms_on_a_stored_cart_page_carry_the_users_own_csrf_token(user, product):
    shopper = Client(enforce_csrf_checks=True)
    shopper.force_login(user)
    cart_add_product(cart=cart_for(user=user), product_id=product.pk, quantity=1)
    shopper.get(CART_URL)
    page = shopper.get(CART_URL)
    assert page_status(page) == "hit"
    token = CSRF_TOKEN.search(page.text).group(1)
    item = CartItem.objects.get(cart__user=user)
    response = shopper.post(
        update_url(item.product_id), {"quantity": 3, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == HTTPStatus.FOUND
    assert db_lines(user) == {product.pk: 3}


def test_guests_cart_pages_are_never_stored(client, product):
    client.post(add_url(product), {"quantity": 1})
    client.get(CART_URL)
    assert page_status(client.get(CART_URL)) == "bypass"


# --- the most one order may hold (issue 16.7) -----------------------------------------------
def test_adding_more_than_one_order_may_hold_is_refused_with_a_message(client):
    laptop = ProductFactory(name="Laptop", stock=60)
    response = client.post(add_url(laptop), {"quantity": "60"})
    assert response.status_code == HTTPStatus.FOUND
    assert guest_lines(client) == {}
    assert messages_of(response) == ["You can buy at most 10 of Laptop per order."]


def test_signing_in_lowers_a_merged_line_to_the_limit_and_says_so(client):
    user = UserFactory()
    laptop = ProductFactory(name="Laptop", stock=60)
    CartItemFactory(cart__user=user, product=laptop, quantity=6)
    client.post(add_url(laptop), {"quantity": 6})

    response = client.post(
        reverse("accounts:login"),
        {"username": user.username, "password": DEFAULT_PASSWORD},
        follow=True,
    )

    assert db_lines(user) == {laptop.pk: 10}
    assert "We lowered the quantity of Laptop to 10, the most one order may hold." in [
        str(m) for m in response.context["messages"]
    ]
