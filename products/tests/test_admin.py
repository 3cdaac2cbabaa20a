import csv
import io
from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import StaffFactory
from products.models import Product, StockMovement
from products.tests.factories import (
    CategoryFactory,
    ProductFactory,
    ProductImageFactory,
    change_form_data,
)

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:products_product_changelist")


def changelist_form_data(products, changes=None):
    """The POST of the changelist's editable columns, with `changes` {pk: {field: value}}.

    `initial-…-stock` is the stock the page showed: only a stock the user changed is written.
    """
    data = {
        "form-TOTAL_FORMS": str(len(products)),
        "form-INITIAL_FORMS": str(len(products)),
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for i, product in enumerate(products):
        values = {"id": product.pk, "price": product.price, "stock": product.stock}
        values.update((changes or {}).get(product.pk, {}))
        for name, value in values.items():
            data[f"form-{i}-{name}"] = str(value)
        data[f"initial-form-{i}-stock"] = str(product.stock)
    return data


# ------------------------------------------------------------------------------
# Pages load
# ------------------------------------------------------------------------------
def test_product_changelist_and_forms_load(staff_client):
    product = ProductFactory(name="Kettle", stock=3)
    ProductImageFactory(product=product)

    response = staff_client.get(CHANGELIST)
    assert response.status_code == HTTPStatus.OK
    assert b"Kettle" in response.content
    assert b"<img" in response.content  # the thumbnail
    assert b"Low" in response.content  # 3 is below the threshold of 5

    change = staff_client.get(reverse("admin:products_product_change", args=[product.pk]))
    assert change.status_code == HTTPStatus.OK
    assert staff_client.get(reverse("admin:products_product_add")).status_code == HTTPStatus.OK


def test_product_admin_columns_and_fields_use_classes_not_style_attributes(staff_client):
    # The Content-Security-Policy refuses style="" attributes: marks and widths are classes.
    out = ProductFactory(name="Empty kettle", stock=0)
    ProductFactory(name="Low kettle", stock=2)
    ProductImageFactory(product=out)
    page = staff_client.get(CHANGELIST).content.decode()
    assert '<strong class="mark-bad">Out</strong>' in page
    assert '<strong class="mark-warn">Low</strong>' in page
    assert 'class="admin-thumb"' in page
    assert "admin-number" in page  # the list-editable price and stock boxes
    change = staff_client.get(reverse("admin:products_product_change", args=[out.pk]))
    assert "admin-number" in change.content.decode()
    for html in (page, change.content.decode()):
        assert 'style="color' not in html
        assert 'style="width: 7em"' not in html
        assert 'style="object-fit' not in html


def test_category_changelist_shows_parent_and_product_counts(staff_client):
    parent = CategoryFactory(name="Kitchen")
    child = CategoryFactory(name="Kettles", parent=parent)
    ProductFactory.create_batch(3, category=child)

    response = staff_client.get(reverse("admin:products_category_changelist"))

    assert response.status_code == HTTPStatus.OK
    rows = {c.name: c.product_count for c in response.context["cl"].result_list}
    assert rows == {"Kitchen": 0, "Kettles": 3}
    change = reverse("admin:products_category_change", args=[child.pk])
    assert staff_client.get(change).status_code == HTTPStatus.OK


def test_stock_movement_list_is_read_only(staff_client, staff):
    product = ProductFactory(stock=1)
    StockMovement.objects.create(
        product=product, change=1, reason="restock", resulting_stock=1, created_by=staff
    )
    url = reverse("admin:products_stockmovement_changelist")

    response = staff_client.get(url, {"reason__exact": "restock"})

    assert response.status_code == HTTPStatus.OK
    assert len(response.context["cl"].result_list) == 1
    assert staff_client.get(url, {"q": product.sku}).status_code == HTTPStatus.OK
    add = staff_client.get(reverse("admin:products_stockmovement_add"))
    assert add.status_code == HTTPStatus.FORBIDDEN
    movement = StockMovement.objects.get()
    change = staff_client.get(reverse("admin:products_stockmovement_change", args=[movement.pk]))
    assert change.status_code == HTTPStatus.OK
    assert b'name="_save"' not in change.content


@pytest.mark.parametrize(
    "url",
    [
        reverse("admin:products_product_changelist"),
        reverse("admin:products_category_changelist"),
        reverse("admin:products_stockmovement_changelist"),
    ],
)
def test_changelists_run_a_fixed_number_of_queries(client, superuser, url):
    client.force_login(superuser)

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == HTTPStatus.OK
        return len(queries)

    def make(n):
        for product in ProductFactory.create_batch(n, stock=n % 7):
            ProductImageFactory(product=product)
            StockMovement.objects.create(
                product=product, change=1, reason="restock", resulting_stock=1, created_by=superuser
            )

    make(5)
    few = count_queries()
    make(95)
    many = count_queries()
    assert many == few
    assert few <= 15


def test_product_changelist_budget_with_100_rows(client, superuser, django_assert_max_num_queries):
    ProductFactory.create_batch(100)
    client.force_login(superuser)
    with django_assert_max_num_queries(15):
        client.get(CHANGELIST)


# ------------------------------------------------------------------------------
# Filters
# ------------------------------------------------------------------------------
def test_stock_filters(staff_client, settings):
    settings.LOW_STOCK_THRESHOLD = 5
    ProductFactory(name="Empty", stock=0)
    ProductFactory(name="Few", stock=5)
    ProductFactory(name="Plenty", stock=6)

    def names(**params):
        response = staff_client.get(CHANGELIST, params)
        return sorted(p.name for p in response.context["cl"].result_list)

    assert names(low_stock="yes") == ["Few"]
    assert names(in_stock="no") == ["Empty"]
    assert names(in_stock="yes") == ["Few", "Plenty"]


# ------------------------------------------------------------------------------
# Stock changes go through the stock service
# ------------------------------------------------------------------------------
def test_list_edit_of_stock_records_a_movement_by_the_staff_user(staff_client, staff):
    edited, untouched = ProductFactory(stock=10, price="5.00"), ProductFactory(stock=4)
    data = changelist_form_data([edited, untouched], {edited.pk: {"stock": 25, "price": "6.50"}})

    response = staff_client.post(CHANGELIST, data)

    assert response.status_code == HTTPStatus.FOUND
    edited.refresh_from_db()
    assert (edited.stock, str(edited.price)) == (25, "6.50")
    movement = StockMovement.objects.get()
    assert (movement.product, movement.change, movement.resulting_stock) == (edited, 15, 25)
    assert movement.reason == StockMovement.Reason.ADMIN_EDIT
    assert movement.created_by == staff
    untouched.refresh_from_db()
    assert untouched.stock == 4


def test_list_edit_of_price_only_records_no_movement(staff_client):
    product = ProductFactory(stock=10, price="5.00")
    data = changelist_form_data([product], {product.pk: {"price": "7.00"}})

    staff_client.post(CHANGELIST, data)

    product.refresh_from_db()
    assert str(product.price) == "7.00"
    assert not StockMovement.objects.exists()


def test_change_form_stock_edit_records_a_movement(staff_client, staff):
    product = ProductFactory(stock=10)
    url = reverse("admin:products_product_change", args=[product.pk])

    response = staff_client.post(url, change_form_data(product, stock=3, name="Renamed"))

    assert response.status_code == HTTPStatus.FOUND, response.context["adminform"].form.errors
    product.refresh_from_db()
    assert (product.name, product.stock) == ("Renamed", 3)
    movement = StockMovement.objects.get()
    assert (movement.change, movement.created_by) == (-7, staff)


def test_change_form_save_does_not_overwrite_stock_taken_meanwhile(staff_client):
    product = ProductFactory(stock=10)
    url = reverse("admin:products_product_change", args=[product.pk])
    data = change_form_data(product, name="Renamed")
    Product.objects.filter(pk=product.pk).update(stock=8)  # an order placed meanwhile

    staff_client.post(url, data)

    product.refresh_from_db()
    assert (product.name, product.stock) == ("Renamed", 8)
    assert not StockMovement.objects.exists()


def test_adding_a_product_records_its_initial_stock(staff_client, staff):
    category = CategoryFactory()
    data = change_form_data(
        Product(name="New", slug="new", sku="NEW-1", category=category, price="1.00", stock=12),
    )

    response = staff_client.post(reverse("admin:products_product_add"), data)

    assert response.status_code == HTTPStatus.FOUND
    product = Product.objects.get(sku="NEW-1")
    assert product.stock == 12
    movement = StockMovement.objects.get()
    assert (movement.change, movement.reason, movement.created_by) == (
        12,
        StockMovement.Reason.INITIAL,
        staff,
    )


# ------------------------------------------------------------------------------
# Restock action
# ------------------------------------------------------------------------------
def test_restock_asks_for_a_quantity_then_adds_it(staff_client, staff):
    a, b = ProductFactory(stock=0), ProductFactory(stock=2)
    selection = {"action": "restock", "_selected_action": [a.pk, b.pk], "index": 0}

    page = staff_client.post(CHANGELIST, selection)

    assert page.status_code == HTTPStatus.OK
    assert b'name="quantity"' in page.content
    assert not StockMovement.objects.exists()

    done = staff_client.post(CHANGELIST, {**selection, "apply": "1", "quantity": "5"}, follow=True)

    assert "Added 5 to the stock of 2 products." in [str(m) for m in done.context["messages"]]
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.stock, b.stock) == (5, 7)
    movements = StockMovement.objects.filter(reason=StockMovement.Reason.RESTOCK)
    assert sorted(m.change for m in movements) == [5, 5]
    assert {m.created_by for m in movements} == {staff}


