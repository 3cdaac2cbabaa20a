"""The shared page cache for anonymous catalogue pages, and the cached result counts."""

import re
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import StaffFactory, UserFactory
from products.catalogue_cache import CACHE_STATUS_HEADER, catalogue_version
from products.models import StockMovement
from products.services import product_stock_adjust
from products.tests.factories import CategoryFactory, ProductFactory, ProductImageFactory

pytestmark = pytest.mark.django_db

LIST_URL = reverse("products:list")
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def kettle():
    category = CategoryFactory(name="Kitchen")
    return ProductFactory(name="Copper kettle", price="30.00", stock=40, category=category)


def pages(product) -> dict[str, str]:
    return {
        "home": reverse("products:home"),
        "list": LIST_URL,
        "search": LIST_URL + "?q=kettle&sort=price",
        "category": product.category.get_absolute_url(),
        "detail": product.get_absolute_url(),
    }


def guest_get(url: str, **kwargs):
    """A first-time visitor: a new client, so no cookie at all."""
    return Client().get(url, **kwargs)


def status(response) -> str:
    return response[CACHE_STATUS_HEADER]


@pytest.mark.parametrize("page", ["home", "list", "search", "category", "detail"])
def test_a_guest_without_cookies_gets_the_page_from_the_cache_without_queries(
    kettle, page, django_assert_num_queries
):
    url = pages(kettle)[page]
    first = guest_get(url)
    assert first.status_code == HTTPStatus.OK
    assert status(first) == "miss"
    with django_assert_num_queries(0):
        second = guest_get(url)
    assert status(second) == "hit"
    assert "Copper kettle" in second.text
    # Identical apart from the CSRF tokens, which are each visitor's own.
    assert TOKEN.sub("", second.text) == TOKEN.sub("", first.text)


def test_a_returning_guest_with_only_the_csrf_cookie_gets_cached_pages(kettle, client):
    client.get(LIST_URL)
    assert set(client.cookies) == {"csrftoken"}
    assert status(client.get(LIST_URL)) == "hit"


def test_cached_pages_are_private_and_vary_on_cookies(kettle):
    guest_get(LIST_URL)
    for response in (guest_get(LIST_URL), guest_get(LIST_URL + "?page=2")):
        assert "private" in response["Cache-Control"]
        assert "Cookie" in response["Vary"]


def test_head_requests_are_answered_from_the_cache(kettle):
    guest_get(LIST_URL)
    response = Client().head(LIST_URL)
    assert response.status_code == HTTPStatus.OK
    assert status(response) == "hit"


# ------------------------------------------------------------------------------
# Changes show at once
# ------------------------------------------------------------------------------
@pytest.mark.parametrize("page", ["home", "list", "category", "detail"])
def test_a_price_or_name_change_is_shown_to_the_next_guest(kettle, page):
    url = pages(kettle)[page]
    guest_get(url)
    kettle.price = Decimal("27.50")
    kettle.name = "Copper tea kettle"
    kettle.save()
    response = guest_get(url)
    assert status(response) == "miss"
    assert "27.50" in response.text
    assert "Copper tea kettle" in response.text


def test_a_stock_change_through_the_service_changes_the_badge(kettle):
    url = kettle.get_absolute_url()
    assert "In stock" in guest_get(url).text
    product_stock_adjust(product_id=kettle.pk, change=-40, reason=StockMovement.Reason.RESTOCK)
    response = guest_get(url)
    assert "Out of stock" in response.text
    assert 'data-testid="add-to-cart-disabled"' in response.text


def test_a_new_product_and_a_new_image_appear_on_cached_pages(kettle):
    guest_get(LIST_URL)
    newcomer = ProductFactory(name="Enamel teapot", category=kettle.category)
    page = guest_get(LIST_URL).text
    assert "Enamel teapot" in page
    assert "2 products" in page  # the cached count moved on too
    ProductImageFactory(product=newcomer)
    assert newcomer.images.get().thumbnail_list.url in guest_get(LIST_URL).text


