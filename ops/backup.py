"""`make backup` and `make restore`: the PostgreSQL database (pg_dump custom format) and the
uploads (a tar of MEDIA_ROOT; with a bucket, a note: the bucket keeps its own versions).

    python ops/backup.py backup [--to DIR]        # default backups/<UTC time>/
    python ops/backup.py restore --from DIR       # into DATABASE_URL (an empty database)

Both read the shop's settings (DATABASE_URL, MEDIA_ROOT, the storage) from the environment
like every other process. pg_dump/pg_restore must be of the server's major version or newer.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUCKET_NOTE = (
    "Uploads are kept in the bucket {bucket!r}, not on this machine: they are not in this "
    "backup. Turn on the bucket's versioning (and a lifecycle rule for old versions) so a "
    "deleted or overwritten image can be brought back from the bucket itself.\n"
)


def _settings():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myecommerce.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        sys.exit(
            "make backup/restore are for PostgreSQL (DATABASE_URL=postgres://…). For SQLite, "
            "copy the file with `sqlite3 db.sqlite3 '.backup backup.sqlite3'`."
        )
    return settings


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        sys.exit(f"{name} is not installed (apt-get install postgresql-client)")
    return found


def _database_url() -> str:
    # libpq reads postgres:// URLs itself (password, host, port, options).
    return os.environ["DATABASE_URL"]


def _bucket(settings) -> str | None:
    backend = settings.STORAGES["default"]["BACKEND"]
    if "FileSystemStorage" in backend:
        return None
    return settings.STORAGES["default"].get("OPTIONS", {}).get("bucket_name", backend)


def backup(target: Path) -> Path:
    settings = _settings()
    target.mkdir(parents=True, exist_ok=False)
    subprocess.run(  # noqa: S603 - fixed arguments
        [
            _tool("pg_dump"),
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--file={target / 'database.dump'}",
            f"--dbname={_database_url()}",
        ],
        check=True,
    )
    bucket = _bucket(settings)
    if bucket:
        (target / "MEDIA-IN-BUCKET.txt").write_text(BUCKET_NOTE.format(bucket=bucket))
    else:
        with tarfile.open(target / "media.tar.gz", "w:gz") as tar:
            media = Path(settings.MEDIA_ROOT)
            if media.is_dir():
                tar.add(media, arcname=".")
    print(f"backed up to {target}")
    return target


def restore(source: Path) -> None:
    settings = _settings()
    dump = source / "database.dump"
    if not dump.is_file():
        sys.exit(f"{dump} is missing: not a backup made by `make backup`")
    subprocess.run(  # noqa: S603 - fixed arguments
        [
            _tool("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={_database_url()}",
            str(dump),
        ],
        check=True,
    )
    media = source / "media.tar.gz"
    if media.is_file():
        target = Path(settings.MEDIA_ROOT)
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(media) as tar:
            tar.extractall(target, filter="data")
    print(f"restored {source}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("backup")
    make.add_argument("--to", type=Path, help="a new folder (default backups/<UTC time>)")
    back = commands.add_parser("restore")
    back.add_argument("--from", dest="source", type=Path, required=True)
    args = parser.parse_args()
    if args.command == "backup":
        backup(args.to or ROOT / "backups" / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    else:
        restore(args.source)


if __name__ == "__main__":
    main()
