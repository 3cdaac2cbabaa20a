import json
import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from orders import services
from orders.models import Order
from orders.tests.factories import OrderFactory, OrderItemFactory
from products.models import Product
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def unpaid_transfer(*, days: int, stock: int = 3) -> Order:
    """A pending bank-transfer order placed `days` ago, holding 2 of a product (stock after)."""
    order = OrderFactory(
        payment_method=Order.PaymentMethod.BANK_TRANSFER,
        created_at=timezone.now() - timedelta(days=days),
    )
    OrderItemFactory(order=order, product=ProductFactory(stock=stock), quantity=2)
    return order


def run() -> str:
    out = StringIO()
    call_command("orders_expire", stdout=out)
    return out.getvalue()


def test_orders_expire_cancels_overdue_transfers_and_says_which(
    django_capture_on_commit_callbacks, mailoutbox
):
    overdue, recent = unpaid_transfer(days=8), unpaid_transfer(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        output = run()
    assert (
        output == f"Cancelled 1 bank-transfer order(s) unpaid after 7 day(s): {overdue.number}.\n"
    )
    assert Order.objects.get(pk=overdue.pk).status == Order.Status.CANCELLED
    assert Order.objects.get(pk=recent.pk).status == Order.Status.PENDING
    product = overdue.items.get().product
    assert Product.objects.get(pk=product.pk).stock == 5
    assert len(mailoutbox) == 1

    assert run() == "Cancelled 0 bank-transfer order(s) unpaid after 7 day(s).\n"


def test_orders_expire_fails_loudly_naming_orders_it_could_not_expire(monkeypatch):
    broken = unpaid_transfer(days=8)

    def adjust(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "product_stock_adjust", adjust)
    with pytest.raises(CommandError, match=f"Could not expire {broken.number}."):
        run()
    assert Order.objects.get(pk=broken.pk).status == Order.Status.PENDING


def test_the_limits_are_read_from_the_environment_and_zero_is_refused():
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps([settings.ORDER_MAX_QUANTITY_PER_LINE, "
        "settings.ORDER_MAX_UNPAID_PER_CUSTOMER, settings.BANK_TRANSFER_TIMEOUT_DAYS]))"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ORDER_", "BANK_"))},
        "DJANGO_SETTINGS_MODULE": "myecommerce.settings",
        "SECRET_KEY": "k" * 50,
    }

    def run_with(**values: str) -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603 - this interpreter, our own code
            [sys.executable, "-c", code],
            cwd=settings.BASE_DIR,
            env={**env, **values},
            capture_output=True,
            text=True,
            timeout=60,
        )

    done = run_with()
    assert json.loads(done.stdout.splitlines()[-1]) == [10, 3, 7], done.stderr
    done = run_with(ORDER_MAX_QUANTITY_PER_LINE="2", BANK_TRANSFER_TIMEOUT_DAYS="14")
    assert json.loads(done.stdout.splitlines()[-1]) == [2, 3, 14], done.stderr
    refused = run_with(BANK_TRANSFER_TIMEOUT_DAYS="0")
    assert refused.returncode != 0
    assert "BANK_TRANSFER_TIMEOUT_DAYS must be at least 1" in refused.stderr
