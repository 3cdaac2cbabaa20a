from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import get_messages
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.tests.factories import UserFactory
from carts.models import CartItem
from carts.tests.factories import CartItemFactory
from products.tests.factories import ProductFactory, ProductImageFactory
from wishlists.models import WishlistItem
from wishlists.tests.factories import WishlistItemFactory

pytestmark = pytest.mark.django_db

WISHLIST_URL = reverse("wishlists:detail")


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def wished(user) -> set[int]:
    return set(WishlistItem.objects.filter(user=user).values_list("product_id", flat=True))


@pytest.fixture
def shopper(client, user):
    client.force_login(user)
    return user


# --- the page ------------------------------------------------------------------------------


def test_guests_are_sent_to_sign_in_and_back(client):
    response = client.get(WISHLIST_URL)
    assert response.status_code == HTTPStatus.FOUND
    parts = urlsplit(response.url)
    assert parts.path == reverse("accounts:login")
    assert parse_qs(parts.query)["next"] == [WISHLIST_URL]


def test_an_empty_wishlist_says_so(client, shopper):
    response = client.get(WISHLIST_URL)
    assert response.status_code == HTTPStatus.OK
    assert b"Your wishlist is empty" in response.content


def test_the_page_shows_products_with_stock_badges_and_move_to_cart(client, shopper, settings):
    settings.LOW_STOCK_THRESHOLD = 5
    plenty = WishlistItemFactory(user=shopper, product__name="Plenty", product__stock=50).product
    few = WishlistItemFactory(user=shopper, product__name="Few", product__stock=2).product
    none = WishlistItemFactory(user=shopper, product__name="None left", product__stock=0).product
    WishlistItemFactory(product__name="Somebody else's")

    response = client.get(WISHLIST_URL)

    html = response.content.decode()
    assert "In stock" in html and "Only 2 left" in html and "Out of stock" in html
    assert "Somebody else" not in html
    assert reverse("wishlists:move-to-cart", args=[plenty.pk]) in html
    assert reverse("wishlists:move-to-cart", args=[few.pk]) in html
    assert reverse("wishlists:move-to-cart", args=[none.pk]) not in html
    assert reverse("wishlists:remove", args=[none.pk]) in html
    assert plenty.get_absolute_url() in html


def test_the_page_runs_a_fixed_number_of_queries(client, shopper, django_assert_max_num_queries):
    products = ProductFactory.create_batch(50)
    for product in products[::3]:
        ProductImageFactory(product=product)
    WishlistItem.objects.bulk_create(WishlistItem(user=shopper, product=p) for p in products)
    CartItemFactory(cart__user=shopper, product=products[0])

    with django_assert_max_num_queries(6):
        response = client.get(WISHLIST_URL)

    assert response.content.count(b'data-testid="wishlist-item"') == 50
    assert b"In your cart" in response.content


# --- actions -------------------------------------------------------------------------------


def test_adding_twice_is_harmless(client, shopper, product):
    first = client.post(reverse("wishlists:add", args=[product.pk]))
    second = client.post(reverse("wishlists:add", args=[product.pk]))
    assert first.status_code == second.status_code == HTTPStatus.FOUND
    assert wished(shopper) == {product.pk}
    assert any("already in your wishlist" in m for m in messages_of(second))


def test_adding_goes_back_to_the_product_page(client, shopper, product):
    response = client.post(
        reverse("wishlists:add", args=[product.pk]), {"next": product.get_absolute_url()}
    )
    assert response.url == product.get_absolute_url()
    assert any("Added" in m for m in messages_of(response))


def test_an_unsafe_next_is_ignored(client, shopper, product):
    response = client.post(
        reverse("wishlists:add", args=[product.pk]), {"next": "https://evil.example/"}
    )
    assert response.url == WISHLIST_URL


def test_a_guest_is_sent_to_sign_in_and_back_to_the_page_they_were_on(client, product):
    response = client.post(
        reverse("wishlists:add", args=[product.pk]), {"next": product.get_absolute_url()}
    )
    parts = urlsplit(response.url)
    assert parts.path == reverse("accounts:login")
    assert parse_qs(parts.query)["next"] == [product.get_absolute_url()]
    assert WishlistItem.objects.count() == 0


