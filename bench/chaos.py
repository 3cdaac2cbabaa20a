"""`make chaos`: the soak's shoppers while PostgreSQL is killed and Redis is stopped; nothing lost.

It starts a PRIVATE PostgreSQL (initdb in a temporary directory, its own port; as the
`postgres` user when run as root, since initdb refuses root) and a private redis-server (its
own port: database 0 the cache, 1 the Celery broker), migrates, generates a small catalogue,
and serves the shop with gunicorn plus a Celery worker with its beat (the outbox sweep every
few seconds), e-mail written to files. Then the soak's shoppers (bench/soak.py) trade for
CHAOS_SECONDS while:
  - at CHAOS_PG_KILL_AT s, PostgreSQL (postmaster and every backend) gets SIGKILL, stays down
    CHAOS_PG_DOWN s, and is started again (crash recovery from its WAL);
  - at CHAOS_REDIS_STOP_AT s, Redis is stopped (SIGKILL) for CHAOS_REDIS_DOWN s (20) and
    started again (empty: it keeps nothing on disk).
At the end it checks:
  - no request answered 500 (or any 5xx but 503), and every 503 carried Retry-After;
  - while PostgreSQL was down, pages answered 503 (a probe asks /healthz/ and / every 0.2 s),
    and the shop served again (/healthz/ 200) within 5 s of PostgreSQL accepting connections;
  - every order whose confirmation (the redirect to its page) a shopper saw exists with its
    lines; the soak's books (bench/soak.py books_check: lines = ledger, initial − sold +
    restocked = stock for every product, the ledger chains);
  - every order's confirmation e-mail was delivered exactly once (counted in the mail files),
    and nothing is left unsent in the outbox.
Then the restore drill (bench/restore_drill.py) backs the database up, restores it into a
fresh one and compares (CHAOS_RESTORE_DRILL=0 skips it).
It prints the figures, its last line a summary, and exits 1 on any loss (2 on a set-up
failure, 130 when interrupted). Everything it started is stopped and removed.

Environment (all optional):
    CHAOS_SECONDS=75  CHAOS_PG_KILL_AT=15  CHAOS_PG_DOWN=5  CHAOS_REDIS_STOP_AT=35
    CHAOS_REDIS_DOWN=20  CHAOS_USERS=20  CHAOS_GUESTS=3  CHAOS_PRODUCTS=300
    CHAOS_RESTORE_DRILL=1  CHAOS_KEEP=0 (keep the temporary directory, e.g. to read the logs)
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

SECONDS = float(os.environ.get("CHAOS_SECONDS", "75"))
PG_KILL_AT = float(os.environ.get("CHAOS_PG_KILL_AT", "15"))
PG_DOWN = float(os.environ.get("CHAOS_PG_DOWN", "5"))
REDIS_STOP_AT = float(os.environ.get("CHAOS_REDIS_STOP_AT", "35"))
REDIS_DOWN = float(os.environ.get("CHAOS_REDIS_DOWN", "20"))
RESTORE_DRILL = os.environ.get("CHAOS_RESTORE_DRILL", "1") == "1"
KEEP = os.environ.get("CHAOS_KEEP", "0") == "1"
RECOVERY_LIMIT = 5.0
# The soak's shoppers, fewer of them and a smaller catalogue (set before bench/soak.py reads them).
os.environ.setdefault("SOAK_USERS", os.environ.get("CHAOS_USERS", "20"))
os.environ.setdefault("SOAK_GUESTS", os.environ.get("CHAOS_GUESTS", "3"))
os.environ.setdefault("SOAK_HOT_STOCK", "6")
os.environ["SOAK_SECONDS"] = str(SECONDS)
PRODUCTS = int(os.environ.get("CHAOS_PRODUCTS", "300"))

import soak  # noqa: E402 - configured by the environment above
from loopback import (  # noqa: E402
    BIN,
    HOST,
    ROOT,
    Process,
    SetupError,
    free_port,
    gunicorn,
    manage,
    shop_env,
)

# What the shoppers' answers were in each phase of the run: (phase, status) → count.
PHASES: Counter = Counter()
CONFIRMATION = re.compile(r"^Subject: Your order (ME-\d+) at ", re.MULTILINE)


def log(message: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --------------------------------------------------------------------------------------
# A private PostgreSQL and a private Redis
# --------------------------------------------------------------------------------------
def pg_bindir() -> Path:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise SetupError("initdb not found: install postgresql (apt-get install postgresql)")


class Postgres:
    """initdb in `root`, then pg_ctl start/stop; kill() is a crash (SIGKILL to every process)."""

    def __init__(self, root: Path):
        self.bindir = pg_bindir()
        self.data = root / "pgdata"
        self.port = free_port()
        self.log = root / "postgres.log"
        # initdb and postgres refuse to run as root: run them as the postgres user then.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(root, "postgres")
            os.chmod(root, 0o755)  # noqa: S103 - postgres must enter it; nothing secret

    def run(self, *argv: str, timeout: float = 120) -> None:
        done = subprocess.run(
            [*self.as_user, *argv], capture_output=True, text=True, timeout=timeout, cwd="/"
        )
        if done.returncode:
            raise SetupError(f"{' '.join(argv[:2])} failed:\n{done.stdout}\n{done.stderr}")

    def init(self) -> None:
        self.run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses={HOST} -k {self.data} "
            "-c max_connections=200 -c shared_buffers=64MB -c fsync=on"
        )
        self.run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def pids(self) -> list[int]:
        """The postmaster and its children (read from /proc: only processes of this server)."""
        try:
            postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return []
        pids = [postmaster]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == postmaster:
                    pids.append(int(stat.parent.name))
        return pids

    def kill(self) -> int:
        pids = self.pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in pids):
            time.sleep(0.05)
        return len(pids)

    def stop(self) -> None:
        with contextlib.suppress(SetupError, subprocess.TimeoutExpired):
            self.run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        self.kill()

    def url(self, name: str = "postgres") -> str:
        return f"postgres://postgres@{HOST}:{self.port}/{name}"


class Redis:
    def __init__(self, root: Path):
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log = root / "redis.log"

    def start(self) -> None:
        with open(self.log, "a") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - fixed arguments
                [
                    "redis-server",
                    "--bind",
                    HOST,
                    "--port",
                    str(self.port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                import socket

                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return
            time.sleep(0.05)
        raise SetupError("redis-server did not start")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def url(self, db: int) -> str:
        return f"redis://{HOST}:{self.port}/{db}"


# --------------------------------------------------------------------------------------
# Shoppers who accept a 503 (with Retry-After) while a service is away
# --------------------------------------------------------------------------------------
class ChaosClient(soak.Client):
    EXPECTED = {kind: statuses | {503} for kind, statuses in soak.Client.EXPECTED.items()}

    def request(self, kind, path, form=None, *, expect="get"):
        if not self.stats.take():
            raise soak.Budget
        data = soak.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1:<port>
            self.base + path, data=data, headers={"Referer": self.base + path}
        )
        try:
            with self.opener.open(request, timeout=soak.REQUEST_TIMEOUT) as response:
                status, headers, body = response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            status, headers, body = exc.code, exc.headers, exc.read()
        except OSError as exc:
            self.stats.count(kind, "failed")
            self.stats.error(f"{kind} {path}: {exc!r}")
            return None, "", ""
        self.stats.count(kind, status)
        PHASES[(self.phase(), status)] += 1
        if status == 503 and not headers.get("Retry-After"):
            self.stats.error(f"{kind} {path} answered 503 without Retry-After")
        elif status == 400 and form is None:
            # Django's SessionInterrupted: the session's row was lost with the crashed
            # database (its write had not committed). The shopper signs in again; nothing
            # of theirs that was committed is lost. Counted, shown, not a failure.
            self.stats.count("session lost", 400)
        elif status not in self.EXPECTED[expect]:
            self.stats.error(f"{kind} {path} answered {status}")
        location = soak.urlsplit(headers.get("Location") or "").path
        return status, location, body.decode("utf-8", "replace")

    probe: Probe | None = None

    def phase(self) -> str:
        return self.probe.phase if self.probe else "up"

    def sign_in(self) -> None:
        """soak's sign-in, tried again after a 503 (a service is away), as a person would."""
        while True:
            _, _, page = self.request("login-page", "/accounts/login/")
            forms = [f for f in soak.Forms(page).forms if f["method"] == "post"]
            if forms:
                form = {**forms[0]["fields"], "username": self.username, "password": soak.PASSWORD}
                status, location, _ = self.request(
                    "sign-in", "/accounts/login/", form, expect="login"
                )
                if status == 302 and not location.startswith("/accounts/"):
                    return
                if status != 503:
                    self.stats.error(f"{self.username} could not sign in: {status} → {location}")
                    raise soak.Budget
            time.sleep(1)


