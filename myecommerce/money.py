"""Money: `Decimal` end to end, rounded in one place (carts, orders and the dashboard use it)."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    """The one place money is rounded: to whole cents, half-up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
