"""Writes of the orders app: placing an order, changing its status, cancelling it.

Modelled on django-oscar's `OrderCreator.place_order`: refuse an empty basket, do every write
in one transaction, take stock rows in product-id order so concurrent checkouts cannot
deadlock, change stock with one conditional UPDATE per line, copy names and prices into the
order lines, and send mail only after commit.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from carts.selectors import cart_for, cart_lines_for_checkout
from carts.services import cart_check_line, cart_remove_products
from mailer.models import Message
from mailer.services import email_dispatch
from myecommerce.money import money
from products.models import Product, StockMovement
from products.services import InsufficientStock, product_stock_adjust

from .models import Order, OrderItem, OrderStatusChange

logger = logging.getLogger(__name__)


# Where each status may go next. Cancelling gives the stock back (see order_set_status).
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    Order.Status.PENDING: frozenset({Order.Status.PAID, Order.Status.CANCELLED}),
    Order.Status.PAID: frozenset({Order.Status.SHIPPED, Order.Status.CANCELLED}),
    Order.Status.SHIPPED: frozenset({Order.Status.DELIVERED}),
    Order.Status.DELIVERED: frozenset(),
    Order.Status.CANCELLED: frozenset(),
}


@dataclass(frozen=True)
class Address:
    """A postal address as entered at checkout; copied field by field into the order."""

    full_name: str
    address_line1: str
    city: str
    postal_code: str
    country: str
    address_line2: str = ""
    phone: str = ""


class OrderAlreadyPlaced(Exception):
    """The checkout token was already used: the form was submitted twice.

    Carries the order the first submit placed, so the caller can send the shopper there.
    """

    def __init__(self, order: Order):
        super().__init__(f"Order {order.number} was already placed with this checkout token.")
        self.order = order


# The checkout form's one-time token lives in the session until an order consumes it. It stays
# the same across reloads and tabs, so any number of submits of any copy of the form make one
# order: this module alone issues, checks and consumes it.
CHECKOUT_TOKEN_SESSION_KEY = "orders_checkout_token"  # noqa: S105 (a key name)


def checkout_token_for(*, session: SessionBase) -> str:
    """The checkout form's token for this session, made on first use."""
    token = session.get(CHECKOUT_TOKEN_SESSION_KEY)
    if not token:
        token = session[CHECKOUT_TOKEN_SESSION_KEY] = uuid.uuid4().hex
    return token


# ------------------------------------------------------------------------------
# Placing an order
# ------------------------------------------------------------------------------
def order_place(
    *,
    user: User,
    shipping_address: Address,
    billing_address: Address | None = None,
    payment_method: str,
    checkout_token: str,
    session: SessionBase | None = None,
) -> Order:
    """Turn the user's cart into a pending order, all or nothing.

    Raises ValidationError (one message per problem line, naming it) when the cart is empty, a
    line is inactive or short or holds more than ORDER_MAX_QUANTITY_PER_LINE, or the customer
    already has ORDER_MAX_UNPAID_PER_CUSTOMER pending orders; then nothing has changed.
    Raises OrderAlreadyPlaced when an order was already placed with `checkout_token` (a double
    submit).
    `billing_address=None` means billing is the same as shipping.

    With the shopper's `session`, `checkout_token` must also be the one the session holds
    (`checkout_token_for`): a form whose token the session no longer holds is a second submit
    (OrderAlreadyPlaced) or a stale form (ValidationError, code ``bad_token``). The session
    gives up its token once the order is placed.
    """
    if payment_method not in Order.PaymentMethod.values:
        raise ValidationError(_("Choose a payment method."), code="invalid_payment_method")
    if not checkout_token:
        raise ValidationError(_("The checkout form has expired."), code="missing_token")
    try:
        if session is not None and checkout_token != session.get(CHECKOUT_TOKEN_SESSION_KEY):
            raise OrderAlreadyPlaced(_order_placed_before(user=user, checkout_token=checkout_token))
        order = _order_place(
            user=user,
            shipping=shipping_address,
            billing=billing_address or shipping_address,
            payment_method=payment_method,
            checkout_token=checkout_token,
        )
    except OrderAlreadyPlaced:
        if session is not None:
            session.pop(CHECKOUT_TOKEN_SESSION_KEY, None)
        raise
    except IntegrityError:
        # The unique checkout_token lost a race with a concurrent submit of the same form.
        existing = Order.objects.filter(checkout_token=checkout_token).first()
        if existing is None:
            raise
        if existing.user_id != user.pk:
            # Someone else's token: never say whose, never place an order with it.
            raise ValidationError(_("The checkout form has expired."), code="token_used") from None
        if session is not None:
            session.pop(CHECKOUT_TOKEN_SESSION_KEY, None)
        raise OrderAlreadyPlaced(existing) from None
    if session is not None:
        session.pop(CHECKOUT_TOKEN_SESSION_KEY, None)
    return order