def test_a_category_rename_or_a_deleted_product_is_shown(kettle):
    url = kettle.category.get_absolute_url()
    guest_get(url)
    kettle.category.name = "Kitchenware"
    kettle.category.save()
    assert "Kitchenware" in guest_get(url).text
    kettle.delete()
    assert "Copper kettle" not in guest_get(url).text


def test_the_version_is_bumped_again_when_the_transaction_commits(
    django_capture_on_commit_callbacks,
):
    before = catalogue_version()
    with django_capture_on_commit_callbacks(execute=True):
        product = ProductFactory(category=CategoryFactory())  # two writes
        product.price = Decimal("12.00")
        product.save()  # a third
    # At once for each write (this request sees it), and once more after the commit, so a
    # page another request built from the rows before the commit cannot be served.
    assert catalogue_version() == before + 4
    # The next transaction gets its own bump after its commit, and only one.
    with django_capture_on_commit_callbacks(execute=True):
        product.price = Decimal("13.00")
        product.save()
        product.save()
    assert catalogue_version() == before + 7


def test_a_rolled_back_transaction_does_not_stop_the_next_ones_bump(
    django_capture_on_commit_callbacks,
):
    from django.db import transaction

    product = ProductFactory(category=CategoryFactory())
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                product.save()
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    before = catalogue_version()
    with django_capture_on_commit_callbacks(execute=True):
        product.save()
    assert catalogue_version() == before + 2  # at once, and after the commit


def test_a_category_tree_cached_before_the_commit_is_forgotten_after_it(
    django_capture_on_commit_callbacks,
):
    from django.core.cache import cache

    from products.selectors import CATEGORY_TREE_CACHE_KEY, CategoryTree, category_tree

    with django_capture_on_commit_callbacks(execute=True):  # one transaction, then commit
        category = CategoryFactory(name="Lamps", slug="lamps")
        category.name = "Lights"
        category.save()
        # Another request reads the tree before this transaction commits: the old rows.
        old = CategoryTree.build([(category.pk, "Lamps", "lamps", None)])
        cache.set(CATEGORY_TREE_CACHE_KEY, old)
    assert category_tree().get(slug="lamps").name == "Lights"


# ------------------------------------------------------------------------------
# Who never gets a cached page
# ------------------------------------------------------------------------------
def test_a_signed_in_user_never_gets_a_cached_page(kettle, client):
    guest_get(LIST_URL)
    assert status(guest_get(LIST_URL)) == "hit"
    user = UserFactory(username="margot")
    client.force_login(user)
    response = client.get(LIST_URL)
    assert status(response) == "bypass"
    assert "margot" in response.text
    assert "Sign in" not in response.text.split("<main", 1)[0]  # the navbar
    # ...and what they saw was not stored for guests.
    assert "margot" not in guest_get(LIST_URL).text


def test_a_guest_with_a_cart_sees_their_count_and_never_a_cached_page(kettle, client):
    guest_get(LIST_URL)
    client.post(reverse("carts:add", args=[kettle.pk]), {"quantity": 2})
    response = client.get(LIST_URL)
    assert status(response) == "bypass"
    assert re.search(r'data-testid="cart-count">2<', response.text)
    assert re.search(r'data-testid="cart-count">0<', guest_get(LIST_URL).text)


def test_flash_messages_are_never_cached(kettle, client):
    client.post(reverse("carts:add", args=[kettle.pk]), {"quantity": 1}, follow=False)
    shown = client.get(LIST_URL)
    assert "Added Copper kettle to your cart" in shown.text
    later = guest_get(LIST_URL)
    assert "Added Copper kettle" not in later.text
    assert status(guest_get(LIST_URL)) == "hit"
    assert "Added Copper kettle" not in guest_get(LIST_URL).text


def test_a_guest_with_another_cookie_is_served_uncached(kettle):
    guest_get(LIST_URL)
    visitor = Client()
    visitor.cookies["messages"] = "anything"
    assert status(visitor.get(LIST_URL)) == "bypass"


