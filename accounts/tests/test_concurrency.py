"""PostgreSQL only: row locks make a code single use even under simultaneous requests."""

import pytest

from accounts import otp
from accounts.models import OneTimeCode
from accounts.tests.factories import UserFactory

pytestmark = [
    pytest.mark.postgres,
    # serialized_rollback restores the groups made by the data migration for later tests.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SIGNUP = OneTimeCode.Purpose.SIGNUP


def _run_together(run_at_once, target, count):
    """`target` on `count` threads at once: each result, or the code of its ValidationError."""
    results = run_at_once([target] * count)
    assert [value for outcome, value in results if outcome == "error"] == []
    return [value.code if outcome == "refused" else value for outcome, value in results]


def test_a_code_entered_twice_at_once_is_accepted_once(mailoutbox, code_in, run_at_once):
    user = UserFactory(email_verified=False)
    otp.otp_issue(user=user, purpose=SIGNUP)  # no outer transaction: mail goes at once
    code = code_in(mailoutbox[0])

    results = _run_together(
        run_at_once, lambda: otp.otp_verify(user=user, purpose=SIGNUP, code=code).pk, count=6
    )

    assert sum(1 for r in results if isinstance(r, int)) == 1
    assert sorted(r for r in results if not isinstance(r, int)) == ["used"] * 5


def test_simultaneous_resends_send_one_code(run_at_once):
    user = UserFactory(email_verified=False)
    results = _run_together(
        run_at_once, lambda: otp.otp_issue(user=user, purpose=SIGNUP).pk, count=6
    )
    assert sum(1 for r in results if isinstance(r, int)) == 1
    assert OneTimeCode.objects.filter(user=user).count() == 1


def test_simultaneous_wrong_tries_are_all_counted(mailoutbox, code_in, run_at_once):
    user = UserFactory(email_verified=False)
    otp.otp_issue(user=user, purpose=SIGNUP)
    wrong = f"{(int(code_in(mailoutbox[0])) + 1) % 1_000_000:06d}"

    _run_together(
        run_at_once, lambda: otp.otp_verify(user=user, purpose=SIGNUP, code=wrong), count=8
    )

    assert OneTimeCode.objects.get(user=user).attempts == 5
