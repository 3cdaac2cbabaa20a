"""E-mail through the outbox and the task queue: a real Celery worker on Redis, retries, and
the fallbacks when there is no broker or it is away.

Every message is an outbox row (mailer.Message) written in its change's transaction; the task
carries only the row's id. The worker tests publish to Redis database 9 on 127.0.0.1 and start
`celery worker` as a subprocess on the test database (PostgreSQL: the worker reads the row),
one whose mail backend writes files into a temporary folder, one whose SMTP server is down at
first and comes back (a small SMTP server on loopback). They are skipped when Redis is not
answering (failed instead under REQUIRE_SERVICES=1).
"""

import email
import io
import logging
import os
import re
import signal
import smtplib
import socketserver
import subprocess
import sys
import threading
import time
from http import HTTPStatus
from pathlib import Path

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.urls import reverse

from accounts.models import OneTimeCode, User
from accounts.otp import otp_hash
from mailer.models import Message
from mailer.services import RETRY_BACKOFF_MAX, email_dispatch, retry_delay
from mailer.tasks import message_deliver
from myecommerce.celery import app as celery_app
from myecommerce.tests.conftest import free_port, redis_database

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))
REDIS_URL = "redis://127.0.0.1:6379/9"
WORKER_START_SECONDS = 45
DELIVERY_SECONDS = 30

SIGNUP = {
    "username": "queued",
    "email": "queued@example.com",
    "password1": "a-Str0ng-pass!",
    "password2": "a-Str0ng-pass!",
}


# ------------------------------------------------------------------------------
# Mail backends that fail the way real servers do
# ------------------------------------------------------------------------------
CALLS: list[str] = []


class FlakyBackend(BaseEmailBackend):
    """Drops the connection twice, then accepts."""

    def send_messages(self, email_messages):
        CALLS.append("flaky")
        if len(CALLS) < 3:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return len(email_messages)


class DownBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        CALLS.append("down")
        raise ConnectionRefusedError(111, "Connection refused")


class RejectingBackend(BaseEmailBackend):
    """Answers 550 for every recipient: no retry can help."""

    def send_messages(self, email_messages):
        CALLS.append("rejecting")
        raise smtplib.SMTPRecipientsRefused({"nobody@example.com": (550, b"No such user")})


def _backend(cls) -> str:
    return f"{__name__}.{cls.__qualname__}"


@pytest.fixture(autouse=True)
def _calls():
    CALLS.clear()
    yield
    CALLS.clear()


PARTS = {"to": ["shopper@example.com"], "subject": "Hello", "text": "Plain", "html": "<p>Rich</p>"}


def _outboxed(**parts) -> Message:
    """A message written in a transaction that is not committed yet: nothing is sent."""
    with transaction.atomic():
        return email_dispatch(**(parts or PARTS))


# ------------------------------------------------------------------------------
# The task's retries (run eagerly with .apply(): every retry happens at once)
# ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_task_retries_a_dropped_connection_until_the_server_accepts(settings, mailoutbox):
    settings.EMAIL_BACKEND = _backend(FlakyBackend)
    message = _outboxed()
    result = message_deliver.apply(args=[message.pk])
    assert result.successful() and result.result == "sent"
    assert CALLS == ["flaky"] * 3
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("sent", 3, "")


@pytest.mark.django_db
def test_the_task_does_not_retry_a_permanent_refusal(settings, caplog):
    settings.EMAIL_BACKEND = _backend(RejectingBackend)
    message = _outboxed()
    with caplog.at_level(logging.ERROR, logger="mailer.services"):
        result = message_deliver.apply(args=[message.pk])
    assert result.successful() and result.result == "failed"
    assert CALLS == ["rejecting"]
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED and "550" in message.last_error
    assert f"refused e-mail {message.pk} for good" in caplog.text


