"""EXPLAIN ANALYZE every query the catalogue pages run, and flag sequential scans.

    DATABASE_URL=postgres://… python bench/explain.py [--plans FILE]

It requests each page with Django's test client (so it sees exactly the queries the views
and products.selectors build, pagination counts included) just after a catalogue change, so
nothing comes from the page or count caches, then runs EXPLAIN (ANALYZE,
BUFFERS) on each captured SELECT. Sequential scans of tables with more than 1,000 rows are
flagged; scans of small tables (categories, sessions) are what PostgreSQL should choose.
bench/run.py runs it on the 100,000-product catalogue; the full plans go to --plans.
"""

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from django.test.utils import CaptureQueriesContext  # noqa: E402
from django_side import Client, connection, sample_pages  # noqa: E402  (sets Django up)

from products.catalogue_cache import catalogue_version_bump  # noqa: E402

BIG_TABLE_ROWS = 1000
PAGES = ["home", "list", "search", "filtered", "category", "detail"]


def table_rows() -> dict[str, float]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reltuples FROM pg_class WHERE relkind = 'r'")
        return dict(cursor.fetchall())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", help="write every full plan to this file")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("EXPLAIN needs PostgreSQL: set DATABASE_URL=postgres://…")
        return 2

    rows = table_rows()
    client = Client(SERVER_NAME="127.0.0.1")
    full: list[str] = []
    bad = 0
    for name, path in sample_pages().items():
        if name not in PAGES:
            continue
        client.get(path)  # warm the caches, as under load
        # ...then make cached pages and counts stale, as any catalogue change does, so the
        # page is built again and every query it can run is seen (a cached page runs none).
        catalogue_version_bump()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        selects = [q["sql"] for q in captured if q["sql"].lstrip().upper().startswith("SELECT")]
        slowest, scans = 0.0, []
        for sql in selects:
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                plan = "\n".join(r[0] for r in cursor.fetchall())
            ms = float(re.search(r"Execution Time: ([\d.]+) ms", plan).group(1))
            slowest = max(slowest, ms)
            for table in re.findall(r"Seq Scan on (\w+)", plan):
                if rows.get(table, 0) > BIG_TABLE_ROWS:
                    scans.append(table)
            full.append(f"-- {name} {path}\n{sql}\n{plan}\n")
        verdict = (
            "no sequential scan of a large table"
            if not scans
            else f"SEQUENTIAL SCAN of {', '.join(sorted(set(scans)))}"
        )
        bad += bool(scans)
        print(
            f"{name:9} {path[:60]:60} HTTP {response.status_code}, {len(selects)} SELECTs, "
            f"slowest {slowest:.1f} ms: {verdict}"
        )
    if args.plans:
        Path(args.plans).write_text("\n".join(full))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
