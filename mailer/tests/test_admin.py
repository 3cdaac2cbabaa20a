from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from mailer.models import Message

from .factories import MessageFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:mailer_message_changelist"


def test_staff_see_unsent_messages_with_their_error_and_no_text(
    admin_client, django_assert_max_num_queries
):
    waiting = MessageFactory(
        subject="Your sign-up code", text="Your code is 424242", attempts=3, last_error="x"
    )
    MessageFactory(subject="Sent long ago", status=Message.Status.SENT, sent_at=timezone.now())
    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse(CHANGELIST), {"status__exact": "pending"})
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "Your sign-up code" in page and "Sent long ago" not in page
    assert waiting.to[0] in page
    detail = admin_client.get(reverse("admin:mailer_message_change", args=[waiting.pk]))
    assert detail.status_code == HTTPStatus.OK
    assert "424242" not in detail.content.decode()  # a customer's code is not staff's


def test_the_outbox_is_read_only(admin_client):
    message = MessageFactory()
    assert admin_client.get(reverse("admin:mailer_message_add")).status_code == 403
    response = admin_client.post(
        reverse("admin:mailer_message_change", args=[message.pk]), {"subject": "Changed"}
    )
    assert response.status_code == HTTPStatus.FORBIDDEN
    message.refresh_from_db()
    assert message.subject != "Changed"


def test_send_now_sends_the_selected_messages_once(admin_client, mailoutbox):
    message = MessageFactory(next_attempt_at=timezone.now() + timezone.timedelta(minutes=9))
    sent = MessageFactory(status=Message.Status.SENT, sent_at=timezone.now())
    response = admin_client.post(
        reverse(CHANGELIST),
        {"action": "send_now", "_selected_action": [message.pk, sent.pk]},
        follow=True,
    )
    assert response.status_code == HTTPStatus.OK
    assert [m.subject for m in mailoutbox] == [message.subject]
    page = response.content.decode()
    assert "1 e-mail sent." in page and "1 not sent" in page
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