@pytest.mark.parametrize("quantity", ["0", "-3", "many"])
def test_restock_refuses_a_bad_quantity(staff_client, quantity):
    product = ProductFactory(stock=2)
    data = {"action": "restock", "_selected_action": [product.pk], "apply": "1"}
    data["quantity"] = quantity

    response = staff_client.post(CHANGELIST, data)

    assert response.status_code == HTTPStatus.OK
    assert response.context["form"].errors["quantity"]
    product.refresh_from_db()
    assert product.stock == 2
    assert not StockMovement.objects.exists()


# ------------------------------------------------------------------------------
# CSV import and export
# ------------------------------------------------------------------------------
def export_csv(client) -> str:
    fields = ["sku", "name", "slug", "category", "price", "stock", "is_active", "description"]
    data = {"format": "0", **{f"productresource_{f}": "on" for f in fields}}
    response = client.post(reverse("admin:products_product_export"), data)
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("text/csv")
    return response.content.decode()


def upload(client, text: str):
    file = io.BytesIO(text.encode())
    file.name = "products.csv"
    return client.post(
        reverse("admin:products_product_import"), {"format": "0", "import_file": file}
    )


def confirm(client, preview):
    form = preview.context["confirm_form"]
    data = {name: form[name].value() for name in form.fields}
    return client.post(reverse("admin:products_product_process_import"), data, follow=True)


