from http import HTTPStatus
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.urls import reverse

from accounts.tests.factories import StaffFactory, UserFactory
from products.tests.factories import CategoryFactory, ProductFactory, ProductImageFactory

pytestmark = pytest.mark.django_db

LIST_URL = reverse("products:list")


def html(response) -> str:
    return response.content.decode()


@pytest.fixture
def categories():
    """A three-level tree: Home > Kitchen > Cookware, plus Books."""
    home = CategoryFactory(name="Home")
    kitchen = CategoryFactory(name="Kitchen", parent=home)
    cookware = CategoryFactory(name="Cookware", parent=kitchen)
    books = CategoryFactory(name="Books")
    return {"home": home, "kitchen": kitchen, "cookware": cookware, "books": books}


def fill_catalogue(categories, count: int):
    """`count` products spread over the tree, two images each."""
    leaves = [categories["cookware"], categories["kitchen"], categories["books"]]
    products = []
    for n in range(count):
        product = ProductFactory(name=f"Item {n:03d}", category=leaves[n % 3], stock=n % 7)
        ProductImageFactory.create_batch(2, product=product)
        products.append(product)
    return products


# ------------------------------------------------------------------------------
# Home
# ------------------------------------------------------------------------------
def test_home_shows_categories_and_the_newest_products(client, categories):
    ProductFactory(name="Old kettle")
    ProductFactory(name="New kettle")
    ProductFactory(name="Hidden kettle", is_active=False)
    page = html(client.get(reverse("products:home")))
    assert categories["home"].get_absolute_url() in page
    assert categories["kitchen"].get_absolute_url() in page  # children shown under a root
    assert page.index("New kettle") < page.index("Old kettle")
    assert "Hidden kettle" not in page


# ------------------------------------------------------------------------------
# List and category pages
# ------------------------------------------------------------------------------
def test_list_shows_24_products_a_page_with_links_that_keep_the_filters(client, categories):
    for n in range(30):
        ProductFactory(name=f"Mug {n:02d}", category=categories["cookware"], price="5.00")
    params = {"q": "mug", "category": "home", "min_price": "1", "sort": "name"}
    response = client.get(LIST_URL, params)
    assert response.status_code == HTTPStatus.OK
    assert len(response.context["products"]) == 24
    assert response.context["paginator"].count == 30
    assert f'href="?{urlencode(params).replace("&", "&amp;")}&amp;page=2"' in html(response)
    second = client.get(LIST_URL, {**params, "page": "2"})
    assert [p.name for p in second.context["products"]] == [f"Mug {n}" for n in range(24, 30)]


def test_list_filters_by_category_including_sub_categories(client, categories):
    ProductFactory(name="Frying pan", category=categories["cookware"])
    ProductFactory(name="Novel", category=categories["books"])
    response = client.get(LIST_URL, {"category": "home"})
    assert [p.name for p in response.context["products"]] == ["Frying pan"]


def test_category_page_lists_products_of_its_sub_categories(client, categories):
    ProductFactory(name="Frying pan", category=categories["cookware"])
    ProductFactory(name="Novel", category=categories["books"])
    response = client.get(categories["home"].get_absolute_url())
    assert response.status_code == HTTPStatus.OK
    assert [p.name for p in response.context["products"]] == ["Frying pan"]
    page = html(response)
    assert "Kitchen" in page  # sub-category links
    assert 'aria-current="page">Home' in page


def test_category_page_filters_within_the_category(client, categories):
    ProductFactory(name="Cheap pan", price="5.00", category=categories["cookware"])
    ProductFactory(name="Dear pan", price="50.00", category=categories["cookware"])
    ProductFactory(name="Dear book", price="50.00", category=categories["books"])
    response = client.get(categories["kitchen"].get_absolute_url(), {"min_price": "10"})
    assert [p.name for p in response.context["products"]] == ["Dear pan"]


def test_unknown_category_is_404_on_its_page_and_a_form_error_on_the_list(client):
    ProductFactory(name="Anything")
    assert client.get(reverse("products:category", args=["nope"])).status_code == 404
    response = client.get(LIST_URL, {"category": "nope"})
    assert response.status_code == HTTPStatus.OK
    assert [p.name for p in response.context["products"]] == ["Anything"]
    assert "There is no such category." in html(response)


def test_search_sort_and_stock_filters_on_the_list(client):
    ProductFactory(name="Blue kettle", price="30.00", stock=0)
    ProductFactory(name="Red kettle", price="20.00", stock=2)
    ProductFactory(name="Lamp", price="10.00")
    response = client.get(LIST_URL, {"q": "kettle", "sort": "price"})
    assert [p.name for p in response.context["products"]] == ["Red kettle", "Blue kettle"]
    response = client.get(LIST_URL, {"q": "kettle", "in_stock": "1"})
    assert [p.name for p in response.context["products"]] == ["Red kettle"]
    assert "Results for" in html(response)