def test_the_retry_policy_backs_off_and_is_bounded():
    delays = [retry_delay(attempts=n).total_seconds() for n in range(1, 12)]
    assert delays[:3] == [15, 30, 60]
    assert max(delays) == RETRY_BACKOFF_MAX <= 600 < 3600  # below Redis's visibility timeout
    assert message_deliver.acks_late and message_deliver.reject_on_worker_lost
    assert message_deliver.max_retries is None  # an outage delays a message, never drops it


# ------------------------------------------------------------------------------
# Without a broker: sent by the request's process after commit, never raising
# ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_without_a_broker_the_message_is_sent_after_commit_with_both_parts(
    mailoutbox, django_capture_on_commit_callbacks
):
    assert celery_app.conf.task_always_eager  # the test settings name no broker
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        email_dispatch(**PARTS)
        assert mailoutbox == []  # nothing leaves before the commit
    (message,) = mailoutbox
    assert message.to == ["shopper@example.com"]
    assert (message.subject, message.body) == ("Hello", "Plain")
    assert message.alternatives[0].content == "<p>Rich</p>"
    assert Message.objects.get().status == Message.Status.SENT


@pytest.mark.django_db
def test_without_a_broker_a_mail_server_failure_is_logged_not_raised(
    settings, caplog, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = _backend(DownBackend)
    with (
        caplog.at_level(logging.WARNING, logger="mailer.services"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        email_dispatch(**PARTS)
    assert CALLS == ["down"]  # one try: a request never waits for retries
    message = Message.objects.get()
    assert message.status == Message.Status.PENDING and message.attempts == 1
    assert "Could not send e-mail" in caplog.text


@pytest.mark.django_db
def test_sign_up_still_succeeds_when_the_mail_server_is_down(
    client, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = _backend(DownBackend)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:signup"), SIGNUP)
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == reverse("accounts:verify")
    assert User.objects.filter(username="queued", email_verified=False).exists()
    assert CALLS == ["down"]
    # The code waits in the outbox for the next try.
    message = Message.objects.get()
    assert message.to == ["queued@example.com"] and message.status == Message.Status.PENDING


@pytest.fixture
def broker():
    """Point this process's Celery app at a broker (and queue for real) for one test."""
    saved = {
        key: celery_app.conf.get(key)
        for key in ("broker_url", "broker_write_url", "task_always_eager")
    }

    def forget_connections():
        # What Celery does in a forked child: the app drops its pools (kombu keeps one per
        # broker URL, so a later test with the same URL finds it still open).
        celery_app._after_fork()

    def use(url: str):
        forget_connections()
        # broker_write_url too: Celery prefers a CELERY_BROKER_URL from the environment to
        # broker_url, but publishes to broker_write_url when one is set.
        celery_app.conf.update(broker_url=url, broker_write_url=url, task_always_eager=False)

    yield use
    forget_connections()
    celery_app.conf.update(saved)


@pytest.mark.django_db
def test_an_unreachable_broker_is_logged_and_the_message_sent_in_process(
    broker, mailoutbox, caplog, django_capture_on_commit_callbacks
):
    broker(f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    with (
        caplog.at_level(logging.ERROR, logger="mailer.services"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        email_dispatch(**PARTS)
    assert time.monotonic() - started < 10  # a request waits seconds, not minutes
    assert [m.subject for m in mailoutbox] == ["Hello"]
    assert "task queue is unreachable" in caplog.text
    assert Message.objects.get().status == Message.Status.SENT


@pytest.mark.django_db
def test_broker_and_mail_server_both_down_the_message_is_sent_later_by_mail_send(
    broker, settings, mailoutbox, django_capture_on_commit_callbacks
):
    from django.core.management import call_command

    broker(f"redis://127.0.0.1:{free_port()}/0")
    settings.EMAIL_BACKEND = _backend(DownBackend)
    with django_capture_on_commit_callbacks(execute=True):
        email_dispatch(**PARTS)
    assert Message.objects.get().status == Message.Status.PENDING

    # Both come back; the message is due again (its backoff has passed): the sweep sends it.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    Message.objects.update(next_attempt_at=Message.objects.get().created_at)
    first, again = io.StringIO(), io.StringIO()
    call_command("mail_send", stdout=first)
    call_command("mail_send", stdout=again)  # nothing left: sent once
    assert first.getvalue().startswith("sent 1,") and again.getvalue().startswith("sent 0,")
    assert [m.subject for m in mailoutbox] == ["Hello"]
    assert Message.objects.get().status == Message.Status.SENT


def _database_url() -> str:
    """The test database, for the worker: it reads the outbox row the test committed."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


# ------------------------------------------------------------------------------
# A real worker on Redis
# ------------------------------------------------------------------------------
@pytest.fixture
def redis_db9():
    with redis_database(REDIS_URL) as client:
        yield client


def _read_log(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture
def start_worker(tmp_path, redis_db9):
    """Start `celery worker` on Redis DB 9 with a given EMAIL_URL; all stopped at the end."""
    started: list[subprocess.Popen] = []

    def start(email_url: str) -> Path:
        log_path = tmp_path / f"worker-{len(started)}.log"
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CELERY_", "EMAIL_", "CACHE_", "AWS_"))
        }
        env.update(
            CELERY_BROKER_URL=REDIS_URL,
            DATABASE_URL=_database_url(),
            EMAIL_URL=email_url,
            EMAIL_TIMEOUT="5",
            SECRET_KEY="worker-test-key",
            DEBUG="False",
            PYTHONDONTWRITEBYTECODE="1",
        )
        with open(log_path, "w") as log:
            proc = subprocess.Popen(  # noqa: S603 - the venv's celery, fixed arguments
                [
                    CELERY,
                    "-A",
                    "myecommerce",
                    "worker",
                    "--pool=solo",
                    "--concurrency=1",
                    "-Q",
                    "mail,celery",
                    "--loglevel=INFO",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "--hostname",
                    f"test-{os.getpid()}-{len(started)}@localhost",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(proc)
        deadline = time.monotonic() + WORKER_START_SECONDS
        while " ready." not in _read_log(log_path):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Celery worker did not start:\n{_read_log(log_path)}")
            time.sleep(0.2)
        return log_path

    yield start
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


@pytest.fixture
def mail_worker(tmp_path, start_worker):
    """A worker whose e-mail backend writes files into a folder."""
    maildir = tmp_path / "worker-mail"
    maildir.mkdir()
    return maildir, start_worker(f"filemail:///{maildir}")


class SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for Django's backend: EHLO, MAIL, RCPT, DATA, QUIT."""

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 localhost test SMTP")
        while line := self.rfile.readline():
            command = line.decode("ascii", "replace").strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self.reply("250 localhost")
            elif command == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                data = b""
                while not data.endswith(b"\r\n.\r\n"):
                    chunk = self.rfile.readline()
                    if not chunk:
                        return
                    data += chunk
                self.server.messages.append(email.message_from_bytes(data[:-3]))
                self.reply("250 queued")
            elif command == "QUIT":
                self.reply("221 bye")
                return
            else:  # MAIL FROM, RCPT TO, RSET, NOOP
                self.reply("250 ok")


def _delivered(maildir: Path) -> list[email.message.Message]:
    messages = []
    for path in sorted(maildir.iterdir()):
        # The file backend separates messages with a line of 79 dashes.
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79):
            if chunk.strip():
                messages.append(email.message_from_bytes(chunk.lstrip()))
    return messages


def _text_part(message: email.message.Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no text/plain part")


# Real commits, so the code is queued by on_commit as in production. serialized_rollback, as
# in the other transactional tests: the data migrations' rows are put back afterwards.
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_on_redis_delivers_the_sign_up_code(client, broker, mail_worker, mailoutbox):
    maildir, worker_log = mail_worker
    broker(REDIS_URL)

    response = client.post(reverse("accounts:signup"), SIGNUP)
    assert response.status_code == HTTPStatus.FOUND
    assert mailoutbox == []  # queued, not sent by the web process

    deadline = time.monotonic() + DELIVERY_SECONDS
    while not (messages := _delivered(maildir)):
        assert time.monotonic() < deadline, f"no e-mail within {DELIVERY_SECONDS} s:\n" + (
            _read_log(worker_log)
        )
        time.sleep(0.2)

    (message,) = messages
    assert message["To"] == "queued@example.com"
    assert message["Subject"] == "Your sign-up code"
    assert message.is_multipart()  # text and HTML
    code = re.search(r"\b(\d{6})\b", _text_part(message)).group(1)
    user = User.objects.get(username="queued")
    otc = OneTimeCode.objects.get(user=user, purpose=OneTimeCode.Purpose.SIGNUP)
    assert otc.code_hash == otp_hash(user_id=user.pk, purpose=otc.purpose, code=code)
    # The worker logs "succeeded" (and marks the row sent) just after the file is written.
    while "succeeded" not in (log := _read_log(worker_log)):
        assert time.monotonic() < deadline, log
        time.sleep(0.2)
    assert "mailer.tasks.message_deliver" in log
    assert code not in log  # the worker never logs a code
    # Sent, and the code's text is not kept in the outbox.
    row = Message.objects.get()
    assert row.status == Message.Status.SENT and code not in row.text + row.html

    # The delivered code is the one the shop accepts.
    response = client.post(reverse("accounts:verify"), {"code": code})
    assert response.status_code == HTTPStatus.FOUND
    user.refresh_from_db()
    assert user.email_verified


def _redis_values(url: str) -> list[bytes]:
    """Every stored value in one Redis database (queues, unacknowledged messages, results)."""
    import redis

    client = redis.Redis.from_url(url)
    values: list[bytes] = []
    for key in client.scan_iter():
        kind = client.type(key)
        if kind == b"string":
            values.append(client.get(key))
        elif kind == b"list":
            values.extend(client.lrange(key, 0, -1))
        elif kind == b"hash":
            values.extend(client.hvals(key))
        elif kind == b"zset":
            values.extend(client.zrange(key, 0, -1))
        elif kind == b"set":
            values.extend(client.smembers(key))
    client.close()
    return values


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_retries_until_the_mail_server_is_back(broker, start_worker):
    port = free_port()
    worker_log = start_worker(f"smtp://127.0.0.1:{port}")  # nothing listens there yet
    broker(REDIS_URL)

    secret = "Your code is 314159"
    with transaction.atomic():
        row = email_dispatch(to=["late@example.com"], subject="Hello again", text=secret)

    deadline = time.monotonic() + DELIVERY_SECONDS
    while "retry: Retry in" not in _read_log(worker_log):
        assert time.monotonic() < deadline, _read_log(worker_log)
        time.sleep(0.2)
    assert "ConnectionRefusedError" in _read_log(worker_log)
    # The task carries only the row's id: the text is in neither the log nor Redis.
    assert "314159" not in _read_log(worker_log)
    assert not any(b"314159" in value for value in _redis_values(REDIS_URL))
    row.refresh_from_db()
    assert row.status == Message.Status.PENDING and row.attempts == 1

    # The mail server comes back; the retry (15 s later) delivers the message, once.
    server = socketserver.ThreadingTCPServer(("127.0.0.1", port), SMTPHandler)
    server.messages = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + DELIVERY_SECONDS
        while not server.messages:
            assert time.monotonic() < deadline, _read_log(worker_log)
            time.sleep(0.2)
        time.sleep(1)
    finally:
        server.shutdown()
        server.server_close()
    (message,) = server.messages
    assert (message["To"], message["Subject"]) == ("late@example.com", "Hello again")
    row.refresh_from_db()
    assert row.status == Message.Status.SENT and row.attempts == 2
