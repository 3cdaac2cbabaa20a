"""The admin site: Django's own, with the index page turned into the shop's dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib import admin
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from orders.selectors import DaySales, order_counts_by_status, orders_newest, sales_by_day
from products.selectors import low_stock_products

DASHBOARD_DAYS = 30

# Chart geometry, in SVG user units (the SVG scales to its container's width).
CHART_WIDTH = 760
CHART_HEIGHT = 240
CHART_LEFT = 76  # room for the revenue axis labels and its title
CHART_RIGHT = 52  # room for the order-count axis labels and its title
CHART_TOP = 12
CHART_BOTTOM = 44  # room for the date labels and the axis title
# Five steps: every 1/2/2.5/5 × 10ⁿ maximum from 5 up divides into whole numbers.
CHART_GRIDLINES = 5


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # the tooltip


@dataclass(frozen=True)
class AxisLabel:
    x: float
    y: float
    text: str


def _nice_ceiling(value: Decimal | int) -> Decimal:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at or above `value` (at least 1): tidy axis maxima."""
    value = Decimal(value)
    if value <= 1:
        return Decimal(1)
    magnitude = Decimal(10) ** (len(str(int(value))) - 1)
    for step in (1, 2, Decimal("2.5"), 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover


def _axis_number(number: Decimal) -> str:
    """12,500 for whole numbers, 0.625 otherwise."""
    if number == number.to_integral_value():
        return f"{int(number):,}"
    return f"{number.normalize():f}"


def sales_chart(days: list[DaySales], *, currency: str) -> dict:
    """Every coordinate of the sales chart, so the template only prints numbers.

    Bars are revenue (left axis); dots joined by a line are the number of orders (right axis).
    """
    plot_w = CHART_WIDTH - CHART_LEFT - CHART_RIGHT
    plot_h = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    baseline = CHART_TOP + plot_h
    slot = plot_w / max(len(days), 1)
    bar_w = round(slot * 0.7, 2)
    max_revenue = _nice_ceiling(max((d.revenue for d in days), default=0))
    max_orders = max(
        _nice_ceiling(max((d.orders for d in days), default=0)), Decimal(CHART_GRIDLINES)
    )

    bars, points, x_labels = [], [], []
    for i, d in enumerate(days):
        height = round(float(d.revenue / max_revenue) * plot_h, 2)
        x = round(CHART_LEFT + i * slot + (slot - bar_w) / 2, 2)
        label = ngettext(
            "%(day)s: %(revenue)s %(currency)s, %(count)d order",
            "%(day)s: %(revenue)s %(currency)s, %(count)d orders",
            d.orders,
        ) % {
            "day": date_format(d.day, "M j"),
            "revenue": f"{d.revenue:,}",
            "currency": currency,
            "count": d.orders,
        }
        top = round(baseline - height, 2)
        bars.append(Bar(x=x, y=top, width=bar_w, height=height, label=label))
        cx = round(CHART_LEFT + i * slot + slot / 2, 2)
        cy = round(baseline - float(Decimal(d.orders) / max_orders) * plot_h, 2)
        points.append(AxisLabel(x=cx, y=cy, text=label))
        # A date under every 5th day counted back from today, so today is always labelled.
        if (len(days) - 1 - i) % 5 == 0:
            x_labels.append(AxisLabel(x=cx, y=baseline + 16, text=date_format(d.day, "M j")))

    gridlines = []
    for step in range(CHART_GRIDLINES + 1):
        y = round(baseline - plot_h * step / CHART_GRIDLINES, 2)
        revenue = _axis_number(max_revenue * step / CHART_GRIDLINES)
        orders = _axis_number(max_orders * step / CHART_GRIDLINES)
        gridlines.append(
            {
                "y": y,
                "left": AxisLabel(x=CHART_LEFT - 6, y=y + 4, text=revenue),
                "right": AxisLabel(x=CHART_WIDTH - CHART_RIGHT + 6, y=y + 4, text=orders),
            }
        )
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "right": CHART_WIDTH - CHART_RIGHT,
        "baseline": baseline,
        "bars": bars,
        "points": points,
        "polyline": " ".join(f"{p.x},{p.y}" for p in points),
        "gridlines": gridlines,
        "x_labels": x_labels,
        "currency": currency,
        # Axis titles: the left and right ones turned to run along their axes.
        "titles": {
            "left": AxisLabel(x=14, y=CHART_TOP + plot_h / 2, text=_("Revenue (%s)") % currency),
            "right": AxisLabel(x=CHART_WIDTH - 8, y=CHART_TOP + plot_h / 2, text=_("Paid orders")),
            "bottom": AxisLabel(
                x=CHART_LEFT + plot_w / 2, y=CHART_HEIGHT - 4, text=_("Day (order date)")
            ),
        },
    }


class ShopAdminSite(admin.AdminSite):
    site_header = _("myecommerce admin")
    site_title = _("myecommerce admin")
    index_title = _("Dashboard")

    def index(self, request, extra_context=None):
        return super().index(request, {**self.dashboard_context(request), **(extra_context or {})})

    def dashboard_context(self, request) -> dict:
        """Each panel only for staff who may see what it shows."""
        user = request.user
        context: dict = {"dashboard": True}
        if user.has_perm("orders.view_order"):
            days = sales_by_day(days=DASHBOARD_DAYS)
            context.update(
                sales_days=DASHBOARD_DAYS,
                # Revenue is paid, shipped and delivered orders; pending ones are shown apart.
                sales_total=sum((d.revenue for d in days), Decimal("0.00")),
                sales_orders=sum(d.orders for d in days),
                pending_total=sum((d.pending for d in days), Decimal("0.00")),
                pending_orders=sum(d.pending_orders for d in days),
                sales_chart=sales_chart(days, currency=settings.STORE_CURRENCY),
                sales_by_day=days,
                orders_by_status=order_counts_by_status(),
                newest_orders=list(orders_newest(limit=10)),
            )
        if user.has_perm("products.view_product"):
            context.update(
                low_stock=list(low_stock_products(limit=20)),
                low_stock_threshold=settings.LOW_STOCK_THRESHOLD,
            )
        return context
