"""`make bench`: load the shop with wrk on PostgreSQL, as production runs it, and print tables.

For each catalogue size (1,000 then 100,000 products) it: generates the catalogue, starts
gunicorn (gunicorn.conf.py, DEBUG=False, whitenoise, Redis cache) on a free loopback port,
loads every page for BENCH_SECONDS at a fixed concurrency with wrk, counts SQL queries per
page with Django's test client in a separate process, reads the workers' peak memory, and
stops the server. It creates the database `myecommerce_bench` and drops it at the end, and
uses one Redis database (BENCH_REDIS_DB) that it empties before and after.

Environment (all optional):
    BENCH_SECONDS=10  BENCH_WARMUP=1 (unrecorded seconds before each page)
    BENCH_CONNECTIONS=8  BENCH_THREADS=2  BENCH_SIZES=1000,100000
    BENCH_CATEGORIES=60  BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/postgres
    BENCH_REDIS_URL=redis://127.0.0.1:6379  BENCH_REDIS_DB=14  BENCH_KEEP_DB=0
    BENCH_TIMEOUT=1200 (seconds; the whole run is stopped after that)
    BENCH_RESULTS=bench/RESULTS.md  (written after a run with both sizes; "" to skip)
    BENCH_PAGES=list,detail  (only these pages, plus /healthz/; for quick experiments)
    GUNICORN_WORKERS / GUNICORN_THREADS  (defaults from gunicorn.conf.py)
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlencode

from checkout import CHECKOUT_FORM, hidden_fields
from loopback import (
    OUT,
    PYTHON,
    ROOT,
    Process,
    SetupError,
    free_port,
    gunicorn,
    pg_admin,
    redis_flush,
    shop_env,
    with_dbname,
)
from loopback import manage as manage_with

BENCH = ROOT / "bench"

SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
WARMUP = float(os.environ.get("BENCH_WARMUP", "1"))
SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "1000,100000").split(",") if s.strip()]
CATEGORIES = int(os.environ.get("BENCH_CATEGORIES", "60"))
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB_NAME = "myecommerce_bench"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "14"))
KEEP_DB = os.environ.get("BENCH_KEEP_DB", "0") == "1"
TIMEOUT = int(os.environ.get("BENCH_TIMEOUT", "1200"))
RESULTS = os.environ.get("BENCH_RESULTS", str(BENCH / "RESULTS.md"))
ONLY = {p for p in os.environ.get("BENCH_PAGES", "").split(",") if p.strip()}

# (name, label, kind): kind says how the page is loaded and which targets apply.
PAGES = [
    ("healthz", "/healthz/ (baseline)", "get"),
    ("home", "home", "get"),
    ("list", "list", "get"),
    ("search", "list ?q=", "get"),
    ("filtered", "list, filters + sort", "get"),
    ("category", "category", "get"),
    ("detail", "detail", "get"),
    # The same pages for a signed-in shopper: never from the shared page cache, so these rows
    # show what building a page costs (the anonymous rows above are mostly cache hits).
    ("list_user", "list, signed in (built every time)", "user"),
    ("search_user", "list ?q=, signed in (built every time)", "user"),
    ("detail_user", "detail, signed in (built every time)", "user"),
    ("cart", "cart, 10 lines (signed in)", "cart"),
    ("add", "add to cart (POST)", "add"),
    ("checkout", "checkout (add + GET + POST)", "checkout"),
    # The baseline again: the ratios use the mean of both, which evens out drift in the load
    # of a shared machine during the run.
    ("healthz2", "/healthz/ (again, at the end)", "get"),
]
# The anonymous page each signed-in row repeats.
USER_PAGES = {"list_user": "list", "search_user": "search", "detail_user": "detail"}
RATIO_TARGETS = {"list": 0.5, "category": 0.5, "detail": 0.5, "home": 0.4, "cart": 0.4}
GROWTH_PAGES = ["home", "list", "search", "filtered", "category", "detail"]
GROWTH_LIMIT = 1.5
RSS_LIMIT_MB = 150


class BenchError(SetupError):
    pass


class Timeout(BenchError):
    pass


@dataclass
class Result:
    name: str
    label: str
    rps: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    queries: float | None = None
    # SQL queries of the same request just after a catalogue change (caches stale).
    cold_queries: float | None = None
    # How the server made the page under load: X-Page-Cache (hit, miss, bypass) or "".
    cache: str = ""
    errors: int = 0
    note: str = ""


@dataclass
class SizeRun:
    products: int
    results: list[Result] = field(default_factory=list)
    worker_peak_mb: float | None = None
    workers: int = 0

    def get(self, name: str) -> Result | None:
        return next((r for r in self.results if r.name == name), None)

    @property
    def baseline_rps(self) -> float | None:
        rates = [r.rps for r in self.results if r.name in ("healthz", "healthz2") and r.rps]
        return sum(rates) / len(rates) if rates else None


# --------------------------------------------------------------------------------------
# Processes and environment
# --------------------------------------------------------------------------------------
def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def server_env(port: int) -> dict[str, str]:
    return shop_env(
        secret_key=SECRET_KEY,
        database_url=with_dbname(PG_URL, DB_NAME),
        cache_url=f"{REDIS_URL}/{REDIS_DB}",
        workdir=OUT,
        CONN_MAX_AGE="600",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        # No recycling during the run, so the peak memory covers the whole benchmark.
        GUNICORN_MAX_REQUESTS="0",
        # The loops add the same product and check out as the same users again and again:
        # measure adding and ordering, not the anti-hoarding refusals (issue 16.7).
        ORDER_MAX_QUANTITY_PER_LINE=str(2**31 - 1),
        ORDER_MAX_UNPAID_PER_CUSTOMER=str(2**31 - 1),
    )


SECRET_KEY = secrets.token_urlsafe(50)
PORT = 0
ENV: dict[str, str] = {}


def manage(*args: str, timeout: float = 600) -> str:
    return manage_with(ENV, *args, timeout=timeout)


def django_side(*args: str, timeout: float = 300) -> dict:
    done = subprocess.run(
        [PYTHON, str(BENCH / "django_side.py"), *args],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode:
        raise BenchError(f"django_side.py {args[0]} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_pg(sql: str) -> None:
    pg_admin(PG_URL, sql)


def bench_redis_flush() -> None:
    redis_flush(f"{REDIS_URL}/{REDIS_DB}")


def worker_pids(server: Process) -> list[int]:
    """gunicorn's workers: the children of its master process."""
    if not server.proc:
        return []
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if re.search(rf"^PPid:\s+{server.proc.pid}$", text, re.MULTILINE):
            pids.append(int(status.parent.name))
    return pids


