"""E-mail moved to the outbox app (`mailer`): import `mailer.services.email_dispatch`.

This name stays so that code moved in parallel keeps working; it writes the message to the
outbox in the caller's transaction and sends it after commit (see mailer/services.py).
"""

from __future__ import annotations


def email_dispatch(**parts):
    from mailer.services import email_dispatch as dispatch

    return dispatch(**parts)