def test_export_then_import_round_trip_records_stock_movements(staff_client, staff):
    category = CategoryFactory(slug="kettles")
    kept = ProductFactory(sku="K-1", name="Kettle", category=category, stock=4, price="9.99")
    ProductFactory(sku="K-2", name="Teapot", category=category, stock=1)
    rows = list(csv.DictReader(io.StringIO(export_csv(staff_client))))
    assert {r["sku"]: r["stock"] for r in rows} == {"K-1": "4", "K-2": "1"}
    assert rows[0]["category"] == "kettles"

    rows[0]["stock"] = "40"  # K-1 restocked
    rows.append({**rows[1], "sku": "K-3", "name": "Mug", "slug": "mug", "stock": "7"})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)

    preview = upload(staff_client, out.getvalue())

    assert preview.status_code == HTTPStatus.OK
    assert preview.context["confirm_form"] is not None
    assert not preview.context["result"].has_errors()
    kept.refresh_from_db()
    assert kept.stock == 4  # a preview changes nothing
    assert not Product.objects.filter(sku="K-3").exists()
    assert not StockMovement.objects.exists()

    done = confirm(staff_client, preview)

    assert done.status_code == HTTPStatus.OK
    kept.refresh_from_db()
    assert kept.stock == 40
    new = Product.objects.get(sku="K-3")
    assert (new.stock, new.category) == (7, category)
    movements = StockMovement.objects.order_by("product__sku")
    assert [(m.product.sku, m.change) for m in movements] == [("K-1", 36), ("K-3", 7)]
    assert {m.reason for m in movements} == {StockMovement.Reason.IMPORT}
    assert {m.created_by for m in movements} == {staff}