def worker_peak_mb(server: Process) -> tuple[float | None, int]:
    """The highest peak resident memory (VmHWM) of gunicorn's workers, and how many there are."""
    peaks = []
    for pid in worker_pids(server):
        try:
            text = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmHWM:\s+(\d+) kB", text, re.MULTILINE)
        if match:
            peaks.append(int(match.group(1)) / 1024)
    return (max(peaks) if peaks else None), len(peaks)


# --------------------------------------------------------------------------------------
# Load
# --------------------------------------------------------------------------------------
def cookie_header(plan: dict, session: str | None) -> str:
    cookies = [f"csrftoken={plan['csrf']}"]
    if session:
        cookies.append(f"sessionid={session}")
    return "; ".join(cookies)


def wrk(
    path: str, *, cookie: str, extra_env: dict[str, str] | None = None, seconds: float = SECONDS
) -> dict:
    env = {**os.environ, **(extra_env or {})}
    cmd = [
        "wrk",
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{max(1, round(seconds))}s",  # wrk takes whole seconds
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(BENCH / "wrk.lua"),
        "-H",
        f"Cookie: {cookie}",
        f"http://127.0.0.1:{PORT}{path}",
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 30)
    match = re.search(r"^BENCHJSON (.*)$", done.stdout, re.MULTILINE)
    if done.returncode or not match:
        raise BenchError(f"wrk failed: {done.stdout}\n{done.stderr}")
    return json.loads(match.group(1))