def _order_for_token(*, user: User, checkout_token: str) -> Order | None:
    return Order.objects.filter(user=user, checkout_token=checkout_token).first()


def _order_placed_before(*, user: User, checkout_token: str) -> Order:
    """The order a token the session no longer holds placed, else ValidationError (a stale form).

    Waits for the customer's checkout in flight, if any (it holds their row until it commits),
    so a second submit racing the first still finds the first's order rather than an error.
    """
    with transaction.atomic():
        list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
        existing = _order_for_token(user=user, checkout_token=checkout_token)
    if existing is None:
        raise ValidationError(_("The checkout form has expired."), code="bad_token")
    return existing


@transaction.atomic
def _order_place(
    *,
    user: User,
    shipping: Address,
    billing: Address,
    payment_method: str,
    checkout_token: str,
) -> Order:
    # One checkout per customer at a time: the unpaid-order count below cannot be raced past
    # by submitting two carts at once. Taken before everything else, so the order is fixed.
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
    lines = cart_lines_for_checkout(user=user)  # (product id, quantity), in product-id order
    if not lines:
        # A second submit arriving after the first committed finds the cart already empty.
        if existing := _order_for_token(user=user, checkout_token=checkout_token):
            raise OrderAlreadyPlaced(existing)
        raise ValidationError(_("Your cart is empty."), code="empty_cart")

    # Lock the products in id order (a fixed order, so two checkouts cannot deadlock) and read
    # their current price, state and stock. SQLite ignores the lock; the conditional UPDATE in
    # product_stock_adjust below is the real guard there.
    locked = Product.objects.select_for_update().filter(pk__in=[pk for pk, _qty in lines])
    products = {product.pk: product for product in locked.order_by("pk")}
    # A concurrent submit of this very form may have committed while we waited for the locks.
    if existing := _order_for_token(user=user, checkout_token=checkout_token):
        raise OrderAlreadyPlaced(existing)

    _check_unpaid_limit(user)
    _check_lines(lines, products)

    subtotal = money(sum((products[pk].price * quantity for pk, quantity in lines), Decimal(0)))
    shipping_cost = Decimal("0.00")
    order = Order.objects.create(
        user=user,
        customer_name=user.get_full_name() or user.username,
        customer_email=user.email,
        status=Order.Status.PENDING,
        payment_method=payment_method,
        **_address_fields("shipping", shipping, with_phone=True),
        **_address_fields("billing", billing, with_phone=False),
        subtotal=subtotal,
        shipping_cost=shipping_cost,
        total=money(subtotal + shipping_cost),
        currency=settings.STORE_CURRENCY,
        checkout_token=checkout_token,
    )
    items = []
    for product_id, quantity in lines:  # already in product-id order
        product = products[product_id]
        try:
            product_stock_adjust(
                product_id=product.pk,
                change=-quantity,
                reason=StockMovement.Reason.ORDER_PLACED,
                by=user,
                note=_("Order %(number)s") % {"number": order.number},
            )
        except InsufficientStock:
            # Only reachable if the stock moved after the check above (never on PostgreSQL,
            # where the rows are locked); the atomic block undoes everything.
            raise ValidationError(
                _("“%(name)s”: not enough stock left.") % {"name": product.name},
                code="insufficient_stock",
            ) from None
        items.append(
            OrderItem(
                order=order,
                product=product,
                product_name=product.name,
                product_sku=product.sku,
                unit_price=product.price,
                quantity=quantity,
                line_total=money(product.price * quantity),
            )
        )
    OrderItem.objects.bulk_create(items)
    OrderStatusChange.objects.create(
        order=order, from_status="", to_status=Order.Status.PENDING, changed_by=user
    )
    cart_remove_products(cart=cart_for(user=user), product_ids=[pk for pk, _qty in lines])

    # Written to the outbox in this transaction; sent after commit (mailer).
    order_send_confirmation(order_id=order.pk)
    return order


