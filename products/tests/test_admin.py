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


def test_restock_form_uses_the_admin_form_layout_and_one_button_size(staff_client):
    product = ProductFactory(stock=2)
    selection = {"action": "restock", "_selected_action": [product.pk], "index": 0}

    content = staff_client.post(CHANGELIST, selection).content.decode()

    # The admin's form styles, so labels and fields line up as on a change form.
    assert "admin/css/forms.css" in content
    assert '<fieldset class="module aligned">' in content
    for name in ("quantity", "note"):
        assert f'<div class="form-row field-{name}">' in content
        assert f'<div class="flex-container"><label for="id_{name}"' in content
    assert 'class="vIntegerField"' in content and 'class="vTextField"' in content
    # The help text sits under the field and is tied to it.
    assert '<div class="help" id="id_quantity_helptext">' in content
    assert 'aria-describedby="id_quantity_helptext"' in content
    # Both buttons are sized by one rule (static/css/admin.css .restock-buttons).
    buttons = content.split('<div class="submit-row restock-buttons">')[1].split("</div>")[0]
    assert 'type="submit"' in buttons and 'class="button cancel-link"' in buttons


def test_product_images_are_stacked_not_a_table(staff_client):
    product = ProductFactory()
    ProductImageFactory(product=product)

    content = staff_client.get(
        reverse("admin:products_product_change", args=[product.pk])
    ).content.decode()

    images = content.split('id="images-group"')[1].split('id="images-empty"')[0]
    assert "inline-related" in images
    assert "<table" not in images  # a table of inputs was cut off on a phone
    assert 'name="images-0-alt_text"' in images


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


# ------------------------------------------------------------------------------
# CSV import: problems in words, a template file, a preview without inline styles
# ------------------------------------------------------------------------------
HEADER = "sku,name,slug,category,price,stock,is_active,description\n"


@pytest.fixture
def kettles():
    return CategoryFactory(slug="kettles")


def test_import_says_what_is_wrong_per_row_and_column_for_every_row(staff_client):
    CategoryFactory(slug="kettles")
    text = HEADER + (
        "K-1,Kettle,kettle,kettles,9.99,5,1,fine\n"
        "K-2,Teapot,teapot,kettles,abc,5,1,\n"
        "K-3,Mug,mug,no-such-category,4.50,2.5,maybe,\n"
    )

    preview = upload(staff_client, text)

    assert preview.status_code == HTTPStatus.OK
    assert "confirm_form" not in preview.context
    problems = preview.context["import_problems"]
    assert problems == [
        "Row 2, price: “abc” is not a number.",
        "Row 3, category: No category with the slug “no-such-category”.",
        "Row 3, stock: “2.5” is not a whole number.",
        "Row 3, is_active: “maybe” is not 1 or 0 (yes or no).",
    ]
    content = preview.content.decode()
    for problem in problems:  # shown as text on the page, not only on hover
        assert problem in content
    assert "ConversionSyntax" not in content
    assert "Line number" not in content
    assert not Product.objects.exists()


def test_import_says_which_required_cells_are_empty(staff_client):
    preview = upload(staff_client, HEADER + "K-1,Kettle,kettle,,,,,\n")

    assert preview.context["import_problems"] == [
        "Row 1, category: Empty: write the slug of a category.",
        "Row 1, price: Empty: write a price such as 49.99.",
        "Row 1, stock: Stock is required.",
        "Row 1, is_active: Empty: write 1 (on sale) or 0 (hidden).",
    ]


def test_import_page_offers_a_template_csv_that_imports(staff_client):
    CategoryFactory(slug="kettles")
    page = staff_client.get(reverse("admin:products_product_import"))
    url = reverse("admin:products_product_import_template")
    assert url.encode() in page.content

    response = staff_client.get(url)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["sku", "name", "slug", "category", "price", "stock", "is_active",
                       "description"]  # fmt: skip
    assert len(rows) == 2
    assert rows[1][3] == "kettles"  # an existing category's slug
    preview = upload(staff_client, response.content.decode())
    assert preview.context["confirm_form"] is not None  # the example row is valid


def test_import_template_needs_the_import_permission(client):
    client.force_login(StaffFactory())
    response = client.get(reverse("admin:products_product_import_template"))
    assert response.status_code == HTTPStatus.FORBIDDEN


