"""A year of measures for all units over a large database: how long `petitions.stats` takes.

    python bench/gen.py --database postgresql+psycopg://postgres@127.0.0.1:5432/xf_bench --n 1000000 --fast
    python bench/stats.py --database postgresql+psycopg://postgres@127.0.0.1:5432/xf_bench

PostgreSQL only; the data comes from bench/gen.py (run it first). It computes
`stats.unit_measures` for the year (default: the current one), then for the current
quarter and month, `--repeat` times each, and prints the first (cold) and the best and
median times with the row counts it ran over. The goal for the year is under a second.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=os.environ.get("DATABASE_URL", ""), help="PostgreSQL URL")
    parser.add_argument("--period", default="", help="the year to compute (default: the current year)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    if not args.database.startswith("postgresql"):
        parser.error("a PostgreSQL database is needed: --database postgresql+psycopg://... (or DATABASE_URL)")

    from app import create_app
    from config.settings import Config
    from petitions import stats
    from petitions.extensions import db

    app = create_app(Config, SQLALCHEMY_DATABASE_URI=args.database, RATELIMIT_STORAGE_URI="memory://")
    with app.app_context():
        counts = {
            table: db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("petitions", "events", "clocks", "ratings", "cards")
        }
        print("rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
        load = os.getloadavg()
        print(f"load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        year = stats.parse_period(args.period) if args.period else stats.current_period("year")
        periods = [year, stats.current_period("quarter"), stats.current_period("month")]
        results = {}
        for period in periods:
            times = []
            for _ in range(args.repeat):
                db.session.rollback()
                t0 = time.perf_counter()
                data = stats.unit_measures(period)
                times.append(time.perf_counter() - t0)
            results[period.label] = data
            total = data["total"]
            print(
                f"{period.kind:8} {period.label:8}  first {times[0]:.3f}s  best {min(times):.3f}s  "
                f"median {statistics.median(times):.3f}s  "
                f"(received {total['received']:,}, closed {total['closed']:,}, rated {total['rated']:,}, "
                f"{len(data['units'])} units)"
            )
        load = os.getloadavg()
        print(f"load average after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print("command: " + " ".join(["python", *sys.argv]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