def test_import_with_a_bad_row_reports_it_and_imports_nothing(staff_client):
    CategoryFactory(slug="kettles")
    ProductFactory(sku="K-1", stock=4)
    text = (
        "sku,name,slug,category,price,stock,is_active,description\n"
        "K-1,Kettle,kettle,kettles,9.99,50,1,fine\n"
        "K-9,Broken,broken,no-such-category,9.99,5,1,\n"
        "K-8,Negative,negative,kettles,9.99,-2,1,\n"
    )

    preview = upload(staff_client, text)

    assert preview.status_code == HTTPStatus.OK
    result = preview.context["result"]
    assert result.has_validation_errors() or result.has_errors()
    assert sorted(row.number for row in result.invalid_rows) == [2, 3]
    assert "confirm_form" not in preview.context
    assert b"no-such-category" in preview.content
    assert Product.objects.get(sku="K-1").stock == 4
    assert not Product.objects.filter(sku__in=["K-8", "K-9"]).exists()
    assert not StockMovement.objects.exists()


# ------------------------------------------------------------------------------
# Permissions
# ------------------------------------------------------------------------------
def test_store_manager_manages_the_catalogue_but_not_users(client, manager):
    client.force_login(manager)
    assert client.get(CHANGELIST).status_code == HTTPStatus.OK
    assert client.get(reverse("admin:products_product_import")).status_code == HTTPStatus.OK
    assert client.get(reverse("admin:orders_order_changelist")).status_code == HTTPStatus.OK
    users = client.get(reverse("admin:accounts_user_changelist"))
    assert users.status_code == HTTPStatus.FORBIDDEN
    index = client.get(reverse("admin:index"))
    assert b"accounts/user/" not in index.content


def test_staff_without_permissions_cannot_import(client):
    client.force_login(StaffFactory())
    assert client.get(reverse("admin:products_product_import")).status_code == HTTPStatus.FORBIDDEN


def test_importing_unchanged_rows_records_no_movement(staff_client):
    ProductFactory(sku="K-1", stock=4)
    preview = upload(staff_client, export_csv(staff_client))

    assert preview.context["confirm_form"] is not None
    confirm(staff_client, preview)

    assert Product.objects.get(sku="K-1").stock == 4
    assert not StockMovement.objects.exists()


def test_restock_of_all_matching_products_across_pages(staff_client):
    ProductFactory.create_batch(3, stock=1, category=CategoryFactory(slug="mugs"))
    other = ProductFactory(stock=1)
    mugs = Product.objects.filter(category__slug="mugs")
    url = f"{CHANGELIST}?category__id__exact={mugs[0].category_id}"
    data = {
        "action": "restock",
        "_selected_action": [mugs[0].pk],
        "select_across": "1",
        "index": 0,
        "apply": "1",
        "quantity": "2",
    }

    staff_client.post(url, data)

    assert sorted(mugs.values_list("stock", flat=True)) == [3, 3, 3]
    other.refresh_from_db()
    assert other.stock == 1
