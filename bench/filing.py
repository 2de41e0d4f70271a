"""Filing throughput: N petitions through petitions.services.filing.file_petition on PostgreSQL.

    python bench/filing.py [--n 2000] [--concurrency 2] [--database postgresql+psycopg://...]

Each filing is the whole domain call as the web form and the API make it: validation,
the tracking number, the hashed query code, routing, the first clock, the events, one
commit. Without --database (or DATABASE_URL) a scratch database is created on the local
server (--server) and dropped afterwards; with one, the petitions are added to it (it is
migrated and given the demo county first, both idempotent). Prints petitions per second,
the latency percentiles of single filings, and the command that produced them.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _app(database: str):
    from app import create_app
    from config.settings import Settings

    # Rate limits are per client address and have nothing to measure here.
    return create_app(Settings.from_env(database_url=database, ratelimit_storage_uri="memory://"))


def _prepare(database: str) -> None:
    from flask_migrate import upgrade

    from ops import demo

    app = _app(database)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        demo.load(app.extensions["settings"].demo_password)


def _filings(n: int, seed: int) -> list:
    from sqlalchemy import select

    from petitions.extensions import db
    from petitions.models import Category, Unit, UnitKind
    from petitions.services.filing import Filing

    rng = random.Random(seed)
    categories = db.session.scalars(
        select(Category).where(Category.parent_id.is_not(None), Category.active.is_(True))
    ).all()
    places = db.session.scalars(
        select(Unit.code).where(Unit.kind.in_([UnitKind.TOWNSHIP.value, UnitKind.COMMITTEE.value]))
    ).all()
    out = []
    for i in range(n):
        category = rng.choice(categories)
        anonymous = category.allows_anonymous and rng.random() < 0.3
        out.append(
            Filing(
                title=f"关于{rng.choice(places)}小区{i % 50}号楼的问题反映",
                content="本人反映的问题已持续较长时间，影响周边居民正常生活，恳请有关部门尽快核实处理。" * 3,
                category=category.code,
                township=rng.choice(places),
                contact_name=None if anonymous else "张三",
                contact_phone=None if anonymous else f"139{rng.randrange(10**8):08d}",
                anonymous=anonymous,
                public_consent=rng.random() < 0.3,
            )
        )
    return out


def _run(database: str, n: int, seed: int, warmup: int) -> list[float]:
    """File `n` petitions in this process; return each filing's latency in seconds."""
    from petitions.extensions import db
    from petitions.services.filing import file_petition

    app = _app(database)
    latencies: list[float] = []
    with app.app_context():
        filings = _filings(n + warmup, seed)
        db.session.remove()
        for i, filing in enumerate(filings):
            t0 = time.perf_counter()
            file_petition(filing)
            elapsed = time.perf_counter() - t0
            db.session.remove()  # each filing starts as a fresh request would
            if i >= warmup:
                latencies.append(elapsed)
    return latencies


def _worker(args: tuple[str, int, int, int]) -> list[float]:
    return _run(*args)


def _percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="petitions to file (default 2,000)")
    parser.add_argument("--concurrency", type=int, default=1, help="processes filing at once")
    parser.add_argument("--database", default=os.environ.get("DATABASE_URL", ""), help="PostgreSQL URL")
    parser.add_argument("--server", default=DEFAULT_SERVER, help="where to create the scratch database")
    parser.add_argument("--warmup", type=int, default=20, help="filings per process not measured")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    scratch = None
    database = args.database
    if not database:
        scratch = f"xf_bench_filing_{os.getpid()}"
        admin = create_engine(args.server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{scratch}"'))
        database = make_url(args.server).set(database=scratch).render_as_string(hide_password=False)
    elif not database.startswith("postgresql"):
        parser.error("this benchmark is for PostgreSQL: --database postgresql+psycopg://...")

    try:
        _prepare(database)
        per = [
            args.n // args.concurrency + (1 if i < args.n % args.concurrency else 0)
            for i in range(args.concurrency)
        ]
        started = time.perf_counter()
        if args.concurrency == 1:
            results = [_run(database, per[0], args.seed, args.warmup)]
        else:
            ctx = mp.get_context("spawn")
            with ctx.Pool(args.concurrency) as pool:
                results = pool.map(
                    _worker, [(database, k, args.seed + i, args.warmup) for i, k in enumerate(per)]
                )
        wall = time.perf_counter() - started
    finally:
        if scratch:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))

    latencies = sorted(x for r in results for x in r)
    # Time spent filing, per process (the processes run side by side).
    busy = sum(latencies) / args.concurrency
    print(f"database:    {make_url(database).render_as_string(hide_password=True)}")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine:     {os.cpu_count()} CPUs, Python {platform.python_version()}, load average {load}")
    print(f"filed:       {len(latencies):,} petitions, {args.concurrency} process(es)")
    print(f"throughput:  {len(latencies) / busy:,.1f} petitions/s (measured filings only)")
    print(f"wall clock:  {wall:.1f}s including start-up and {args.warmup} warm-up filings per process")
    print(
        f"latency:     p50 {_percentile(latencies, 0.50) * 1000:.1f} ms, "
        f"p95 {_percentile(latencies, 0.95) * 1000:.1f} ms, "
        f"p99 {_percentile(latencies, 0.99) * 1000:.1f} ms, "
        f"mean {statistics.fmean(latencies) * 1000:.1f} ms"
    )
    print("command:     " + " ".join(["python", *sys.argv]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