def _check_lines(lines: list[tuple[int, int]], products: dict[int, Product]) -> None:
    """Refuse the whole cart if any line cannot be sold, naming every such line."""
    problems = []
    for product_id, quantity in lines:
        try:
            cart_check_line(product=products.get(product_id), quantity=quantity, checkout=True)
        except ValidationError as exc:
            problems.append(exc)
    if problems:
        raise ValidationError(problems)


def _check_unpaid_limit(user: User) -> None:
    """Refuse a new order while the customer has ORDER_MAX_UNPAID_PER_CUSTOMER pending ones.

    Every pending order holds stock; cash on delivery counts too (it is unpaid until delivery).
    """
    limit = settings.ORDER_MAX_UNPAID_PER_CUSTOMER
    unpaid = Order.objects.filter(user=user, status=Order.Status.PENDING).count()
    if unpaid >= limit:
        raise ValidationError(
            ngettext(
                "You already have %(count)d unpaid order: please pay for it or cancel it "
                "under “My orders” before placing another.",
                "You already have %(count)d unpaid orders, the most we allow: please pay for "
                "or cancel one under “My orders” before placing another.",
                unpaid,
            )
            % {"count": unpaid},
            code="too_many_unpaid",
        )


def _address_fields(prefix: str, address: Address, *, with_phone: bool) -> dict[str, str]:
    fields = {
        f"{prefix}_full_name": address.full_name,
        f"{prefix}_address_line1": address.address_line1,
        f"{prefix}_address_line2": address.address_line2,
        f"{prefix}_city": address.city,
        f"{prefix}_postal_code": address.postal_code,
        f"{prefix}_country": address.country,
    }
    if with_phone:
        fields[f"{prefix}_phone"] = address.phone
    return fields


# ------------------------------------------------------------------------------
# Status changes
# ------------------------------------------------------------------------------
def order_set_status(*, order: Order, to_status: str, by: User | None) -> Order:
    """Move an order to `to_status`, record it in the history and e-mail the customer.

    pending → paid → shipped → delivered, or cancelled from pending or paid (the stock goes
    back). Any other move raises ValidationError. The order row is locked first, so two
    concurrent cancels cannot both restock.
    """
    return _order_transition(order=order, to_status=to_status, by=by)


def order_cancel(*, order: Order, by: User) -> Order:
    """The customer's own cancel: only their order, only while it is pending; stock goes back."""
    if order.user_id != by.pk and not by.has_perm("orders.change_order"):
        raise PermissionDenied(_("You can only cancel your own orders."))
    return _order_transition(
        order=order,
        to_status=Order.Status.CANCELLED,
        by=by,
        only_from=frozenset({Order.Status.PENDING}),
    )


# ------------------------------------------------------------------------------
# Expiring unpaid bank transfers
# ------------------------------------------------------------------------------
def _overdue_transfers(*, now: datetime):
    cutoff = now - timedelta(days=settings.BANK_TRANSFER_TIMEOUT_DAYS)
    return Order.objects.filter(
        status=Order.Status.PENDING,
        payment_method=Order.PaymentMethod.BANK_TRANSFER,
        created_at__lte=cutoff,
    )