def traffic(base: str, catalogue, events) -> soak.Stats:
    """soak.traffic with ChaosClients, running `events` (the outages) on the side."""
    import random

    stats = soak.Stats(stop_at=time.monotonic() + SECONDS, budget=soak.MAX_REQUESTS)
    clients = [
        ChaosClient(stats, base, catalogue, random.Random(soak.SEED * 1000 + n), name)
        for n, name in enumerate(catalogue.users)
    ] + [
        ChaosClient(stats, base, catalogue, random.Random(soak.SEED * 1000 + soak.USERS + n))
        for n in range(soak.GUESTS)
    ]
    threads = [threading.Thread(target=c.run, daemon=True) for c in clients]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        events(started)
        while any(t.is_alive() for t in threads):
            time.sleep(0.5)
    finally:
        stats.stopping.set()
        for thread in threads:
            thread.join(timeout=soak.REQUEST_TIMEOUT + 5)
    stats.elapsed = time.monotonic() - started
    return stats


class Probe:
    """Asks /healthz/ and / every 0.2 s: what a visitor sees during the outages."""

    def __init__(self, base: str):
        self.base = base
        self.seen: Counter = Counter()  # (phase, path, status)
        self.missing_retry_after = 0
        self.recovering: list = []  # (seconds, answers) until the shop serves again
        self.phase = "up"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def get(self, path: str) -> int | str:
        try:
            with urllib.request.urlopen(self.base + path, timeout=5) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as exc:
            if exc.code == 503 and not exc.headers.get("Retry-After") and path != "/healthz/":
                self.missing_retry_after += 1
            return exc.code
        except OSError:
            return "failed"

    def run(self) -> None:
        while not self.stop.is_set():
            for path in ("/healthz/", "/"):
                self.seen[(self.phase, path, self.get(path))] += 1
            time.sleep(0.2)

    def wait_healthy(self, limit: float) -> float | None:
        started = time.monotonic()
        while time.monotonic() - started < limit * 4:
            answers = (self.get("/healthz/"), self.get("/products/"))
            if answers == (200, 200):
                return time.monotonic() - started
            self.recovering.append((round(time.monotonic() - started, 2), answers))
            time.sleep(0.05)
        return None


