import factory
from django.utils import timezone

from mailer.models import Message


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    to = factory.Sequence(lambda n: [f"shopper{n}@example.com"])
    subject = factory.Sequence(lambda n: f"Your order ME-{n:06d}")
    text = "Thank you for your order."
    html = "<p>Thank you for your order.</p>"
    created_at = factory.LazyFunction(timezone.now)
    next_attempt_at = factory.LazyFunction(timezone.now)