def test_adding_a_withdrawn_product_is_refused_with_a_message(client, shopper):
    product = ProductFactory(is_active=False)
    response = client.post(reverse("wishlists:add", args=[product.pk]))
    assert response.status_code == HTTPStatus.FOUND
    assert any("no longer available" in m for m in messages_of(response))
    assert wished(shopper) == set()


def test_removing(client, shopper, product):
    WishlistItemFactory(user=shopper, product=product)
    response = client.post(reverse("wishlists:remove", args=[product.pk]))
    assert response.status_code == HTTPStatus.FOUND
    assert wished(shopper) == set()
    assert any("Removed" in m for m in messages_of(response))


def test_removing_leaves_other_users_wishlists_alone(client, shopper, product):
    theirs = WishlistItemFactory(product=product)
    client.post(reverse("wishlists:remove", args=[product.pk]))
    assert WishlistItem.objects.filter(pk=theirs.pk).exists()


def test_moving_to_cart(client, shopper, product):
    WishlistItemFactory(user=shopper, product=product)
    response = client.post(reverse("wishlists:move-to-cart", args=[product.pk]))
    assert response.status_code == HTTPStatus.FOUND
    assert wished(shopper) == set()
    assert CartItem.objects.get(cart__user=shopper).product == product
    assert any("Moved" in m for m in messages_of(response))


def test_moving_an_out_of_stock_product_is_refused_with_a_message(client, shopper):
    product = ProductFactory(stock=0)
    WishlistItemFactory(user=shopper, product=product)
    response = client.post(reverse("wishlists:move-to-cart", args=[product.pk]))
    assert response.status_code == HTTPStatus.FOUND
    assert any("out of stock" in m for m in messages_of(response))
    assert wished(shopper) == {product.pk}


def test_moving_another_users_wish_is_a_404(client, shopper, product):
    WishlistItemFactory(user=UserFactory(), product=product)
    response = client.post(reverse("wishlists:move-to-cart", args=[product.pk]))
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert not CartItem.objects.exists()


@pytest.mark.parametrize("name", ["wishlists:add", "wishlists:remove", "wishlists:move-to-cart"])
@pytest.mark.parametrize("product_id", [999_999, 2**63, 10**25])
def test_unknown_products_are_a_404(client, shopper, name, product_id):
    assert client.post(reverse(name, args=[product_id])).status_code == HTTPStatus.NOT_FOUND


@pytest.mark.parametrize("name", ["wishlists:add", "wishlists:remove", "wishlists:move-to-cart"])
@pytest.mark.parametrize("signed_in", [True, False])
def test_post_only_urls_answer_get_with_405(client, user, product, name, signed_in):
    if signed_in:
        client.force_login(user)
    response = client.get(reverse(name, args=[product.pk]))
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_the_wishlist_survives_signing_out_and_in(client, user, product):
    client.force_login(user)
    client.post(reverse("wishlists:add", args=[product.pk]))
    client.logout()
    client.force_login(user)
    assert [i.product for i in client.get(WISHLIST_URL).context["items"]] == [product]


# --- the page script's JSON answers --------------------------------------------------------

JSON = {"HTTP_ACCEPT": "application/json"}


def test_the_script_toggles_the_heart_and_gets_json(client, shopper, product):
    added = client.post(reverse("wishlists:add", args=[product.pk]), **JSON)
    assert added.status_code == HTTPStatus.OK
    assert added.json() == {
        "message": f"Added {product.name} to your wishlist.",
        "in_wishlist": True,
    }
    assert wished(shopper) == {product.pk}

    removed = client.post(reverse("wishlists:remove", args=[product.pk]), **JSON)
    assert removed.json() == {
        "message": f"Removed {product.name} from your wishlist.",
        "in_wishlist": False,
    }
    assert wished(shopper) == set()
    assert messages_of(removed) == []  # said in the page, not again on the next one


def test_a_json_move_to_cart_says_the_new_cart_count(client, shopper, product):
    CartItemFactory(cart__user=shopper, quantity=2)
    WishlistItemFactory(user=shopper, product=product)
    response = client.post(reverse("wishlists:move-to-cart", args=[product.pk]), **JSON)
    assert response.json() == {
        "message": f"Moved {product.name} to your cart.",
        "in_wishlist": False,
        "cart_count": 3,
    }


