"""The admin site itself: titles and the dashboard on the index page."""

from datetime import datetime, time, timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import StaffFactory
from myecommerce.admin import CHART_HEIGHT, CHART_TOP, sales_chart
from orders.models import Order
from orders.selectors import DaySales, sales_by_day
from orders.tests.factories import OrderFactory
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")


def days_ago(n: int) -> datetime:
    """Noon, `n` days before today in the current time zone."""
    day = timezone.localdate() - timedelta(days=n)
    return timezone.make_aware(datetime.combine(day, time(12)))


@pytest.fixture
def sales():
    """Over the last 30 days: revenue 31.00 in 3 paid/shipped/delivered orders, 5.50 pending."""
    OrderFactory(created_at=days_ago(0), total="10.00", status=Order.Status.PAID)
    OrderFactory(created_at=days_ago(0), total="5.50")
    OrderFactory(created_at=days_ago(3), total="20.00", status=Order.Status.DELIVERED)
    OrderFactory(created_at=days_ago(29), total="1.00", status=Order.Status.SHIPPED)
    OrderFactory(created_at=days_ago(0), total="100.00", status=Order.Status.CANCELLED)
    OrderFactory(created_at=days_ago(30), total="1000.00", status=Order.Status.PAID)


def test_titles_say_myecommerce_admin(staff_client):
    response = staff_client.get(INDEX)
    assert response.status_code == HTTPStatus.OK
    assert b"myecommerce admin" in response.content
    assert response.context["site_header"] == "myecommerce admin"


def test_dashboard_sales_match_the_orders(staff_client, sales):
    response = staff_client.get(INDEX)

    assert response.status_code == HTTPStatus.OK
    context = response.context
    # Revenue counts paid, shipped and delivered orders; the unpaid pending one is apart.
    assert context["sales_total"] == Decimal("31.00")
    assert context["sales_orders"] == 3
    assert (context["pending_total"], context["pending_orders"]) == (Decimal("5.50"), 1)
    days = context["sales_by_day"]
    assert len(days) == 30
    assert days[-1] == DaySales(
        day=timezone.localdate(),
        revenue=Decimal("10.00"),
        orders=1,
        pending=Decimal("5.50"),
        pending_orders=1,
    )
    assert days[-4].revenue == Decimal("20.00")
    assert days[0].revenue == Decimal("1.00")
    assert sum(1 for d in days if d.orders) == 3
    content = response.content.decode()
    assert '<strong id="sales-total">31.00 USD</strong>' in content
    assert '<strong id="sales-orders">3</strong>' in content
    assert '<strong id="sales-pending">5.50 USD</strong>' in content
    assert content.count('class="bar"') == 30


def test_dashboard_figures_have_thousands_separators(staff_client):
    OrderFactory(created_at=days_ago(1), total="1418.45", status=Order.Status.PAID)
    OrderFactory(created_at=days_ago(1), total="2500.00", status=Order.Status.PENDING)

    content = staff_client.get(INDEX).content.decode()

    assert '<strong id="sales-total">1,418.45 USD</strong>' in content
    assert '<strong id="sales-pending">2,500.00 USD</strong>' in content
    assert "1,418.45 USD" in content.split('id="dashboard-newest"')[1]  # the newest orders
    assert "1,418.45 USD, 1 order" in content  # the bar's tooltip


def test_dashboard_chart_has_a_legend_and_axis_titles(staff_client, sales):
    content = staff_client.get(INDEX).content.decode()

    assert 'id="sales-chart-legend"' in content
    assert "Revenue per day in USD (bars, left axis)" in content
    assert "Paid orders per day (line, right axis)" in content
    assert ">Revenue (USD)</text>" in content
    assert ">Paid orders</text>" in content
    assert ">Day (order date)</text>" in content


def test_dashboard_counts_orders_by_status(staff_client, sales):
    response = staff_client.get(INDEX)

    counts = {value: count for value, _label, count in response.context["orders_by_status"]}
    assert counts == {"pending": 1, "paid": 2, "shipped": 1, "delivered": 1, "cancelled": 1}


def test_dashboard_lists_newest_orders_and_low_stock_products_with_links(staff_client, settings):
    settings.LOW_STOCK_THRESHOLD = 5
    empty = ProductFactory(name="Empty", stock=0)
    few = ProductFactory(name="Few", stock=5)
    ProductFactory(name="Plenty", stock=6)
    ProductFactory(name="Hidden", stock=1, is_active=False)
    old = OrderFactory(created_at=days_ago(2))
    new = OrderFactory(created_at=days_ago(0))

    response = staff_client.get(INDEX)

    assert [p.name for p in response.context["low_stock"]] == ["Empty", "Few"]
    content = response.content.decode()
    for product in (empty, few):
        assert reverse("admin:products_product_change", args=[product.pk]) in content
    assert [o.pk for o in response.context["newest_orders"]] == [new.pk, old.pk]
    assert reverse("admin:orders_order_change", args=[new.pk]) in content


def test_dashboard_chart_is_inline_svg_without_scripts(staff_client, sales):
    content = staff_client.get(INDEX).content.decode()
    assert "<svg" in content
    assert "<script" not in content.split('id="dashboard-sales"')[1].split("</svg>")[0]


def test_staff_without_permissions_see_no_shop_figures(client):
    client.force_login(StaffFactory())
    response = client.get(INDEX)
    assert response.status_code == HTTPStatus.OK
    assert "sales_chart" not in response.context
    assert "low_stock" not in response.context


def test_sales_by_day_fills_missing_days_with_zeros():
    days = sales_by_day(days=7)
    assert [d.day for d in days] == [
        timezone.localdate() - timedelta(days=n) for n in range(6, -1, -1)
    ]
    assert all(d.revenue == 0 and d.orders == 0 for d in days)


def test_sales_chart_geometry():
    today = timezone.localdate()
    days = [
        DaySales(day=today - timedelta(days=2), revenue=Decimal("0"), orders=0),
        DaySales(day=today - timedelta(days=1), revenue=Decimal("50"), orders=1),
        DaySales(day=today, revenue=Decimal("100"), orders=2),
    ]

    chart = sales_chart(days, currency="USD")

    bars = chart["bars"]
    assert [b.height for b in bars][0] == 0
    assert bars[2].height == pytest.approx(2 * bars[1].height)
    assert bars[2].y == pytest.approx(CHART_TOP)  # 100 is the axis maximum
    assert all(b.y + b.height == pytest.approx(chart["baseline"]) for b in bars)
    assert chart["baseline"] < CHART_HEIGHT
    assert [g["left"].text for g in chart["gridlines"]] == ["0", "20", "40", "60", "80", "100"]
    assert [g["right"].text for g in chart["gridlines"]] == ["0", "1", "2", "3", "4", "5"]
    assert chart["x_labels"][-1].text == today.strftime("%b %-d")
    # Date labels sit under the plot, the axis title under them: they never overlap.
    title = chart["titles"]["bottom"]
    assert all(chart["baseline"] < label.y < title.y - 11 for label in chart["x_labels"])
    assert title.y <= CHART_HEIGHT


def test_sales_chart_with_no_sales_draws_flat_bars():
    today = timezone.localdate()
    chart = sales_chart([DaySales(day=today, revenue=Decimal("0"), orders=0)], currency="USD")
    assert chart["bars"][0].height == 0
