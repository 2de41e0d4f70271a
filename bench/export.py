"""Exporting every petition as CSV and XLSX: rows, bytes, time and peak memory.

    python bench/export.py --database postgresql+psycopg://postgres@127.0.0.1:5432/xf_bench

PostgreSQL only; the data comes from bench/gen.py (run it first). It exports all the
petitions as the supervisor sees them (`petitions.exports`: rows read in batches through a
server-side cursor, CSV written line by line, XLSX through openpyxl's write-only workbook),
consumes the stream as the web server would send it, and prints for each format the rows,
the bytes, the seconds and the process's peak resident memory (getrusage ru_maxrss) before
and after, with the command line. What it shows: memory does not grow with the rows.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=os.environ.get("DATABASE_URL", ""), help="PostgreSQL URL")
    parser.add_argument("--formats", default="csv,xlsx", help="comma list of csv, xlsx")
    parser.add_argument("--user", default="supervisor", help="whose export (their rights apply)")
    args = parser.parse_args(argv)
    if not args.database.startswith("postgresql"):
        parser.error("a PostgreSQL database is needed: --database postgresql+psycopg://... (or DATABASE_URL)")

    from sqlalchemy import select

    from app import create_app
    from config.settings import Settings
    from petitions.extensions import db
    from petitions.models import User
    from petitions.web import exports

    app = create_app(Settings.from_env(database_url=args.database, ratelimit_storage_uri="memory://"))
    with app.test_request_context():
        user = db.session.scalar(select(User).where(User.username == args.user))
        if user is None:
            parser.error(f"no user {args.user!r} (load the demo county: bench/gen.py does)")
        for fmt in args.formats.split(","):
            before = peak_mb()
            rows = 0

            def counted(source):
                nonlocal rows
                for row in source:
                    rows += 1
                    yield row

            t0 = time.perf_counter()
            size = 0
            source = exports.petition_rows(user, exports.PetitionFilter())
            for chunk in exports.stream(counted(source), fmt, "petitions"):
                size += len(chunk)
            elapsed = time.perf_counter() - t0
            db.session.rollback()
            print(
                f"{fmt:5} {rows - 1:>10,} petitions  {size / 1e6:8.1f} MB written  {elapsed:6.1f} s  "
                f"({(rows - 1) / elapsed:,.0f} rows/s)  peak memory {before:.0f} MB before, {peak_mb():.0f} MB after",
                flush=True,
            )
    print("command: " + " ".join(["python", *sys.argv]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
