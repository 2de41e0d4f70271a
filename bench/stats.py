"""A year of measures for all units over a large database: how long `petitions.stats` takes.

    python bench/gen.py --database postgresql+psycopg://postgres@127.0.0.1:5432/xf_bench --n 1000000 --fast
    python bench/stats.py --database postgresql+psycopg://postgres@127.0.0.1:5432/xf_bench

PostgreSQL only; the data comes from bench/gen.py (run it first). It first adds up the
months that can no longer change, as the hourly job does (`stats.settle`, timed), then
computes `stats.unit_measures` for the year (default: the current one), the current
quarter and month, `--repeat` times each, twice: as the app does (settled months from
their sums, the others from the facts) and from the facts alone (every month grouped
anew). It prints the first (cold), best and median times with the row counts, and says
so if the two ways disagree. The goal for the year is under a second.
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
    from config.settings import Settings
    from petitions.extensions import db
    from petitions.measures import stats

    app = create_app(Settings.from_env(database_url=args.database, ratelimit_storage_uri="memory://"))
    with app.app_context():
        counts = {
            table: db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("petitions", "events", "clocks", "ratings", "cards", "measure_facts")
        }
        print("rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
        load = os.getloadavg()
        print(f"load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        year = stats.parse_period(args.period) if args.period else stats.current_period("year")
        periods = [year, stats.current_period("quarter"), stats.current_period("month")]
        # What the hourly job does: add up the months that can no longer change.
        t0 = time.perf_counter()
        added = stats.settle()
        settled = db.session.execute(
            text("SELECT count(*), coalesce(sum(rows), 0) FROM settled_months")
        ).one()
        print(
            f"settle: {time.perf_counter() - t0:.3f}s, added up {len(added)} months ({', '.join(added) or 'none new'});"
            f" {settled[0]} months settled in {settled[1]:,} rows"
        )
        results: dict[str, dict] = {}
        # One moment for every run, so that the two ways answer the same question.
        moment = stats.now()
        for mode in ("settled", "facts only"):
            print(
                f"-- {mode}: "
                + (
                    "months added up, the rest from the facts"
                    if mode == "settled"
                    else "every month from the facts (no month added up)"
                )
            )
            for period in periods:
                times = []
                for _ in range(args.repeat):
                    db.session.rollback()
                    if mode == "facts only":  # inside the transaction, rolled back after
                        db.session.execute(text("DELETE FROM settled_months"))
                    t0 = time.perf_counter()
                    data = stats.unit_measures(period, moment=moment)
                    times.append(time.perf_counter() - t0)
                db.session.rollback()
                if period.label in results and results[period.label] != data:
                    print(f"   !! {period.label}: the two ways disagree")
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