def test_staff_preview_of_an_inactive_product_is_not_shared(kettle, client):
    kettle.is_active = False
    kettle.save()
    url = kettle.get_absolute_url()
    client.force_login(StaffFactory())
    assert client.get(url).status_code == HTTPStatus.OK
    assert guest_get(url).status_code == HTTPStatus.NOT_FOUND
    assert guest_get(url).status_code == HTTPStatus.NOT_FOUND


def test_a_cached_page_is_not_served_once_the_store_requires_sign_in(kettle, settings):
    guest_get(LIST_URL)
    settings.STORE_REQUIRE_LOGIN_TO_BROWSE = True
    response = guest_get(LIST_URL)
    assert response.status_code == HTTPStatus.FOUND
    assert reverse("accounts:login") in response["Location"]


def test_the_page_cache_can_be_switched_off(kettle, settings):
    settings.CATALOGUE_PAGE_CACHE_SECONDS = 0
    guest_get(LIST_URL)
    assert status(guest_get(LIST_URL)) == "bypass"


# ------------------------------------------------------------------------------
# CSRF on cached pages
# ------------------------------------------------------------------------------
def test_add_to_cart_from_a_cache_served_page_passes_the_csrf_check(kettle):
    Client().get(LIST_URL)  # fills the cache
    visitor = Client(enforce_csrf_checks=True)
    page = visitor.get(LIST_URL)
    assert status(page) == "hit"
    token = TOKEN.search(page.text).group(1)
    assert "csrftoken" in visitor.cookies
    response = visitor.post(
        reverse("carts:add", args=[kettle.pk]),
        {"quantity": 1, "csrfmiddlewaretoken": token, "next": LIST_URL},
    )
    assert response.status_code == HTTPStatus.FOUND
    assert visitor.get(reverse("carts:detail")).text.count('data-testid="cart-line"') == 1


def test_two_visitors_of_a_cached_page_get_their_own_tokens(kettle):
    Client().get(LIST_URL)
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    page_1, page_2 = first.get(LIST_URL), second.get(LIST_URL)
    assert status(page_1) == status(page_2) == "hit"
    assert first.cookies["csrftoken"].value != second.cookies["csrftoken"].value
    token_1 = TOKEN.search(page_1.text).group(1)
    assert token_1 != TOKEN.search(page_2.text).group(1)
    # One visitor's token is refused with the other's cookie.
    response = second.post(
        reverse("carts:add", args=[kettle.pk]), {"quantity": 1, "csrfmiddlewaretoken": token_1}
    )
    assert response.status_code == HTTPStatus.FORBIDDEN


def test_no_token_of_the_first_visitor_is_stored(kettle):
    from django.core.cache import cache

    from products.catalogue_cache import page_cache_key

    first = guest_get(LIST_URL)
    token = TOKEN.search(first.text).group(1)

    class Request:
        scheme = "http"
        user = AnonymousUser()

        def get_host(self):
            return "testserver"

        def get_full_path(self):
            return LIST_URL

    stored = cache.get(page_cache_key(Request()))
    assert token.encode() not in stored["body"]
    assert stored["placeholder"].encode() in stored["body"]


# ------------------------------------------------------------------------------
# Bad input behaves as before, cached or not
# ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "query, expected",
    [
        ("?min_price=abc", "Enter a price such as 10 or 9.99."),
        ("?sort=nonsense", "Choose one of the listed orders."),
        ("?category=nowhere", "There is no such category."),
    ],
)
def test_bad_filters_answer_200_with_the_error_and_are_never_stored(kettle, query, expected):
    from django.core.cache import cache

    guest_get(LIST_URL)  # the catalogue version and the plain list are stored
    stored = len(cache._cache)
    first, second = guest_get(LIST_URL + query), guest_get(LIST_URL + query)
    assert first.status_code == second.status_code == HTTPStatus.OK
    assert status(first) == status(second) == "bypass"
    assert expected in first.text
    assert expected in second.text
    # Each distinct wrong value would otherwise be one more page in the cache.
    assert len(cache._cache) <= stored + 2  # at most the count and ids of the filtered list