def test_import_preview_shows_old_and_new_values_with_classes_not_styles(staff_client):
    CategoryFactory(slug="kettles")
    ProductFactory(sku="K-1", name="Kettle", slug="kettle", price="49.99", stock=4,
                   category=CategoryFactory(slug="pots"))  # fmt: skip
    text = HEADER + "K-1,Kettle,kettle,pots,44.99,4,1,\nK-2,Mug,mug,kettles,3.00,1,1,\n"
    product = Product.objects.get()
    product.description = ""
    product.save()

    preview = upload(staff_client, text)

    assert preview.context["confirm_form"] is not None
    content = preview.content.decode()
    assert "style=" not in content
    assert (
        '<del class="import-old">49.99</del> <span class="import-arrow">→</span> '
        '<ins class="import-new">44.99</ins>'
    ) in content
    assert '<ins class="import-new">Mug</ins>' in content  # a new row's values


# ------------------------------------------------------------------------------
# CSV import: the file between preview and confirmation (issue 16.6)
# ------------------------------------------------------------------------------
def test_the_confirmation_form_carries_a_signed_name_not_a_path(staff_client, kettles):
    import tempfile

    preview = upload(staff_client, HEADER + "K-1,Kettle,kettle,kettles,9.99,5,1,\n")
    name = preview.context["confirm_form"]["import_file_name"].value()
    assert tempfile.gettempdir() not in name
    assert "/" not in name
    assert tempfile.gettempdir() not in preview.content.decode()


@pytest.mark.parametrize(
    "forged",
    [
        "../../{victim}",
        "{victim_path}",
        "{victim}",
        "0123456789abcdef0123456789abcdef",  # well-formed, but not signed by the storage
        "0123456789abcdef0123456789abcdef:forgedsignature",
    ],
)
def test_a_forged_import_file_name_is_refused_and_no_file_is_read_or_deleted(
    staff_client, kettles, forged
):
    import tempfile
    from pathlib import Path

    victim = Path(tempfile.mkstemp(suffix=".csv")[1])
    victim.write_text(HEADER + "X-1,Stolen,stolen,kettles,1.00,1,1,\n")
    try:
        data = {
            "import_file_name": forged.format(victim=victim.name, victim_path=victim),
            "original_file_name": "products.csv",
            "format": "0",
            "resource": "",
        }
        response = staff_client.post(
            reverse("admin:products_product_process_import"), data, follow=True
        )

        assert response.status_code == HTTPStatus.OK
        assert response.redirect_chain[-1][0] == reverse("admin:products_product_import")
        messages = [str(m) for m in response.context["messages"]]
        assert messages == ["This is not a file uploaded for import here. Upload the file again."]
        assert victim.exists()  # not deleted
        assert not Product.objects.exists()  # not read
    finally:
        victim.unlink(missing_ok=True)


def test_a_confirmation_after_the_file_expired_says_so(staff_client, kettles):
    from django.core.cache import cache

    preview = upload(staff_client, HEADER + "K-1,Kettle,kettle,kettles,9.99,5,1,\n")
    cache.clear()

    done = confirm(staff_client, preview)

    assert done.status_code == HTTPStatus.OK
    assert "no longer kept" in [str(m) for m in done.context["messages"]][0]
    assert not Product.objects.exists()


def test_a_confirmed_file_is_forgotten(staff_client, kettles):
    preview = upload(staff_client, HEADER + "K-1,Kettle,kettle,kettles,9.99,5,1,\n")
    confirm(staff_client, preview)
    assert Product.objects.filter(sku="K-1").exists()

    again = confirm(staff_client, preview)  # the same name a second time

    assert "no longer kept" in [str(m) for m in again.context["messages"]][0]


# ------------------------------------------------------------------------------
# CSV export: no formulae (issue 16.8)
# ------------------------------------------------------------------------------
def test_export_escapes_cells_that_spreadsheets_would_run_as_formulae(staff_client):
    ProductFactory(sku="F-1", name='=HYPERLINK("http://evil.example","x")', description="+1")
    ProductFactory(sku="F-2", name="@SUM(A1)", description="-2\tx")
    ProductFactory(sku="F-3", name="\tTab", description="\rCR")
    ProductFactory(sku="F-4", name="Plain = fine", description="")

    rows = {r["sku"]: r for r in csv.DictReader(io.StringIO(export_csv(staff_client)))}

    assert rows["F-1"]["name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert rows["F-1"]["description"] == "'+1"
    assert rows["F-2"]["name"] == "'@SUM(A1)"
    assert rows["F-2"]["description"] == "'-2\tx"
    assert rows["F-3"]["name"] == "'\tTab"
    assert rows["F-3"]["description"] == "'\rCR"
    assert rows["F-4"]["name"] == "Plain = fine"
    assert rows["F-1"]["price"][0].isdigit()


def test_an_escaped_export_imports_back_unchanged(staff_client):
    ProductFactory(sku="F-1", name="=1+1", description="-dash")
    preview = upload(staff_client, export_csv(staff_client))
    confirm(staff_client, preview)
    product = Product.objects.get(sku="F-1")
    assert (product.name, product.description) == ("=1+1", "-dash")
