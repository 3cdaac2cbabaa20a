"""What the customer reads in the order e-mails: proper sentences, every status."""

import pytest

from accounts.tests.factories import UserFactory
from carts.tests.factories import CartItemFactory
from myecommerce.tests.wording import text_of_html, wording_problems
from orders.models import Order
from orders.services import order_set_status
from orders.tests.factories import order_place_for
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

S = Order.Status


def mail_texts(mail) -> tuple[str, str]:
    html, _mimetype = mail.alternatives[0]
    return mail.body, text_of_html(html)


@pytest.fixture
def order(django_capture_on_commit_callbacks):
    user = UserFactory(username="ada", first_name="", last_name="")
    CartItemFactory(cart__user=user, product=ProductFactory(name="Teapot", price="1250.00"))
    with django_capture_on_commit_callbacks(execute=True):
        return order_place_for(user, payment_method=Order.PaymentMethod.BANK_TRANSFER)


def test_the_confirmation_reads_as_proper_sentences(order, mailoutbox):
    text, html = mail_texts(mailoutbox[0])
    for body in (text, html):
        assert wording_problems(body) == []
        assert "Hello ada," in body
        assert "Thank you for your order" in body
        assert "1,250.00 USD" in body  # the same figures as the order page


@pytest.mark.parametrize(
    "path", [[S.PAID], [S.PAID, S.SHIPPED], [S.PAID, S.SHIPPED, S.DELIVERED], [S.CANCELLED]]
)
def test_status_e_mails_read_as_proper_sentences(
    order, path, mailoutbox, django_capture_on_commit_callbacks
):
    for status in path:
        with django_capture_on_commit_callbacks(execute=True):
            order_set_status(order=order, to_status=status, by=None)

    text, html = mail_texts(mailoutbox[-1])
    for body in (text, html):
        assert wording_problems(body) == []
        assert f"Your order {order.number} at" in body
    assert "<title>" in mailoutbox[-1].alternatives[0][0]  # a complete HTML document