def _stored_pages() -> int:
    from django.core.cache import cache

    return sum(":products:page:" in key for key in cache._cache)


@pytest.mark.parametrize(
    "query, target",
    [
        ("?page=abc", LIST_URL),
        ("?page=0", LIST_URL),
        ("?page=-1", LIST_URL),
        ("?page=1.5", LIST_URL),
        ("?page=02", LIST_URL + "?page=2"),
        ("?page=999", LIST_URL + "?page=2"),
        ("?page=999999999999999999999", LIST_URL + "?page=2"),
        ("?page=" + "9" * 5000, LIST_URL + "?page=2"),
        ("?q=mug&page=abc", LIST_URL + "?q=mug"),
        ("?q=mug&page=77", LIST_URL + "?q=mug&page=2"),
    ],
)
def test_an_invalid_or_out_of_range_page_redirects_and_stores_no_page(settings, query, target):
    settings.PRODUCTS_PER_PAGE = 24
    for n in range(30):
        ProductFactory(name=f"Mug {n:02d}")
    guest_get(LIST_URL)
    guest_get(LIST_URL + "?q=mug")
    before = _stored_pages()
    assert before == 2

    for _ in range(3):
        response = guest_get(LIST_URL + query)
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"] == target
    assert _stored_pages() == before  # no new entry for a page that is not one

    landed = guest_get(target)
    assert landed.status_code == HTTPStatus.OK
    assert "Mug" in landed.text


def test_a_hundred_made_up_page_numbers_store_nothing(kettle):
    """The attack behind issue 16.1: random `page=` values each stored a ~40 KB page."""
    guest_get(LIST_URL)
    before = _stored_pages()
    for n in range(100):
        assert guest_get(f"{LIST_URL}?page=x{n}").status_code == HTTPStatus.FOUND
        assert guest_get(f"{LIST_URL}?page={n + 2}").status_code == HTTPStatus.FOUND
    assert _stored_pages() == before


# ------------------------------------------------------------------------------
# Cached counts, for everybody
# ------------------------------------------------------------------------------
def test_signed_in_pages_reuse_the_count_until_the_catalogue_changes(
    kettle, client, django_assert_max_num_queries
):
    client.force_login(UserFactory())
    client.get(LIST_URL)
    with django_assert_max_num_queries(10) as captured:
        client.get(LIST_URL)
    assert not any("COUNT(" in q["sql"] for q in captured.captured_queries)
    ProductFactory(name="Second kettle", category=kettle.category)
    assert "2 products" in client.get(LIST_URL).text


def card_names(page: str) -> list[str]:
    return re.findall(r"stretched-link[^>]*>([^<]+)</a>", page)


def test_a_cached_result_page_keeps_its_order_and_shows_changes(
    client, settings, django_assert_max_num_queries
):
    settings.PRODUCTS_PER_PAGE = 24
    category = CategoryFactory(name="Mugs")
    for n in range(30):
        ProductFactory(name=f"Mug {n:02d}", price=f"{n + 1}.00", category=category)
    client.force_login(UserFactory())
    url = LIST_URL + "?q=mug&sort=-price&page=2"
    first = card_names(client.get(url).text)
    with django_assert_max_num_queries(10) as captured:
        # The same filters under another URL (so not the cached grid of the first one).
        second = card_names(client.get(url + "&utm_source=mail").text)
    # The page's products are loaded by id, not searched, sorted and sliced again.
    products_sql = [q["sql"] for q in captured.captured_queries if "products_product" in q["sql"]]
    assert any('"products_product"."id" IN' in sql for sql in products_sql)
    assert not any("OFFSET" in sql for sql in products_sql)
    assert second == ["Mug 05", "Mug 04", "Mug 03", "Mug 02", "Mug 01", "Mug 00"]
    assert first == second
    ProductFactory(name="Mug 99", price="0.50", category=category)
    assert card_names(client.get(url).text)[-1] == "Mug 99"