def order_expire(*, order: Order, now: datetime | None = None) -> bool:
    """Cancel a bank-transfer order still unpaid BANK_TRANSFER_TIMEOUT_DAYS after it was placed.

    Its stock goes back, the history records it (by no one: the shop did it) and the customer
    is told why. Returns False, changing nothing, when the order is not (or no longer) due:
    paid, cancelled, cash on delivery, or too recent. One transaction with the order row
    locked, so a payment marked at the same moment, or a second run, sees the result.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        due = locked.payment_due_at
        if locked.status != Order.Status.PENDING or due is None or due > now:
            return False
        _order_transition(order=order, to_status=Order.Status.CANCELLED, by=None, expired=True)
    return True


def order_expire_overdue(*, now: datetime | None = None) -> tuple[list[Order], list[Order]]:
    """Expire every overdue unpaid bank-transfer order (`manage.py orders_expire`, daily).

    Each order in its own transaction (see `order_expire`), so safe to run twice at once: an
    order is cancelled, restocked and mailed once. Returns (expired, failed): a failure is
    logged and leaves that order as it was, without stopping the others.
    """
    now = now or timezone.now()
    expired: list[Order] = []
    failed: list[Order] = []
    for order in _overdue_transfers(now=now).order_by("pk").only("pk", "number"):
        try:
            if order_expire(order=order, now=now):
                expired.append(order)
        except Exception:
            logger.exception("Could not expire unpaid order %s", order.number)
            failed.append(order)
    return expired, failed


@transaction.atomic
def _order_transition(
    *,
    order: Order,
    to_status: str,
    by: User | None,
    only_from: frozenset[str] | None = None,
    expired: bool = False,
) -> Order:
    # The status is read under the row lock: a concurrent change waits here, then sees ours.
    locked = Order.objects.select_for_update().get(pk=order.pk)
    from_status = locked.status
    if only_from is not None and from_status not in only_from:
        raise ValidationError(
            _("Order %(number)s can no longer be cancelled: it is %(status)s.")
            % {"number": locked.number, "status": Order.Status(from_status).label.lower()},
            code="not_pending",
        )
    if to_status not in ALLOWED_TRANSITIONS.get(from_status, ()):
        to_label = Order.Status(to_status).label if to_status in Order.Status.values else to_status
        raise ValidationError(
            _("Order %(number)s cannot go from “%(from)s” to “%(to)s”.")
            % {"number": locked.number, "from": Order.Status(from_status).label, "to": to_label},
            code="invalid_transition",
        )

    if to_status == Order.Status.CANCELLED:
        _restock(order=locked, by=by, expired=expired)

    locked.status = to_status
    locked.save(update_fields=["status", "updated_at"])
    OrderStatusChange.objects.create(
        order=locked, from_status=from_status, to_status=to_status, changed_by=by
    )
    # Written to the outbox in this transaction; sent after commit (mailer).
    order_send_status_email(order_id=locked.pk, from_status=from_status, expired=expired)
    # Keep the caller's instance true to the database.
    order.status, order.updated_at = locked.status, locked.updated_at
    return order


def _restock(*, order: Order, by: User | None, expired: bool = False) -> None:
    if expired:
        note = _("Order %(number)s cancelled: not paid in time") % {"number": order.number}
    else:
        note = _("Order %(number)s cancelled") % {"number": order.number}
    # Product-id order, as at checkout; lines whose product was deleted have nothing to restock.
    items = order.items.filter(product__isnull=False).order_by("product_id", "pk")
    for item in items:
        product_stock_adjust(
            product_id=item.product_id,
            change=item.quantity,
            reason=StockMovement.Reason.ORDER_CANCELLED,
            by=by,
            note=note,
        )


# ------------------------------------------------------------------------------
# E-mail: an outbox row in the order's transaction, sent after commit (a broken mail
# server never undoes an order, and a rolled-back order sends nothing)
# ------------------------------------------------------------------------------
def _send(*, order: Order, subject: str, template: str, context: dict) -> Message:
    context = {
        "order": order,
        "items": list(order.items.all()),
        "STORE_NAME": settings.STORE_NAME,
        "bank_transfer_instructions": settings.STORE_BANK_TRANSFER_INSTRUCTIONS,
        **context,
    }
    # Rendered in the order's transaction into the outbox; sent after commit (never raises).
    return email_dispatch(
        to=[order.customer_email],
        subject=subject,
        text=render_to_string(f"orders/email/{template}.txt", context),
        html=render_to_string(f"orders/email/{template}.html", context),
    )


def order_send_confirmation(*, order_id: int) -> Message:
    order = Order.objects.get(pk=order_id)
    return _send(
        order=order,
        subject=_("Your order %(number)s at %(store)s")
        % {"number": order.number, "store": settings.STORE_NAME},
        template="order_confirmation",
        context={},
    )


def order_send_status_email(
    *, order_id: int, from_status: str = "", expired: bool = False
) -> Message:
    order = Order.objects.get(pk=order_id)
    return _send(
        order=order,
        subject=_("Your order %(number)s is now %(status)s")
        % {"number": order.number, "status": order.get_status_display().lower()},
        template="order_status_changed",
        context={
            "from_status": from_status,
            "expired": expired,
            "timeout_days": settings.BANK_TRANSFER_TIMEOUT_DAYS,
        },
    )
