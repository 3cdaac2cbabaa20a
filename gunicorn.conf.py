"""gunicorn settings for production and for the benchmark (`make bench`).

    gunicorn -c gunicorn.conf.py myecommerce.wsgi

Every value can be changed from the environment, so one file serves every machine:

GUNICORN_BIND        address to listen on; default 0.0.0.0:$PORT when PORT is set (PaaS),
                     else 127.0.0.1:8000 (put a proxy in front, or set 0.0.0.0:8000)
GUNICORN_WORKERS     processes; default CPU cores + 1 (3 on a 2-core box), see below
GUNICORN_THREADS     threads per worker; default 1 (the sync worker). More than 1 switches
                     to the gthread worker.
GUNICORN_MAX_REQUESTS / GUNICORN_MAX_REQUESTS_JITTER
                     recycle a worker after about this many requests (default 1000 ± 100),
                     which bounds slow memory growth; 0 turns it off
GUNICORN_TIMEOUT     seconds before a silent worker is killed and replaced (default 30)
GUNICORN_ACCESS_LOG  file or "-" for stdout; off by default (the proxy logs requests)
GUNICORN_LOG_LEVEL   default "info"
FORWARDED_ALLOW_IPS  proxies whose X-Forwarded-* headers are trusted: only with
                     TRUSTED_PROXY_COUNT > 0 (then default 127.0.0.1, a proxy on this machine);
                     with TRUSTED_PROXY_COUNT = 0 (the default: no proxy) nobody is trusted,
                     whatever this says, as the app's own client-address rule
                     (myecommerce.proxies) trusts nobody then either

Why these defaults (measured with `make bench` on a 2-core box, 1,000 products, requests/s):

    workers × threads    /healthz/   home   list   detail   cart
    5 sync (2×cores+1)     3,200     236     78     375      201
    4 sync                 3,490     231      —     419      236
    3 sync (cores+1)       3,720     292     84     473      240
    3 gthread × 2          3,670     150     85     535      134
    2 gthread × 4          3,750     138     41     470      218

(means of two 5-second runs where a configuration was run twice; wrk on the same machine.)

The shop's requests are short and CPU-bound (template rendering) with sub-millisecond
PostgreSQL and Redis round trips, so a worker rarely waits: one process per core, plus one to
cover those waits, keeps both cores busy; more processes only add context switches and memory,
and threads fight over the GIL. The usual 2 × cores + 1 suits servers whose database is on
another machine (longer waits): set GUNICORN_WORKERS there. The sync worker closes the
connection after each response, which is right behind a proxy that buffers slow clients and
keeps their connections open itself (nginx, a cloud load balancer).
`preload_app` imports Django once in the master, so workers share its memory pages and start
fast; Django opens no database connection at import time, so nothing is shared across forks.
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


if os.environ.get("GUNICORN_BIND"):
    bind = os.environ["GUNICORN_BIND"].split(",")
elif os.environ.get("PORT"):
    bind = [f"0.0.0.0:{os.environ['PORT']}"]
else:
    bind = ["127.0.0.1:8000"]

workers = _int("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1)
threads = _int("GUNICORN_THREADS", 1)
worker_class = "gthread" if threads > 1 else "sync"
keepalive = 5  # only the gthread worker keeps connections open

max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", max_requests // 10)
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 20)
preload_app = True
# A heartbeat file on disk can stall workers on slow or full disks; memory is safer.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108

accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
forwarded_allow_ips = (
    os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1") if _int("TRUSTED_PROXY_COUNT", 0) > 0 else ""
)
proc_name = "myecommerce"
