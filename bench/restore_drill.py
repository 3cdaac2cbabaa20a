"""The restore drill: back up a (soaked) database with `make backup`'s script, restore it into a
fresh database with `make restore`'s, and check that the counts and the stock books match.

    python bench/restore_drill.py postgres://postgres@127.0.0.1:5432/<soaked database>

bench/chaos.py runs it on its database at the end (CI). Exit 1 when anything differs.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from loopback import PYTHON, ROOT, pg_admin, with_dbname

FIGURES = {
    "users": "SELECT count(*) FROM accounts_user",
    "products": "SELECT count(*) FROM products_product",
    "units in stock": "SELECT coalesce(sum(stock), 0) FROM products_product",
    "stock movements": "SELECT count(*) FROM products_stockmovement",
    "orders": "SELECT count(*) FROM orders_order",
    "cancelled orders": "SELECT count(*) FROM orders_order WHERE status = 'cancelled'",
    "order lines": "SELECT count(*) FROM orders_orderitem",
    "units ordered": "SELECT coalesce(sum(quantity), 0) FROM orders_orderitem",
    "order total": "SELECT coalesce(sum(total), 0) FROM orders_order",
    "outbox e-mails": "SELECT count(*) FROM mailer_message",
    # The stock books: every product's stock is its last movement's resulting stock.
    "products whose stock disagrees with the ledger": """
        SELECT count(*) FROM products_product p JOIN LATERAL (
            SELECT resulting_stock FROM products_stockmovement m
            WHERE m.product_id = p.id ORDER BY m.id DESC LIMIT 1
        ) last ON true WHERE last.resulting_stock <> p.stock""",
}


def figures(url: str) -> dict[str, str]:
    import psycopg2

    conn = psycopg2.connect(url.replace("postgres://", "postgresql://", 1), connect_timeout=5)
    try:
        with conn.cursor() as cursor:
            found = {}
            for name, sql in FIGURES.items():
                cursor.execute(sql)
                found[name] = str(cursor.fetchone()[0])
            return found
    finally:
        conn.close()


def drill(source_url: str, admin_url: str, workdir: Path, env: dict[str, str]) -> list[str]:
    """Back up `source_url`, restore into a new database on the same server; the differences."""
    restored = "restore_drill"
    pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{restored}"')
    pg_admin(admin_url, f'CREATE DATABASE "{restored}"')
    backup_dir = workdir / "backup"
    script = str(ROOT / "ops" / "backup.py")
    try:
        subprocess.run(  # noqa: S603 - fixed arguments
            [PYTHON, script, "backup", "--to", str(backup_dir)],
            env={**env, "DATABASE_URL": source_url},
            cwd=ROOT,
            check=True,
            timeout=600,
        )
        subprocess.run(  # noqa: S603
            [PYTHON, script, "restore", "--from", str(backup_dir)],
            env={
                **env,
                "DATABASE_URL": with_dbname(source_url, restored),
                "MEDIA_ROOT": str(workdir / "restored-media"),
            },
            cwd=ROOT,
            check=True,
            timeout=600,
        )
        before, after = figures(source_url), figures(with_dbname(source_url, restored))
    finally:
        pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')
    print("\nRestore drill (pg_dump custom format → pg_restore into a fresh database):")
    problems = []
    for name in FIGURES:
        same = before[name] == after[name]
        print(f"  {name:<48} {before[name]:>10} → {after[name]:>10} {'✓' if same else '✗'}")
        if not same:
            problems.append(f"restore drill: {name} {before[name]} became {after[name]}")
    if before["products whose stock disagrees with the ledger"] != "0":
        problems.append("restore drill: the stock books disagree in the source database")
    media = "media.tar.gz" if (backup_dir / "media.tar.gz").exists() else "a note (bucket)"
    size = (backup_dir / "database.dump").stat().st_size
    print(f"  backup: database.dump {size / 1024:.0f} KiB and {media}")
    return problems


def main() -> int:
    import os

    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    source = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="restore-drill-") as tmp:
        problems = drill(source, with_dbname(source, "postgres"), Path(tmp), dict(os.environ))
    for problem in problems:
        print(f"  ✗ {problem}")
    print("RESTORE DRILL " + ("FAILED" if problems else "PASSED: counts and stock books match"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
