"""EXPLAIN (ANALYZE, BUFFERS) of every query behind the hot pages, on a given database.

    python bench/explain.py --database postgresql+psycopg://postgres@127.0.0.1:5432/xf_bench_1m

It builds the app on the database, makes each hot request once through the app itself (a
test client: the handler's and intake's queues in the API and on the web, with and without
a text search, the next page by its cursor, the staff view of a petition in the API and on
the web, the public page and a month of the stats API) and records the SQL each one sends.
It then runs EXPLAIN (ANALYZE, BUFFERS) on every SELECT it recorded, with the same
parameters, and prints the plans with their execution times. The public figures are
explained as the scheduled job computes them (`shared.refresh_hot`, one month) and as a
visitor reads them (from Redis: no SQL at all). PostgreSQL only; nothing is written but
the app's own log-in bookkeeping and the Redis cache (`--redis`, a database of its own).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, select, text  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=os.environ.get("DATABASE_URL", ""), help="PostgreSQL URL")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12", help="Redis for the shared cache")
    parser.add_argument("--search", default="噪音", help="the text of the queue search")
    parser.add_argument("--only", default="", help="names of the requests to explain, comma-separated")
    parser.add_argument("--width", type=int, default=160, help="cut SQL lines this long (0: whole)")
    args = parser.parse_args(argv)
    if not args.database.startswith("postgresql"):
        parser.error("a PostgreSQL database is needed: --database postgresql+psycopg://... (or DATABASE_URL)")

    from app import create_app
    from config.settings import Settings
    from petitions.extensions import db
    from petitions.measures import shared, stats
    from petitions.models import Petition, User

    settings = Settings.from_env(
        database_url=args.database, redis_url=args.redis, ratelimit_enabled=False,
        ratelimit_storage_uri="memory://",
    )
    app = create_app(settings)
    password = settings.demo_password
    recorded: list[tuple[str, str, object]] = []
    current = {"name": ""}

    def record(conn, cursor, statement, parameters, context, executemany):
        if current["name"] and re.match(r"\s*(SELECT|WITH)\b", statement, re.I):
            recorded.append((current["name"], statement, parameters))

    # Requests run outside any app context of ours, each in its own (as in the server).
    ctx = app.app_context()
    ctx.push()
    event.listen(db.engine, "before_cursor_execute", record)
    client = app.test_client()

    def token(username: str) -> str:
        r = client.post("/api/v1/tokens", json={"username": username, "password": password})
        assert r.status_code in (200, 201), r.get_data(as_text=True)
        return r.get_json()["token"]

    def session_of(username: str):
        web = app.test_client()
        user_id = db.session.scalar(select(User.id).where(User.username == username))
        with web.session_transaction() as s:
            s["_user_id"] = str(user_id)
            s["_fresh"] = True
        return web

    handler, intake = token("dongcheng-handler"), token("intake")
    web_handler, web_intake = session_of("dongcheng-handler"), session_of("intake")
    sample = db.session.scalar(
        select(Petition.tracking_no).where(Petition.tracking_no.like("XB%")).order_by(Petition.id.desc()).limit(1)
    ) or db.session.scalar(select(Petition.tracking_no).order_by(Petition.id.desc()).limit(1))
    month = stats.current_period().previous()
    shared.refresh_hot()  # as the scheduled job leaves it
    db.session.remove()
    ctx.pop()

    def in_app(fn):
        def run():
            with app.app_context():
                return fn()

        return run

    def api(path: str, bearer: str):
        return lambda: client.get(path, headers={"Authorization": f"Bearer {bearer}"})

    def next_page(path: str, bearer: str):
        def go():
            name, current["name"] = current["name"], ""  # the first page: not recorded again
            first = client.get(path, headers={"Authorization": f"Bearer {bearer}"}).get_json()
            current["name"] = name
            return client.get(f"{path}&after={first['next']}", headers={"Authorization": f"Bearer {bearer}"})

        return go

    requests = [
        ("c1 handler's queue, API", api("/api/v1/queue", handler)),
        ("c2 intake queue, API", api("/api/v1/queue", intake)),
        ("c3 intake queue, search, API", api(f"/api/v1/queue?q={args.search}", intake)),
        ("c1b handler's queue, search, API", api(f"/api/v1/queue?q={args.search}", handler)),
        ("c2b intake queue, page after a cursor, API", next_page("/api/v1/queue?per_page=20", intake)),
        ("w1 handler's queue, web", lambda: web_handler.get("/staff/queue")),
        ("w2 intake queue, web", lambda: web_intake.get("/staff/intake")),
        ("w3 queue search, web", lambda: web_intake.get(f"/staff/queue?q={args.search}")),
        ("d1 staff view, API", api(f"/api/v1/petitions/{sample}", intake)),
        ("d2 staff page, web", lambda: web_intake.get(f"/staff/petitions/{sample}")),
        ("e0 public figures, computed by the scheduled job (one month)",
         in_app(lambda: shared.refresh(f"measures:{month.label}", lambda: stats.unit_measures(month)))),
        ("e1 public page, a visitor (figures from Redis)", lambda: client.get("/public/")),
        ("e2 stats of a month, API (figures from Redis)", lambda: client.get(f"/api/v1/stats/units?period={month.label}")),
    ]
    only = {o.strip() for o in args.only.split(",") if o.strip()}
    for name, run in requests:
        if only and name.split()[0] not in only:
            continue
        current["name"] = name
        started = time.perf_counter()
        response = run()
        took = (time.perf_counter() - started) * 1000
        current["name"] = ""
        status = getattr(response, "status_code", response)
        print(f"-- {name}: {status}, {took:.1f} ms in the app (first request; plans below)")
    with app.app_context():
        event.remove(db.engine, "before_cursor_execute", record)
        load = os.getloadavg()
        count = db.session.scalar(text("SELECT reltuples::bigint FROM pg_class WHERE relname = 'petitions'"))
        print(f"\ndatabase {args.database}, about {count:,} petitions; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        last = None
        with db.engine.connect() as conn:
            for name, statement, parameters in recorded:
                if name != last:
                    print(f"\n==================== {name}")
                    last = name
                sql = " ".join(statement.split())
                if args.width and len(sql) > args.width:
                    sql = sql[: args.width] + " …"
                print(f"\n{sql}")
                plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).scalars()
                for line in plan:
                    print("    " + line)
                conn.rollback()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