def from_wrk(result: Result, data: dict) -> None:
    result.rps = data["requests"] / (data["duration_us"] / 1e6)
    result.p50_ms = data["p50_us"] / 1000
    result.p99_ms = data["p99_us"] / 1000
    result.errors = (
        sum(data[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors"))
        + data["timeouts"]
    )


def preflight(path: str, cookie: str, *, method: str = "GET", body: str = "") -> int:
    """Status of one request (which also warms caches); redirects are not followed."""
    conn = HTTPConnection("127.0.0.1", PORT, timeout=30)
    headers = {"Cookie": cookie, "X-CSRFToken": cookie.split("=", 1)[1].split(";")[0]}
    if body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def page_cache_status(path: str, cookie: str) -> str:
    """The X-Page-Cache header of one GET: "hit" when the page came from the page cache."""
    conn = HTTPConnection("127.0.0.1", PORT, timeout=30)
    try:
        conn.request("GET", path, headers={"Cookie": cookie})
        response = conn.getresponse()
        response.read()
        return response.getheader("X-Page-Cache") or ""
    finally:
        conn.close()


def checkout_loop(plan: dict) -> dict:
    """Shoppers check out in a loop, one per connection: add a line, open /checkout/, POST it.

    wrk cannot carry the one-time checkout token from the GET to the POST, so this is
    Python; each thread keeps one shopper and times whole cycles.
    """
    stop_at = time.monotonic() + SECONDS
    cycles: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def shopper(session: str) -> None:
        cookie = cookie_header(plan, session)
        conn = HTTPConnection("127.0.0.1", PORT, timeout=30)

        def call(method: str, path: str, form: dict | None = None):
            headers = {"Cookie": cookie}
            body = None
            if form is not None:
                body = urlencode(form)
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            if response.will_close:
                conn.close()
            return response.status, response.getheader("Location") or "", text

        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                status, _, _ = call(
                    "POST",
                    plan["checkout_add_path"],
                    {"quantity": "1", "csrfmiddlewaretoken": plan["csrf"]},
                )
                if status != 302:
                    raise BenchError(f"add answered {status}")
                status, _, page = call("GET", "/checkout/")
                if status != 200:
                    raise BenchError(f"GET /checkout/ answered {status}")
                status, location, _ = call(
                    "POST", "/checkout/", {**CHECKOUT_FORM, **hidden_fields(page)}
                )
                if status != 302 or "/orders/" not in location:
                    raise BenchError(f"POST /checkout/ answered {status} → {location!r}")
            except (BenchError, OSError) as exc:
                with lock:
                    errors.append(str(exc))
                conn.close()
                time.sleep(0.05)
                continue
            with lock:
                cycles.append(time.perf_counter() - started)
        conn.close()

    threads = [
        threading.Thread(target=shopper, args=(s,), daemon=True)
        for s in plan["checkout_sessions"][:CONNECTIONS]
    ]
    begun = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=SECONDS + 60)
    elapsed = time.monotonic() - begun
    cycles.sort()

    def pct(p: float) -> float | None:
        return cycles[min(len(cycles) - 1, int(len(cycles) * p))] * 1000 if cycles else None

    return {
        "rps": len(cycles) / elapsed,
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
    }


def checkout_available(plan: dict) -> tuple[bool, str]:
    if not (ROOT / "templates" / "orders" / "checkout.html").is_file():
        return False, "skipped: templates/orders/checkout.html does not exist yet"
    cookie = cookie_header(plan, plan["checkout_sessions"][0])
    body = urlencode({"quantity": "1", "csrfmiddlewaretoken": plan["csrf"]})
    preflight(plan["checkout_add_path"], cookie, method="POST", body=body)
    status = preflight("/checkout/", cookie)
    if status != 200:
        return False, f"skipped: GET /checkout/ answered {status}"
    return True, ""


def run_size(size: int) -> SizeRun:
    run = SizeRun(products=size)
    log(f"generating a catalogue of {size:,} products")
    started = time.monotonic()
    out = manage(
        "generate_catalogue",
        "--products",
        str(size),
        "--categories",
        str(CATEGORIES),
        "--no-progress",
        timeout=600,
    )
    log(f"  {out.strip().splitlines()[-1]} (wall {time.monotonic() - started:.0f}s)")
    plan = django_side("prepare", str(CONNECTIONS))
    bench_redis_flush()  # bulk writes send no signals: start every size with a cold, correct cache

    server = gunicorn("gunicorn", ENV, PORT, OUT / f"gunicorn-{size}.log")
    try:
        log(f"starting gunicorn on 127.0.0.1:{PORT}")
        server.start().wait_healthy()
        time.sleep(1)  # let every worker finish booting
        ok, why = checkout_available(plan)
        plan["checkout"] = ok
        (OUT / f"plan-{size}.json").write_text(json.dumps(plan, indent=2))

        for name, label, kind in PAGES:
            if ONLY and name not in ONLY and not name.startswith("healthz"):
                continue
            result = Result(name, label)
            run.results.append(result)
            if kind == "checkout":
                if not ok:
                    result.note = why
                    log(f"  {label}: {why}")
                    continue
                data = checkout_loop(plan)
                result.rps, result.p50_ms, result.p99_ms = (
                    data["rps"],
                    data["p50_ms"],
                    data["p99_ms"],
                )
                result.errors = data["errors"]
                if data["first_error"]:
                    result.note = f"first error: {data['first_error']}"
            else:
                session = {
                    "cart": plan["cart_session"],
                    "user": plan["cart_session"],
                    "add": plan["add_session"],
                }.get(kind)
                cookie = cookie_header(plan, session)
                path = {"healthz": "/healthz/", "healthz2": "/healthz/", "cart": "/cart/"}.get(
                    name
                ) or plan["pages"].get(USER_PAGES.get(name, name), "")
                extra = {}
                if kind == "add":
                    path = plan["add_paths"][0]
                    extra = {
                        "BENCH_WRK_METHOD": "POST",
                        "BENCH_WRK_BODY": f"quantity=1&csrfmiddlewaretoken={plan['csrf']}",
                        "BENCH_WRK_PATHS": " ".join(plan["add_paths"]),
                    }
                    status = preflight(path, cookie, method="POST", body=extra["BENCH_WRK_BODY"])
                    expected = 302
                else:
                    status = preflight(path, cookie)
                    preflight(path, cookie)
                    result.cache = page_cache_status(path, cookie)
                    expected = 200
                if status != expected:
                    result.note = f"answered {status} (expected {expected}); loaded anyway"
                if WARMUP > 0:  # every worker loads its templates and caches first
                    wrk(path, cookie=cookie, extra_env=extra, seconds=WARMUP)
                from_wrk(result, wrk(path, cookie=cookie, extra_env=extra))
            log(
                f"  {label:30} {result.rps or 0:8.1f} req/s  p50 {result.p50_ms or 0:7.1f} ms"
                f"  p99 {result.p99_ms or 0:7.1f} ms  errors {result.errors} {result.note}"
            )
        run.worker_peak_mb, run.workers = worker_peak_mb(server)
    finally:
        server.stop()

    log("counting SQL queries per page (Django test client, same database)")
    queries = django_side("queries", str(OUT / f"plan-{size}.json"))
    for result in run.results:
        if result.name in queries and result.rps is not None:
            result.queries = queries[result.name]
            result.cold_queries = queries.get(f"{result.name}:cold")
            result.cache = result.cache or queries.get(f"{result.name}:cache", "")
    return run


# --------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------
def fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


# X-Page-Cache as the table says it: a hit was a stored page; anything else was built.
SERVED = {"hit": "page cache", "miss": "built", "bypass": "built"}


def table(run: SizeRun) -> str:
    base = run.baseline_rps
    lines = [
        "| page | req/s | p50 ms | p99 ms | served | SQL queries (after a change) "
        "| × /healthz/ (mean) | errors |",
        "|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in run.results:
        ratio = r.rps / base if (r.rps and base) else None
        queries = fmt(r.queries, "g")
        if r.cold_queries is not None and r.cold_queries != r.queries:
            queries += f" ({fmt(r.cold_queries, 'g')})"
        if r.name == "checkout" and r.queries is not None:
            queries += " per cycle"
        errors = str(r.errors) if r.rps is not None else r.note
        lines.append(
            f"| {r.label} | {fmt(r.rps, '.1f')} | {fmt(r.p50_ms, '.1f')} | "
            f"{fmt(r.p99_ms, '.1f')} | {SERVED.get(r.cache, '—')} | {queries} | "
            f"{fmt(ratio, '.2f')} | {errors} |"
        )
    lines.append("")
    lines.append(
        f"Peak RSS of a gunicorn worker (VmHWM, max of {run.workers}): "
        f"{fmt(run.worker_peak_mb, '.1f')} MB"
    )
    return "\n".join(lines)


def verdicts(runs: list[SizeRun]) -> list[str]:
    out = []
    for run in runs:
        base = run.baseline_rps
        for name, target in RATIO_TARGETS.items():
            r = run.get(name)
            if not (r and r.rps and base):
                out.append(f"- {run.products:,}: {name} — not measured")
                continue
            ratio = r.rps / base
            mark = "met" if ratio >= target else "MISSED"
            out.append(f"- {run.products:,}: {name} {ratio:.2f}× /healthz/ (≥ {target}) — {mark}")
        if run.worker_peak_mb is not None:
            mark = "met" if run.worker_peak_mb < RSS_LIMIT_MB else "MISSED"
            out.append(
                f"- {run.products:,}: worker peak RSS {run.worker_peak_mb:.0f} MB "
                f"(< {RSS_LIMIT_MB}) — {mark}"
            )
    if len(runs) >= 2:
        small, large = runs[0], runs[-1]
        for name in GROWTH_PAGES:
            a, b = small.get(name), large.get(name)
            if a and b and a.p50_ms and b.p50_ms:
                growth = b.p50_ms / a.p50_ms
                mark = "met" if growth <= GROWTH_LIMIT else "MISSED"
                out.append(
                    f"- growth {small.products:,} → {large.products:,}: {name} p50 ×{growth:.2f} "
                    f"(≤ {GROWTH_LIMIT}) — {mark}"
                )
    return out


def versions() -> dict[str, str]:
    def cmd(*args: str) -> str:
        try:
            return subprocess.run(
                args, capture_output=True, text=True, timeout=10, env=ENV, cwd=ROOT
            ).stdout.strip()
        except OSError:
            return "?"

    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    import psycopg2

    conn = psycopg2.connect(PG_URL.replace("postgres://", "postgresql://", 1), connect_timeout=5)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SHOW server_version")
            pg = cursor.fetchone()[0]
    finally:
        conn.close()
    import redis

    redis_version = redis.Redis.from_url(f"{REDIS_URL}/{REDIS_DB}").info().get("redis_version")
    django_version = cmd(PYTHON, "-c", "import django; print(django.get_version())")
    gunicorn_version = cmd(PYTHON, "-c", "import gunicorn; print(gunicorn.__version__)")
    gunicorn_setup = cmd(
        PYTHON,
        "-c",
        "import runpy; c = runpy.run_path('gunicorn.conf.py'); "
        "print(f\"{c['workers']} {c['worker_class']} workers × {c['threads']} thread(s)\")",
    )
    return {
        "Machine": f"{os.cpu_count()} CPUs ({cpu}), {mem_kb / 1024 / 1024:.1f} GiB RAM, "
        f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "Django": django_version,
        "PostgreSQL": pg,
        "Redis": str(redis_version),
        "gunicorn": f"{gunicorn_version}, {gunicorn_setup} (gunicorn.conf.py)",
        "wrk": cmd("wrk", "-v").split(" Copyright")[0] if shutil.which("wrk") else "?",
    }


def write_results(runs: list[SizeRun], info: dict[str, str], explain: str) -> None:
    lines = [
        "# Benchmark results",
        "",
        f"Latest `make bench`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
        f"wrk with {THREADS} threads × {CONNECTIONS} connections, {SECONDS:g} s per page, "
        "DEBUG=False, PostgreSQL, Redis cache, gunicorn on 127.0.0.1 (wrk on the same machine).",
        "",
    ]
    lines += [f"- **{k}**: {v}" for k, v in info.items()]
    for run in runs:
        lines += ["", f"## {run.products:,} products", "", table(run)]
    lines += [
        "",
        "## Targets",
        "",
        *verdicts(runs),
        "",
        "## Query plans on the largest catalogue (bench/explain.py)",
        "",
        "```",
        explain.strip(),
        "```",
        "",
        "Ratios divide a page's requests/s by the mean of the two /healthz/ runs (the first and",
        "the last of each size), which evens out drift in the machine's load during the run.",
        "SQL queries are counted per request in a separate process with Django's test client,",
        "after one warm-up request (the steady state under load), and in brackets for the",
        "request after a catalogue change (stale page cache and counts: the page is built).",
        '"served" says whether the loaded page came from the page cache (anonymous catalogue',
        "pages, and an unchanged signed-in cart) or was built; the signed-in catalogue rows are",
        "always built, so they show what building a page costs. The checkout row is a whole",
        "cycle (add to cart, GET /checkout/, POST) per shopper thread, timed by a Python loop,",
        "because wrk cannot carry the form's one-time token from the GET to the POST.",
        "",
    ]
    Path(RESULTS).write_text("\n".join(lines))


def main() -> int:
    global PORT, ENV
    if not shutil.which("wrk"):
        if os.geteuid() == 0 and shutil.which("apt-get"):
            log("wrk is missing; installing it with apt-get")
            subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, timeout=300)
        if not shutil.which("wrk"):
            log("wrk is needed: apt-get install wrk (or brew install wrk)")
            return 2

    def on_alarm(signum, frame):
        raise Timeout(f"the benchmark took longer than BENCH_TIMEOUT={TIMEOUT}s")

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.alarm(TIMEOUT)

    OUT.mkdir(exist_ok=True)
    PORT = free_port()
    ENV = server_env(PORT)
    runs: list[SizeRun] = []
    created = False
    try:
        try:
            bench_pg(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
            bench_pg(f"CREATE DATABASE {DB_NAME}")
            created = True
            bench_redis_flush()
        except Exception as exc:
            log(f"PostgreSQL ({PG_URL}) and Redis ({REDIS_URL}) are needed: {exc}")
            return 2
        log(f"database {DB_NAME}: migrate and collectstatic")
        manage("migrate", "--noinput")
        manage("collectstatic", "--noinput", "--clear")
        for size in SIZES:
            runs.append(run_size(size))
        explain = ""
        if runs:
            log("EXPLAIN on the largest catalogue")
            done = subprocess.run(
                [PYTHON, str(BENCH / "explain.py"), "--plans", str(OUT / "explain.txt")],
                cwd=ROOT,
                env=ENV,
                capture_output=True,
                text=True,
                timeout=120,
            )
            explain = done.stdout + (done.stderr if done.returncode else "")
        info = versions()
        print()
        for key, value in info.items():
            print(f"{key}: {value}")
        for run in runs:
            print(
                f"\n{run.products:,} products — wrk {THREADS} threads × {CONNECTIONS} "
                f"connections, {SECONDS:g} s per page\n"
            )
            print(table(run))
        print("\nTargets:")
        print("\n".join(verdicts(runs)))
        print("\nEXPLAIN (full plans in bench/out/explain.txt):")
        print(explain)
        if RESULTS and len(runs) >= 2:
            write_results(runs, info, explain)
            log(f"wrote {RESULTS}")
        return 0
    except (SetupError, subprocess.TimeoutExpired) as exc:
        log(f"FAILED: {exc}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        signal.alarm(0)
        if created and not KEEP_DB:
            try:
                bench_pg(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
                log(f"dropped database {DB_NAME}")
            except Exception as exc:
                log(f"could not drop {DB_NAME}: {exc}")
        with contextlib.suppress(Exception):  # Redis gone is fine at this point
            bench_redis_flush()


if __name__ == "__main__":
    sys.exit(main())
