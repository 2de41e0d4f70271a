"""The sweep over a million open petitions: time and peak memory of one run.

    python bench/sweep.py --database postgresql+psycopg://postgres@127.0.0.1:5432/xf_h6_bench --generate 1000000

With `--generate N` it first adds N open petitions with their clocks through bench/gen.py
(`--open 1 --fast`, levels as `--levels` says: `settled`, as after a sweep that has been
running, or `green`, every crossing still to find). It then runs `notifications.sweep.run`
once at the server's now and once a minute later (the steady state: what a sweep every
minute finds), and prints for each the elapsed seconds, what it did, and the process's
peak resident memory (getrusage ru_maxrss), with the command line. The goal is under
5 seconds and 300 MB on this 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=os.environ.get("DATABASE_URL", ""), help="PostgreSQL URL")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/6"))
    parser.add_argument("--generate", type=int, default=0, help="first add this many open petitions (gen.py)")
    parser.add_argument("--levels", choices=("settled", "green"), default="settled")
    args = parser.parse_args(argv)
    if not args.database.startswith("postgresql"):
        parser.error("a PostgreSQL database is needed: --database postgresql+psycopg://...")

    if args.generate:
        from bench import gen

        gen.main(
            [
                "--database",
                args.database,
                "--n",
                str(args.generate),
                "--open",
                "1",
                "--fast",
                "--levels",
                args.levels,
            ]
        )

    from sqlalchemy import func, select

    from app import create_app
    from config.settings import Settings
    from notifications import sweep
    from petitions.domain.clocks import now
    from petitions.extensions import db
    from petitions.models import Clock

    app = create_app(
        Settings.from_env(database_url=args.database, redis_url=args.redis, ratelimit_storage_uri="memory://")
    )
    with app.app_context():
        open_clocks = db.session.scalar(
            select(func.count()).select_from(Clock).where(Clock.stopped_at.is_(None))
        )
        db.session.commit()
        print(f"open clocks: {open_clocks:,}; memory before the sweep: {peak_mb():.0f} MB", flush=True)
        start = now()
        for label, at in (("first sweep", start), ("a minute later", start + timedelta(minutes=1))):
            t0 = time.perf_counter()
            counts = sweep.run(at)
            elapsed = time.perf_counter() - t0
            print(f"{label}: {elapsed:.2f} s, peak memory {peak_mb():.0f} MB, {counts}", flush=True)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("command: " + " ".join(["python", *sys.argv]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