def test_json_refusals_are_4xx_with_a_message(client, shopper):
    withdrawn = ProductFactory(name="Old", is_active=False)
    refused = client.post(reverse("wishlists:add", args=[withdrawn.pk]), **JSON)
    assert refused.status_code == HTTPStatus.CONFLICT
    assert refused.json() == {"message": "Sorry, Old is no longer available."}

    unknown = client.post(reverse("wishlists:add", args=[999_999]), **JSON)
    assert unknown.status_code == HTTPStatus.NOT_FOUND
    assert unknown.json()["message"] == "We could not find that product: reload the page."
    assert wished(shopper) == set()


def test_a_signed_out_script_is_told_where_to_sign_in(client, product):
    next_url = f"/products/?page=2#product-{product.pk}"
    response = client.post(reverse("wishlists:add", args=[product.pk]), {"next": next_url}, **JSON)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["message"] == "Sign in to keep a wishlist."
    parts = urlsplit(response.json()["login_url"])
    assert parts.path == reverse("accounts:login")
    assert parse_qs(parts.query)["next"] == [next_url]
    assert WishlistItem.objects.count() == 0
    # The script goes there next: the sign-in page says why.
    assert "Sign in to keep a wishlist." in client.get(response.json()["login_url"]).text


def test_the_redirect_comes_back_to_the_products_anchor(client, shopper, product):
    next_url = f"/products/?page=2#product-{product.pk}"
    response = client.post(reverse("wishlists:add", args=[product.pk]), {"next": next_url})
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == next_url


# --- the partials ------------------------------------------------------------------------


def render_partial(template: str, rf, user, **context) -> str:
    request = rf.get("/products/some-page/?page=2")
    request.user = user
    return render_to_string(template, {"user": user, **context}, request=request)


def test_the_heart_is_filled_for_a_wished_product_and_empty_otherwise(
    rf, user, django_assert_num_queries
):
    wished_for, other = ProductFactory.create_batch(2)
    WishlistItemFactory(user=user, product=wished_for)
    request = rf.get("/")
    request.user = user

    with django_assert_num_queries(1):  # however many hearts a page shows
        html_wished = render_to_string(
            "wishlists/includes/wishlist_button.html",
            {"user": user, "product": wished_for},
            request=request,
        )
        html_other = render_to_string(
            "wishlists/includes/wishlist_button.html",
            {"user": user, "product": other},
            request=request,
        )

    assert 'aria-pressed="true"' in html_wished
    assert reverse("wishlists:remove", args=[wished_for.pk]) in html_wished
    assert 'aria-pressed="false"' in html_other
    assert reverse("wishlists:add", args=[other.pk]) in html_other
    assert "csrfmiddlewaretoken" in html_other


def test_guests_see_a_heart_that_leads_to_sign_in(rf, product):
    html = render_partial(
        "wishlists/includes/wishlist_button.html", rf, AnonymousUser(), product=product
    )
    assert (
        reverse("accounts:login") + f"?next=/products/some-page/%3Fpage%3D2%23product-{product.pk}"
        in html
    )
    assert "<form" not in html


def test_the_add_to_cart_form_has_a_labelled_quantity(rf, product):
    html = render_partial(
        "carts/includes/add_to_cart_form.html", rf, AnonymousUser(), product=product
    )
    assert 'method="post"' in html
    assert reverse("carts:add", args=[product.pk]) in html
    assert "csrfmiddlewaretoken" in html
    assert f'<label for="add-quantity-{product.pk}"' in html
    assert 'name="quantity"' in html and 'max="10"' in html
    # Without JavaScript the redirect comes back here, to the product (its card or buy box).
    assert f'value="/products/some-page/?page=2#product-{product.pk}"' in html


def test_the_compact_add_to_cart_form_is_one_button(rf, product):
    html = render_partial(
        "carts/includes/add_to_cart_form.html", rf, AnonymousUser(), product=product, compact=True
    )
    assert 'type="hidden" name="quantity" value="1"' in html
    assert "Add to cart" in html


def test_the_add_to_cart_form_is_disabled_when_out_of_stock(rf):
    html = render_partial(
        "carts/includes/add_to_cart_form.html", rf, AnonymousUser(), product=ProductFactory(stock=0)
    )
    assert "<form" not in html
    assert "disabled" in html and "Out of stock" in html