@pytest.mark.parametrize(
    "params",
    [
        {"min_price": "abc"},
        {"max_price": "1e999"},
        {"min_price": "-5"},
        {"sort": "DROP TABLE"},
        {"in_stock": "maybe"},
        {"q": "x" * 5000},
        {"q": "%_'\"\\"},
        {"q": "a\x00b"},
        {"category": "../../etc"},
    ],
)
def test_bad_input_never_fails(client, params):
    ProductFactory.create_batch(3)
    response = client.get(LIST_URL, params)
    assert response.status_code == HTTPStatus.OK


@pytest.mark.postgres
def test_a_search_with_a_typo_falls_back_to_close_matches(client, django_assert_max_num_queries):
    ProductFactory(name="Wireless Headphones")
    ProductFactory(name="Desk Lamp")
    with django_assert_max_num_queries(6):
        response = client.get(LIST_URL, {"q": "wireles headphnes"})
    assert [p.name for p in response.context["products"]] == ["Wireless Headphones"]
    assert "showing close matches" in html(response)
    response = client.get(LIST_URL, {"q": "headphones"})
    assert "showing close matches" not in html(response)


@pytest.mark.parametrize("page", ["abc", "-1", "0", "1.5", "99999", "9" * 5000, "²"])
def test_a_bad_page_number_redirects_to_a_page_that_exists(client, page):
    ProductFactory.create_batch(30)
    response = client.get(LIST_URL, {"q": "", "page": page}, follow=True)
    assert response.redirect_chain and response.redirect_chain[0][1] == HTTPStatus.FOUND
    assert response.status_code == HTTPStatus.OK
    number = response.context["page_obj"].number
    assert number == (2 if page in ("99999", "9" * 5000) else 1)
    assert response.redirect_chain[-1][0] == (
        f"{LIST_URL}?q=&page=2" if number == 2 else f"{LIST_URL}?q="
    )


def test_invalid_filters_are_shown_as_errors_and_ignored(client):
    ProductFactory(name="Kettle", price="10.00")
    response = client.get(LIST_URL, {"min_price": "abc", "q": "kettle"})
    assert [p.name for p in response.context["products"]] == ["Kettle"]
    assert "Enter a price such as 10 or 9.99." in html(response)


def test_empty_results_say_so(client):
    response = client.get(LIST_URL, {"q": "no such thing"})
    assert "No products match" in html(response)


def test_list_cards_use_thumbnails_never_the_originals(client):
    image = ProductImageFactory()
    ProductFactory(name="No picture")
    page = html(client.get(LIST_URL))
    assert image.thumbnail_list.url in page
    assert image.image.url not in page
    assert "/static/img/placeholder.svg" in page
    assert reverse("carts:add", args=[image.product.pk]) in page


# ------------------------------------------------------------------------------
# Detail page
# ------------------------------------------------------------------------------
def test_detail_shows_images_price_badge_breadcrumb_and_buttons(client, categories, settings):
    settings.STORE_CURRENCY = "EUR"
    product = ProductFactory(
        name="Steel pan", price="24.50", stock=20, category=categories["cookware"]
    )
    first = ProductImageFactory(product=product, position=0, alt_text="The pan from above")
    ProductImageFactory(product=product, position=1)
    response = client.get(product.get_absolute_url())
    assert response.status_code == HTTPStatus.OK
    page = html(response)
    assert "24.50" in page and "EUR" in page
    assert "In stock" in page
    assert first.thumbnail_detail.url in page
    assert 'alt="The pan from above"' in page
    crumbs = [node.name for node in response.context["breadcrumb"]]
    assert crumbs == ["Home", "Kitchen", "Cookware"]
    for category in categories["home"], categories["kitchen"], categories["cookware"]:
        assert category.get_absolute_url() in page
    assert 'name="quantity"' in page
    assert reverse("carts:add", args=[product.pk]) in page
    assert 'data-testid="wishlist-sign-in"' in page


@pytest.mark.parametrize(
    ("stock", "badge"),
    [(0, "Out of stock"), (1, "Only 1 left"), (5, "Only 5 left"), (6, "In stock")],
)
def test_stock_badge(client, settings, stock, badge):
    settings.LOW_STOCK_THRESHOLD = 5
    product = ProductFactory(stock=stock)
    assert badge in html(client.get(product.get_absolute_url()))


def test_detail_without_images_shows_the_placeholder(client):
    product = ProductFactory()
    assert "/static/img/placeholder.svg" in html(client.get(product.get_absolute_url()))