# --------------------------------------------------------------------------------------
# E-mail delivered
# --------------------------------------------------------------------------------------
def confirmations(maildir: Path) -> Counter:
    """Order number → how many confirmation e-mails the file backend wrote for it."""
    counts: Counter = Counter()
    for path in maildir.iterdir():
        counts.update(CONFIRMATION.findall(path.read_text(errors="replace")))
    return counts


def outbox_settle(seconds: float) -> dict[str, int]:
    """Wait until the outbox has nothing pending (the worker's beat sweeps it), at most
    `seconds`; then what is in it, per status."""
    from django.db import connections

    from mailer.models import Message

    deadline = time.monotonic() + seconds
    while True:
        connections.close_all()
        pending = Message.objects.filter(status=Message.Status.PENDING).count()
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(1)
    return dict(Counter(Message.objects.values_list("status", flat=True)))


class Supervised:
    """The Celery worker (with its beat) as a process manager runs it: started again when it
    exits (systemd's Restart=always). Celery 5.x can exit on a lost Redis broker ("Unrecoverable
    error"); the outbox makes that harmless: the restarted beat sweeps what was not sent."""

    def __init__(self, env: dict[str, str], root: Path):
        self.env, self.root = env, root
        self.restarts = 0
        self.process: Process | None = None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.watch, daemon=True)

    def spawn(self) -> None:
        argv = [
            str(BIN / "celery"),
            "-A",
            "myecommerce",
            "worker",
            "-B",
            "--schedule",
            str(self.root / "celerybeat-schedule"),
            "-Q",
            "mail,celery",
            "--concurrency",
            "2",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
        ]
        log_path = self.root / f"celery-{self.restarts}.log"
        self.process = Process("celery", argv, self.env, log_path).start()

    def start(self) -> None:
        self.spawn()
        self.thread.start()

    def watch(self) -> None:
        while not self.stopping.wait(1):
            if self.process and not self.process.alive():
                self.restarts += 1
                log(f"the Celery worker exited; started again (restart {self.restarts})")
                self.spawn()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout=5)
        if self.process:
            self.process.stop()


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------
def main() -> int:
    signal.signal(signal.SIGTERM, soak._interrupt)
    signal.signal(signal.SIGALRM, soak._interrupt)
    signal.alarm(int(SECONDS) + 900)
    root = Path(tempfile.mkdtemp(prefix="myecommerce-chaos-"))
    workdir = root / "shop"
    maildir = workdir / "mail"
    maildir.mkdir(parents=True)
    pg, redis = Postgres(root), Redis(root)
    env = shop_env(
        secret_key=soak.secrets.token_urlsafe(50),
        database_url=pg.url("shop"),
        cache_url=redis.url(0),
        workdir=workdir,
        CELERY_BROKER_URL=redis.url(1),
        EMAIL_URL=f"filemail:///{maildir}",
        MAIL_SWEEP_SECONDS="3",
        MAIL_CLAIM_SECONDS="15",
        CONN_MAX_AGE="60",
    )
    port = free_port()
    server = gunicorn("gunicorn", env, port, root / "gunicorn.log")
    worker = Supervised(env, root)
    base = f"http://{HOST}:{port}"
    probe = Probe(base)
    timeline: dict[str, float] = {}
    problems: list[str] = []
    try:
        log(f"PostgreSQL (initdb) on {HOST}:{pg.port}, Redis on {HOST}:{redis.port}")
        pg.init()
        pg.start()
        redis.start()
        soak.pg_admin(pg.url(), 'CREATE DATABASE "shop"')
        log("migrate, collectstatic, generate_catalogue")
        manage(env, "migrate", "--noinput")
        manage(env, "collectstatic", "--noinput")
        manage(env, "generate_catalogue", "--products", str(PRODUCTS), "--seed", str(soak.SEED))
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        catalogue = soak.catalogue_prepare()
        from django.db import connections

        connections.close_all()
        server.start().wait_healthy()
        worker.start()
        probe.thread.start()
        ChaosClient.probe = probe
        log(
            f"{len(catalogue.users)} shoppers + {soak.GUESTS} guests for {SECONDS:.0f} s; "
            f"PostgreSQL killed at {PG_KILL_AT:.0f} s for {PG_DOWN:.0f} s, Redis stopped at "
            f"{REDIS_STOP_AT:.0f} s for {REDIS_DOWN:.0f} s"
        )

        def events(started: float) -> None:
            def at(offset: float) -> None:
                time.sleep(max(0.0, started + offset - time.monotonic()))

            at(PG_KILL_AT)
            probe.phase = "postgres down"
            killed = pg.kill()
            log(f"PostgreSQL killed (SIGKILL to {killed} processes)")
            at(PG_KILL_AT + PG_DOWN)
            probe.phase = "postgres restarting"
            began = time.monotonic()
            pg.start()
            timeline["postgres recovery"] = time.monotonic() - began
            probe.phase = "postgres back"
            back = probe.wait_healthy(RECOVERY_LIMIT)
            timeline["shop serving after postgres back"] = -1 if back is None else back
            log(
                f"PostgreSQL back after {timeline['postgres recovery']:.1f} s of recovery; "
                f"the shop served again {back if back is None else f'{back:.2f} s'} later"
            )
            probe.phase = "up"
            at(REDIS_STOP_AT)
            probe.phase = "redis down"
            redis.kill()
            log("Redis stopped")
            at(REDIS_STOP_AT + REDIS_DOWN)
            redis.start()
            probe.phase = "up"
            log("Redis started again")

        stats = traffic(base, catalogue, events)
        probe.stop.set()
        probe.thread.join(timeout=10)
        log("traffic over; waiting for the outbox to empty")
        outbox = outbox_settle(60)
        server.stop()
        worker.stop()

        soak_problems, figures = soak.books_check(stats, catalogue)
        # An order (or cancel) committed whose answer the shopper never got (the database
        # died before the redirect) is not a loss: it exists, with its lines and ledger.
        unseen = [p for p in soak_problems if "no shopper saw it placed" in p]
        differ = [p for p in soak_problems if p.startswith("cancelled orders differ")]
        problems += [p for p in soak_problems if p not in unseen and p not in differ]
        from orders.models import Order

        cancelled_db = set(
            Order.objects.filter(status=Order.Status.CANCELLED).values_list("number", flat=True)
        )
        if stats.cancelled - cancelled_db:
            problems.append(
                f"cancels seen but not in the database: {stats.cancelled - cancelled_db}"
            )
        soak.report(stats, [], figures)

        numbers = set(Order.objects.values_list("number", flat=True))
        delivered = confirmations(maildir)
        missing = sorted(numbers - delivered.keys())
        doubled = sorted(n for n, count in delivered.items() if count > 1)
        stray = sorted(delivered.keys() - numbers)
        five_hundreds = sum(
            n
            for (_, status), n in stats.by_status.items()
            if isinstance(status, int) and status >= 500 and status != 503
        )
        served_503 = sum(n for (_, status), n in stats.by_status.items() if status == 503)
        down_503 = sum(
            n
            for (phase, _, status), n in probe.seen.items()
            if phase.startswith("postgres") and status == 503
        )
        down_other = {
            (phase, path, status): n
            for (phase, path, status), n in probe.seen.items()
            if phase in {"postgres down", "postgres restarting"} and status not in {503}
        }
        recovered = timeline.get("shop serving after postgres back", -1)

        print("\nChaos:")
        print(
            f"  PostgreSQL SIGKILLed at {PG_KILL_AT:.0f} s, down {PG_DOWN:.0f} s, crash recovery "
            f"{timeline.get('postgres recovery', -1):.1f} s; shop serving again "
            f"{recovered:.2f} s after it accepted connections (limit {RECOVERY_LIMIT:.0f} s)"
        )
        print(f"  Redis stopped at {REDIS_STOP_AT:.0f} s for {REDIS_DOWN:.0f} s")
        print(
            f"  probe while PostgreSQL was away: {down_503} answers 503, "
            f"others {down_other or 'none'}"
        )
        print(
            f"  shopper requests answered 503 (Retry-After): {served_503}; "
            f"500 or other 5xx: {five_hundreds}"
        )
        print(
            f"  orders: {len(numbers)} in the database, {len(stats.placed)} seen placed by "
            f"shoppers, {len(unseen)} committed but not seen (the answer was lost in an outage)"
        )
        print(
            f"  confirmation e-mails: {sum(delivered.values())} for {len(delivered)} orders; "
            f"missing {len(missing)}, more than once {len(doubled)}, for no order {len(stray)}"
        )
        print(f"  outbox: {outbox}; the Celery worker was restarted {worker.restarts} times")
        for phase in ("up", "postgres down", "postgres restarting", "postgres back", "redis down"):
            answers = {status: n for (p, status), n in PHASES.items() if p == phase}
            print(f"  shoppers' answers, {phase}: {dict(sorted(answers.items(), key=str))}")

        if five_hundreds:
            problems.append(f"{five_hundreds} requests answered a 5xx other than 503")
        if probe.missing_retry_after:
            problems.append(f"{probe.missing_retry_after} probe 503s without Retry-After")
        if not down_503:
            problems.append("no page answered 503 while PostgreSQL was down")
        if recovered < 0 or recovered > RECOVERY_LIMIT:
            print(f"  answers while recovering: {probe.recovering[:40]}")
            problems.append(f"the shop did not serve within {RECOVERY_LIMIT:.0f} s of PostgreSQL")
        if missing:
            problems.append(f"orders without a confirmation e-mail: {missing[:10]}")
        if doubled:
            problems.append(f"orders confirmed more than once: {doubled[:10]}")
        if outbox.get("pending") or outbox.get("failed"):
            problems.append(f"e-mails left unsent: {outbox}")
        if stats.error_count:
            problems.append(f"{stats.error_count} request errors, e.g. {stats.errors[:5]}")
        if not stats.placed:
            problems.append("no checkout succeeded: nothing was put to the test")

        if RESTORE_DRILL:
            import restore_drill

            connections.close_all()
            drill = restore_drill.drill(pg.url("shop"), pg.url(), root, env)
            problems += drill
        for problem in problems:
            print(f"  ✗ {problem}")
        if problems:
            print(f"\nTHE GUNICORN LOG (end):\n{server.tail()}")
            print(
                f"CHAOS FAILED: {len(problems)} problems; {len(numbers)} orders, "
                f"{sum(delivered.values())} confirmations"
            )
            return 1
        print(
            f"CHAOS PASSED: PostgreSQL killed and Redis stopped {REDIS_DOWN:.0f} s mid-trade; "
            f"{len(numbers)} orders, {len(stats.placed)} seen, all with their lines and stock "
            f"books; {sum(delivered.values())} confirmations, each order exactly once; no 500; "
            f"served again {recovered:.2f} s after PostgreSQL"
            + ("; restore drill matched" if RESTORE_DRILL else "")
        )
        return 0
    except (KeyboardInterrupt, soak.Interrupted) as exc:
        log(f"interrupted ({str(exc) or 'Ctrl-C'}); cleaning up")
        return 130
    except (SetupError, subprocess.TimeoutExpired) as exc:
        log(f"set-up failed: {exc}")
        return 2
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        probe.stop.set()
        server.stop()
        worker.stop()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        pg.stop()
        redis.kill()
        if KEEP:
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