# ------------------------------------------------------------------------------
# The product grid, cached for signed-in shoppers too
# ------------------------------------------------------------------------------
@pytest.mark.parametrize("page", ["home", "list", "search", "category"])
def test_a_signed_in_shopper_gets_the_grid_from_the_cache_with_their_own_token(
    kettle, page, django_assert_max_num_queries
):
    url = pages(kettle)[page]
    someone = Client()
    someone.force_login(UserFactory(username="first"))
    someone.get(url)  # builds and stores the grid
    shopper = Client(enforce_csrf_checks=True)
    shopper.force_login(UserFactory(username="second"))
    with django_assert_max_num_queries(10) as captured:
        response = shopper.get(url)
    assert status(response) == "bypass"  # the page itself is built for them...
    assert not any("products_product" in q["sql"] for q in captured.captured_queries)
    assert "Copper kettle" in response.text  # ...around the stored grid
    assert ">second<" in response.text and ">first<" not in response.text
    token = TOKEN.findall(response.text)[-1]  # the grid's add-to-cart form
    added = shopper.post(
        reverse("carts:add", args=[kettle.pk]), {"quantity": 1, "csrfmiddlewaretoken": token}
    )
    assert added.status_code == HTTPStatus.FOUND


def test_a_stored_grid_shows_changes_and_keeps_the_next_of_its_own_url(kettle, client):
    client.force_login(UserFactory())
    client.get(LIST_URL + "?sort=price")
    kettle.price = Decimal("31.00")
    kettle.save()
    page = client.get(LIST_URL + "?sort=price").text
    assert "31.00" in page
    other = client.get(LIST_URL + "?sort=name").text
    assert f'name="next" value="/products/?sort=name#product-{kettle.pk}"' in other


# ------------------------------------------------------------------------------
# What visitors cannot do to the cache
# ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        LIST_URL + "?utm_source=mail",
        LIST_URL + "?q=kettle&q=lamp",
        reverse("products:home") + "?x=1",
    ],
)
def test_made_up_query_parameters_are_built_every_time_and_never_stored(kettle, url):
    from django.core.cache import cache

    for _ in range(2):
        response = guest_get(url)
        assert response.status_code == HTTPStatus.OK
        assert status(response) == "bypass"
    stored = [key for key in cache._cache if ":products:page:" in key]  # locmem in tests
    assert stored == []


def test_the_filters_and_page_number_are_cached(kettle):
    url = LIST_URL + "?q=kettle&min_price=1&max_price=99&in_stock=on&sort=price&page=1"
    guest_get(url)
    assert status(guest_get(url)) == "hit"


def test_a_stored_pages_placeholder_cannot_be_searched_for_to_leak_a_token(kettle, rf):
    from django.core.cache import cache

    from products.catalogue_cache import page_cache_key

    guest_get(LIST_URL)
    stored = cache.get(page_cache_key(rf.get(LIST_URL)))
    url = LIST_URL + "?q=" + stored["placeholder"]
    guest_get(url)
    second = guest_get(url)
    assert status(second) == "hit"
    # The search box shows what was typed: no visitor's token was written into it.
    assert f'value="{stored["placeholder"]}"' in second.text


def test_a_lost_version_bump_is_logged(settings, caplog):
    import logging

    from myecommerce.tests.conftest import free_port
    from products.catalogue_cache import catalogue_version_bump

    dead = f"redis://127.0.0.1:{free_port(8300, 8399)}/0"
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": dead,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.3, "IGNORE_EXCEPTIONS": True},
        }
    }
    with caplog.at_level(logging.ERROR, logger="products.catalogue_cache"):
        catalogue_version_bump()  # no error for the caller
    assert "Could not bump the catalogue version" in caplog.text
