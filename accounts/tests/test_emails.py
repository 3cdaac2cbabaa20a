"""What a user reads in the one-time-code e-mails: proper sentences for every purpose."""

import pytest

from accounts import otp
from accounts.models import OneTimeCode
from accounts.tests.factories import UserFactory
from myecommerce.tests.wording import text_of_html, wording_problems

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("purpose", list(OneTimeCode.Purpose))
def test_code_email_reads_as_proper_sentences(sent, mailoutbox, purpose):
    with sent():
        otp.otp_issue(user=UserFactory(username="ada"), purpose=purpose)

    message = mailoutbox[0]
    html, _mimetype = message.alternatives[0]
    for body in (message.body, text_of_html(html)):
        assert wording_problems(body) == []
        assert body.lstrip().startswith("Hello ada,")
        assert "can be used only once" in body
    assert "<title>" in html  # a complete HTML document
