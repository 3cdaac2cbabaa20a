"""Reads over orders that span relations or aggregate (the admin dashboard uses these)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from myecommerce.money import money

from .models import Order

# Orders whose money the shop has: revenue. Pending orders are not paid yet (they may never
# be), so they are counted apart; cancelled ones not at all.
REVENUE_STATUSES = (Order.Status.PAID, Order.Status.SHIPPED, Order.Status.DELIVERED)


@dataclass(frozen=True)
class DaySales:
    day: date
    revenue: Decimal  # paid, shipped and delivered orders
    orders: int
    pending: Decimal = Decimal("0.00")  # orders still awaiting payment
    pending_orders: int = 0


def sales_by_day(*, days: int = 30, today: date | None = None) -> list[DaySales]:
    """Revenue and order count for each of the last `days` days (today included).

    Revenue is paid, shipped and delivered orders; pending ones are summed apart; cancelled
    orders are left out. Days without orders are present with zeros. Days are calendar days
    in the current time zone.
    """
    tz = timezone.get_current_timezone()
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    since = timezone.make_aware(datetime.combine(first, time.min), tz)
    until = timezone.make_aware(datetime.combine(today + timedelta(days=1), time.min), tz)
    rows = (
        Order.objects.exclude(status=Order.Status.CANCELLED)
        .filter(created_at__gte=since, created_at__lt=until)
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day")
        .annotate(
            revenue=Sum("total", filter=Q(status__in=REVENUE_STATUSES)),
            orders=Count("pk", filter=Q(status__in=REVENUE_STATUSES)),
            pending=Sum("total", filter=Q(status=Order.Status.PENDING)),
            pending_orders=Count("pk", filter=Q(status=Order.Status.PENDING)),
        )
        .order_by("day")
    )
    found = {row["day"]: row for row in rows}
    result = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        row = found.get(day)
        result.append(
            DaySales(
                day=day,
                # SQLite sums decimals as floats: round back to cents.
                revenue=money(Decimal((row and row["revenue"]) or 0)),
                orders=row["orders"] if row else 0,
                pending=money(Decimal((row and row["pending"]) or 0)),
                pending_orders=row["pending_orders"] if row else 0,
            )
        )
    return result


def order_counts_by_status() -> list[tuple[str, str, int]]:
    """(status, label, count) for every status, in the order of the workflow."""
    counts = dict(Order.objects.order_by().values_list("status").annotate(n=Count("pk")))
    return [(value, label, counts.get(value, 0)) for value, label in Order.Status.choices]


def orders_newest(*, limit: int = 10) -> QuerySet[Order]:
    return Order.objects.order_by("-created_at", "-pk")[:limit]