def test_inactive_product_is_404_to_shoppers_but_staff_may_preview_it(client):
    product = ProductFactory(is_active=False)
    assert client.get(product.get_absolute_url()).status_code == HTTPStatus.NOT_FOUND
    client.force_login(UserFactory())
    assert client.get(product.get_absolute_url()).status_code == HTTPStatus.NOT_FOUND
    client.force_login(StaffFactory())
    response = client.get(product.get_absolute_url())
    assert response.status_code == HTTPStatus.OK
    assert "only staff can see this page" in html(response)


def test_unknown_product_is_404(client):
    response = client.get(reverse("products:detail", args=["no-such-product"]))
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "Page not found" in html(response)


# ------------------------------------------------------------------------------
# Sign-in to browse
# ------------------------------------------------------------------------------
def catalogue_urls():
    category = CategoryFactory(name="Books")
    product = ProductFactory(category=category)
    return [
        reverse("products:home"),
        LIST_URL + "?q=book",
        category.get_absolute_url(),
        product.get_absolute_url(),
    ]


def test_catalogue_requires_sign_in_when_the_store_says_so(client, settings):
    settings.STORE_REQUIRE_LOGIN_TO_BROWSE = True
    urls = catalogue_urls()
    for url in urls:
        response = client.get(url)
        assert response.status_code == HTTPStatus.FOUND
        target = urlsplit(response.url)
        assert target.path == reverse("accounts:login")
        assert parse_qs(target.query) == {"next": [url]}
    client.force_login(UserFactory())
    for url in urls:
        assert client.get(url).status_code == HTTPStatus.OK


def test_catalogue_is_open_by_default(client, settings):
    settings.STORE_REQUIRE_LOGIN_TO_BROWSE = False
    for url in catalogue_urls():
        assert client.get(url).status_code == HTTPStatus.OK


# ------------------------------------------------------------------------------
# Query budgets: the same number of queries for 3 products as for 30
# ------------------------------------------------------------------------------
PAGE_BUDGET = 6


def page_urls(categories, products):
    return {
        "home": reverse("products:home"),
        "list": LIST_URL,
        "search": LIST_URL + "?q=item&category=home&min_price=1&in_stock=1&sort=price",
        "category": categories["home"].get_absolute_url(),
        "detail": products[0].get_absolute_url(),
    }


def count_queries(client, url, django_assert_max_num_queries) -> int:
    with django_assert_max_num_queries(PAGE_BUDGET) as captured:
        response = client.get(url)
    assert response.status_code == HTTPStatus.OK
    return len(captured.captured_queries)


@pytest.mark.parametrize("page", ["home", "list", "search", "category", "detail"])
@pytest.mark.parametrize("signed_in", [False, True], ids=["guest", "user"])
def test_catalogue_pages_run_a_fixed_number_of_queries(
    client, categories, django_assert_max_num_queries, page, signed_in, settings
):
    # What building the page costs: a guest's page would otherwise come from the page cache.
    settings.CATALOGUE_PAGE_CACHE_SECONDS = 0
    if signed_in:
        client.force_login(UserFactory())
    small = fill_catalogue(categories, 3)
    url = page_urls(categories, small)[page]
    client.get(url)  # warm the category-tree cache and the session, as in real use
    few = count_queries(client, url, django_assert_max_num_queries)
    fill_catalogue(categories, 30)
    client.get(url)  # the change made the cached tree and counts stale: warm them again
    many = count_queries(client, url, django_assert_max_num_queries)
    assert few == many


def test_a_cold_cache_costs_the_tree_and_the_count(
    client, categories, django_assert_max_num_queries, settings
):
    settings.CATALOGUE_PAGE_CACHE_SECONDS = 0
    fill_catalogue(categories, 30)
    with django_assert_max_num_queries(PAGE_BUDGET) as cold:
        client.get(LIST_URL)
    with django_assert_max_num_queries(PAGE_BUDGET) as warm:
        client.get(LIST_URL)
    cold_sql = [q["sql"] for q in cold.captured_queries]
    assert len(cold_sql) == len(warm.captured_queries) + 2
    assert any("COUNT(" in sql for sql in cold_sql)
    assert not any("COUNT(" in q["sql"] for q in warm.captured_queries)


@pytest.mark.django_db
def test_a_signed_in_product_page_loads_its_images_once(client, django_assert_num_queries):
    product = ProductFactory(stock=5)
    for position in range(3):
        ProductImageFactory(product=product, position=position)
    client.force_login(UserFactory())
    client.get(product.get_absolute_url())  # the session user's first load is not counted
    # The session user, the product, its images, the cart's quantities, the wishlist.
    with django_assert_num_queries(5):
        response = client.get(product.get_absolute_url())
    assert response.status_code == HTTPStatus.OK
    assert len(response.context["images"]) == 3
