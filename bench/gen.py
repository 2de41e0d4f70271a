"""Bulk data for the scale benchmarks: many petitions with their clocks, events, ratings and cards.

    python bench/gen.py --database postgresql+psycopg://postgres@127.0.0.1:5432/xf_bench --n 1000000

PostgreSQL only. The database is migrated and the demo county loaded first (both
idempotent); the rows are then made by set-based SQL, one INSERT ... SELECT statement per
batch (petitions, clocks, events, ratings and cards together, through data-modifying
CTEs), so a million petitions take minutes, not hours. Rows are added to what is there;
their tracking numbers start with "XB" and every query code is 00000000.

The data is shaped for the sweep and the measures: petitions spread over `--days`, a
share `--open` of them still open (filed within the last `--open-days`, so their clocks
are a mix of green, yellow, red and urged), the rest closed, replied, declined or
reviewed, about a third of the replies late, most replies rated. With `--levels settled`
(the default) every clock already has the level and the cards its times call for, as
after a sweep; with `--levels green` the open clocks are all green and the sweep has every
crossing still to find.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

QUERY_CODE = "00000000"

# Each row: its random numbers, its status, then the moments of its life (capped at now).
# Open statuses: registered, routed, accepted, in_progress, under_review.
BATCH_SQL = """
WITH src AS MATERIALIZED (
    SELECT g, ci, ti, r_ch, r_cons, r_anon, r_rate, r_score, status,
           'XB' || lpad(g::text, 14, '0') AS tracking_no,
           created,
           CASE WHEN status <> 'registered'
                THEN LEAST(now(), created + r1 * interval '2 days') END AS routed,
           CASE WHEN status NOT IN ('registered', 'routed')
                THEN LEAST(now(), created + r1 * interval '2 days' + r2 * interval '9 days') END AS decided,
           CASE WHEN status IN ('replied', 'closed', 'under_review', 'review_replied')
                THEN LEAST(now(), created + r1 * interval '2 days' + r2 * interval '9 days'
                                  + (1 + r3 * 44) * interval '1 day') END AS replied,
           r4
    FROM (
        SELECT g, ci, ti, r_ch, r_cons, r_anon, r_rate, r_score, r1, r2, r3, r4, status,
               -- Open petitions are young, the more so the earlier their phase.
               now() - r_age * COALESCE(
                   CASE status WHEN 'registered' THEN 0.12 WHEN 'routed' THEN 0.2 WHEN 'accepted' THEN 0.25
                               WHEN 'in_progress' THEN 1 WHEN 'under_review' THEN 1.5 END * :open_days,
                   :days) * interval '1 day' AS created
        FROM (
            SELECT g,
                   1 + floor(random() * :nc)::int AS ci,
                   1 + floor(random() * :nt)::int AS ti,
                   random() AS r_ch, random() AS r_cons, random() AS r_anon, random() AS r_rate,
                   random() AS r_score, random() AS r_age,
                   random() AS r1, random() AS r2, random() AS r3, random() AS r4,
                   CASE WHEN rs < :open THEN
                        CASE WHEN ra < 0.10 THEN 'registered' WHEN ra < 0.30 THEN 'routed'
                             WHEN ra < 0.45 THEN 'accepted' WHEN ra < 0.92 THEN 'in_progress'
                             ELSE 'under_review' END
                   ELSE
                        CASE WHEN ra < 0.78 THEN 'closed' WHEN ra < 0.90 THEN 'replied'
                             WHEN ra < 0.95 THEN 'not_accepted' ELSE 'review_replied' END
                   END AS status
            FROM (SELECT g, random() AS rs, random() AS ra FROM generate_series(CAST(:lo AS int), CAST(:hi AS int)) AS g) AS seed
        ) AS drawn
    ) AS dated
),
life AS MATERIALIZED (
    SELECT src.*,
           (CAST(:cats AS int[]))[ci] AS category_id,
           (CAST(:places AS int[]))[ti] AS township_id,
           (CAST(:route AS int[]))[(ci - 1) * :nt + ti] AS routed_unit,
           (CAST(:handlers AS int[]))[(ci - 1) * :nt + ti] AS unit_handler,
           (CAST(:leaders AS int[]))[(ci - 1) * :nt + ti] AS unit_leader,
           (CAST(:reports AS boolean[]))[ci] AND r_anon < 0.3 AS anonymous,
           CASE WHEN status <> 'not_accepted' THEN decided END AS accepted,
           CASE WHEN status IN ('under_review', 'review_replied')
                THEN LEAST(now(), replied + (1 + r4 * 4) * interval '1 day') END AS review_started,
           CASE WHEN status = 'review_replied'
                THEN LEAST(now(), replied + (5 + r4 * 25) * interval '1 day') END AS review_done,
           CASE WHEN status = 'closed' THEN LEAST(now(), replied + r4 * interval '20 days') END AS closed
    FROM src
),
p AS (
    INSERT INTO petitions (
        tracking_no, query_code_hash, channel, category_id, township_id, title, content,
        anonymous, public_consent, contact_name, contact_phone, status, unit_id, handler_id,
        version, created_at, updated_at, routed_at, accepted_at, replied_at, closed_at, due_at
    )
    SELECT tracking_no, :code_hash,
           CASE WHEN r_ch < 0.60 THEN 'web' WHEN r_ch < 0.75 THEN 'phone' WHEN r_ch < 0.85 THEN 'letter'
                WHEN r_ch < 0.95 THEN 'visit' ELSE 'api' END,
           category_id, township_id,
           '关于小区' || (g % 97) || '号楼相关问题的反映（' || g || '）',
           repeat('本人反映的问题已持续较长时间，影响周边居民正常生活，恳请有关部门尽快核实处理并予以答复。', 3),
           anonymous, r_cons < 0.3,
           CASE WHEN NOT anonymous THEN (CAST(:names AS text[]))[1 + g % :nn] END,
           CASE WHEN NOT anonymous THEN '13' || lpad((g % 1000000000)::text, 9, '0') END,
           status,
           CASE WHEN status <> 'registered' THEN routed_unit END,
           CASE WHEN accepted IS NOT NULL THEN unit_handler END,
           1, created,
           GREATEST(created, routed, decided, replied, review_started, review_done, closed),
           routed, accepted, replied, closed,
           CASE status WHEN 'registered' THEN created + interval '5 days'
                       WHEN 'routed' THEN routed + interval '7 days'
                       WHEN 'accepted' THEN accepted + interval '30 days'
                       WHEN 'in_progress' THEN accepted + interval '30 days'
                       WHEN 'under_review' THEN review_started + interval '30 days' END
    FROM life
    RETURNING id, tracking_no
),
j AS MATERIALIZED (
    SELECT p.id, life.* FROM p JOIN life USING (tracking_no)
),
c AS (
    INSERT INTO clocks (
        petition_id, kind, unit_id, started_at, due_at, statutory_due_at, allowed_days, day_unit,
        extended_days, stopped_at, level, yellow_at
    )
    SELECT j.id, v.kind, CASE WHEN v.kind <> 'route' THEN j.routed_unit END, v.started,
           v.started + v.days * interval '1 day', v.started + v.statutory * interval '1 day',
           v.days, 'calendar', 0, v.stopped,
           CASE WHEN v.stopped IS NULL AND :settled = false THEN 'green'
                WHEN COALESCE(v.stopped, now()) >= v.started + (v.days + :urge_days) * interval '1 day' THEN 'urged'
                WHEN COALESCE(v.stopped, now()) >= v.started + v.days * interval '1 day' THEN 'red'
                WHEN COALESCE(v.stopped, now()) >= v.started + v.days * interval '1 day' - v.warn THEN 'yellow'
                ELSE 'green' END,
           v.started + v.days * interval '1 day' - v.warn
    FROM j CROSS JOIN LATERAL (
        VALUES ('route', j.created, 5, 15, j.routed),
               ('accept', j.routed, 7, 15, j.decided),
               ('handle', j.accepted, 30, 60, j.replied),
               ('review', j.review_started, 30, 30, j.review_done)
    ) AS v0(kind, started, days, statutory, stopped)
    CROSS JOIN LATERAL (
        -- yellow at 20% of the time or 3 days left, whichever comes first, never before half
        -- of the time has passed (petitions/domain/clocks.py, yellow_from)
        SELECT v0.*, LEAST(GREATEST(v0.days * :yellow_fraction, :yellow_days),
                           v0.days * (1 - :min_elapsed_fraction)) * interval '1 day' AS warn
    ) AS v
    WHERE v.started IS NOT NULL
    RETURNING id, petition_id, unit_id, started_at, due_at, yellow_at, stopped_at
),
e AS (
    INSERT INTO events (petition_id, at, type, unit_id, actor_id, actor_role, from_status, to_status, text, public, data)
    SELECT j.id, v.at, v.type, v.unit_id,
           CASE v.role WHEN 'handler' THEN j.unit_handler WHEN 'leader' THEN j.unit_leader END, v.role,
           v.from_status, v.to_status, '', true, CAST('{}' AS json)
    FROM j CROSS JOIN LATERAL (
        -- The unit's staff act on their own petitions (the response rate looks for them).
        VALUES ('registered', j.created, NULL::int, NULL, NULL, 'registered'),
               ('routed', j.routed, j.routed_unit, NULL, 'registered', 'routed'),
               ('accepted', j.accepted, j.routed_unit, 'handler', 'routed', 'accepted'),
               ('declined', CASE WHEN j.status = 'not_accepted' THEN j.decided END, j.routed_unit, 'leader',
                'routed', 'not_accepted'),
               ('assigned', CASE WHEN j.status <> 'accepted' THEN j.accepted + interval '1 hour' END,
                j.routed_unit, 'leader', 'accepted', 'in_progress'),
               ('replied', j.replied, j.routed_unit, 'leader', 'in_progress', 'replied'),
               ('review_requested', j.review_started, NULL, NULL, 'replied', 'under_review'),
               ('review_replied', j.review_done, NULL, NULL, 'under_review', 'review_replied'),
               ('closed', j.closed, NULL, NULL, 'replied', 'closed')
    ) AS v(type, at, unit_id, role, from_status, to_status)
    WHERE v.at IS NOT NULL
    RETURNING 1
),
r AS (
    INSERT INTO ratings (petition_id, reply_no, score, comment, channel, unit_id, created_at)
    SELECT j.id, 1,
           CASE WHEN j.r_score < 0.75 THEN 'satisfied' WHEN j.r_score < 0.90 THEN 'basically_satisfied'
                ELSE 'unsatisfied' END,
           '', 'web', j.routed_unit, LEAST(now(), j.replied + interval '2 days')
    FROM j
    WHERE j.status IN ('replied', 'closed') AND j.r_rate < 0.7
    RETURNING 1
)
{cards}
SELECT (SELECT count(*) FROM j), (SELECT count(*) FROM c), (SELECT count(*) FROM e), (SELECT count(*) FROM r),
       {cards_count}
"""

# Cards a sweep would have given by now (or by the time the clock stopped).
CARDS_SQL = """,
k AS (
    INSERT INTO cards (petition_id, clock_id, level, seq, unit_id, given_at, batch)
    SELECT c.petition_id, c.id, v.level, 1, c.unit_id, v.at, 'bench-gen'
    FROM c CROSS JOIN LATERAL (
        VALUES ('yellow', c.yellow_at), ('red', c.due_at), ('urged', c.due_at + :urge_days * interval '1 day')
    ) AS v(level, at)
    WHERE (c.stopped_at IS NOT NULL OR :settled) AND v.at <= COALESCE(c.stopped_at, now())
    RETURNING 1
)"""

FILLED = {
    "petitions": {
        "tracking_no",
        "query_code_hash",
        "channel",
        "category_id",
        "township_id",
        "title",
        "content",
        "anonymous",
        "public_consent",
        "contact_name",
        "contact_phone",
        "status",
        "unit_id",
        "handler_id",
        "version",
        "created_at",
        "updated_at",
        "routed_at",
        "accepted_at",
        "replied_at",
        "closed_at",
        "due_at",
    },
    "clocks": {
        "petition_id",
        "kind",
        "unit_id",
        "started_at",
        "due_at",
        "statutory_due_at",
        "allowed_days",
        "day_unit",
        "extended_days",
        "stopped_at",
        "level",
        "yellow_at",
    },
    "events": {
        "petition_id",
        "at",
        "type",
        "unit_id",
        "actor_id",
        "actor_role",
        "from_status",
        "to_status",
        "text",
        "public",
        "data",
    },
    "ratings": {"petition_id", "reply_no", "score", "comment", "channel", "unit_id", "created_at"},
    "cards": {"petition_id", "clock_id", "level", "seq", "unit_id", "given_at", "batch"},
}


def check_columns(metadata, tables: list[str]) -> None:
    """Fail clearly when the schema gained a required column this generator does not fill."""
    missing = []
    for name in tables:
        for col in metadata.tables[name].columns:
            required = not col.nullable and col.server_default is None and not col.primary_key
            if required and col.name not in FILLED[name]:
                missing.append(f"{name}.{col.name}")
    if missing:
        raise SystemExit(f"bench/gen.py does not fill the required column(s) {', '.join(missing)}: add them")


def reference_data(conn) -> dict:
    """Arrays the SQL picks from: leaf categories, places, and the unit and handler for each pair."""
    from petitions.models import Role, UnitKind

    cats = conn.execute(
        text("SELECT id, kind FROM categories WHERE parent_id IS NOT NULL AND active ORDER BY id")
    ).all()
    places = [
        row.id
        for row in conn.execute(
            text("SELECT id FROM units WHERE kind IN (:t, :c) AND active ORDER BY id"),
            {"t": UnitKind.TOWNSHIP.value, "c": UnitKind.COMMITTEE.value},
        )
    ]
    rules = conn.execute(
        text("SELECT category_id, township_id, unit_id, priority FROM routing_rules WHERE active")
    ).all()

    def staff(role: Role) -> dict[int, int]:
        return {
            row.unit_id: row.id
            for row in conn.execute(
                text("SELECT unit_id, min(id) AS id FROM users WHERE role = :r GROUP BY unit_id"),
                {"r": role.value},
            )
        }

    handlers, leaders = staff(Role.HANDLER), staff(Role.LEADER)
    fallback = conn.execute(text("SELECT id FROM units WHERE code = 'xfj'")).scalar_one()
    route: list[int] = []
    for cat in cats:
        for place in places:
            matching = [r for r in rules if r.category_id == cat.id and r.township_id in (place, None)]
            # The most specific rule of the highest priority, as petitions/routing.py decides.
            matching.sort(key=lambda r: (r.priority, r.township_id is not None), reverse=True)
            route.append(matching[0].unit_id if matching else fallback)
    return {
        "cats": [c.id for c in cats],
        "reports": [c.kind == "report" for c in cats],
        "places": places,
        "route": route,
        "handlers": [handlers.get(u) for u in route],
        "leaders": [leaders.get(u) for u in route],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=os.environ.get("DATABASE_URL", ""), help="PostgreSQL URL")
    parser.add_argument("--n", type=int, default=1_000_000, help="petitions to add (default 1,000,000)")
    parser.add_argument("--batch", type=int, default=100_000, help="petitions per statement")
    parser.add_argument("--days", type=float, default=400, help="closed petitions spread over this many days")
    parser.add_argument("--open", type=float, default=0.2, help="share of petitions still open (0..1)")
    parser.add_argument("--open-days", type=float, default=60, help="open petitions filed within these days")
    parser.add_argument("--levels", choices=("settled", "green"), default="settled")
    parser.add_argument(
        "--fast",
        action="store_true",
        help="skip foreign-key checks while inserting (needs a superuser such as postgres)",
    )
    parser.add_argument(
        "--seed", type=float, default=None, help="setseed() value in [-1, 1] for a repeatable run"
    )
    args = parser.parse_args(argv)
    if not args.database.startswith("postgresql"):
        parser.error("a PostgreSQL database is needed: --database postgresql+psycopg://... (or DATABASE_URL)")

    from flask_migrate import upgrade

    from app import create_app
    from config import demo_county
    from config.settings import Settings
    from ops import demo
    from petitions.extensions import db
    from petitions.measures import facts
    from petitions.services import query_codes

    app = create_app(Settings.from_env(database_url=args.database, ratelimit_storage_uri="memory://"))
    thresholds = app.extensions["settings"].thresholds
    started = time.perf_counter()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        demo.load(app.extensions["settings"].demo_password)
        has_cards = "cards" in db.metadata.tables
        check_columns(db.metadata, [t for t in FILLED if t != "cards" or has_cards])
        sql = text(
            BATCH_SQL.replace("{cards}", CARDS_SQL if has_cards else "").replace(
                "{cards_count}", "(SELECT count(*) FROM k)" if has_cards else "0"
            )
        )
        with db.engine.connect() as conn:
            ref = reference_data(conn)
            base = conn.execute(text("SELECT coalesce(max(id), 0) FROM petitions")).scalar_one()
        params = {
            **ref,
            "nc": len(ref["cats"]),
            "nt": len(ref["places"]),
            "names": [s + g for s, g in zip(demo_county.SURNAMES, demo_county.GIVEN, strict=False)],
            # Keyed with this deployment's current key (QUERY_CODE_KEYS), as a filing would.
            "code_hash": query_codes.hash_code(QUERY_CODE),
            "open": args.open,
            "open_days": args.open_days,
            "days": args.days,
            "settled": args.levels == "settled",
            "yellow_fraction": float(thresholds.yellow_fraction),
            "yellow_days": float(thresholds.yellow_days),
            "min_elapsed_fraction": float(thresholds.min_elapsed_fraction),
            "urge_days": float(thresholds.urge_after_days),
        }
        params["nn"] = len(params["names"])
        print(f"setup (migrate, demo county): {time.perf_counter() - started:.1f}s", flush=True)

        totals = [0, 0, 0, 0, 0]
        gen_started = time.perf_counter()
        done = 0
        while done < args.n:
            size = min(args.batch, args.n - done)
            t0 = time.perf_counter()
            with db.engine.begin() as conn:
                conn.execute(text("SET LOCAL synchronous_commit = off"))
                if args.fast:
                    # The rows are consistent by construction: skip the per-row foreign-key triggers.
                    conn.execute(text("SET LOCAL session_replication_role = replica"))
                if args.seed is not None:
                    # One seed per batch: a batch may run on another pooled connection.
                    batch_seed = (args.seed + 1 + 0.0001 * (done // args.batch)) % 2 - 1
                    conn.execute(text("SELECT setseed(:s)"), {"s": batch_seed})
                counts = conn.execute(sql, {**params, "lo": base + done + 1, "hi": base + done + size}).one()
            with db.engine.connect() as conn:
                # Statistics for the planner first: without them it looks up each new row's
                # clocks and ratings through the wrong index.
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                    text("ANALYZE petitions, clocks, events, ratings")
                )
            with db.engine.begin() as conn:
                # What the measures read, made from the rows just written (as the app keeps them).
                facts.rebuild(base + done + 1, base + done + size, connection=conn)
            totals = [a + b for a, b in zip(totals, counts, strict=True)]
            done += size
            rate = size / (time.perf_counter() - t0)
            print(f"  {done:>10,} petitions  ({rate:,.0f}/s)", flush=True)
        insert_s = time.perf_counter() - gen_started
        t0 = time.perf_counter()
        with db.engine.connect() as conn:
            # VACUUM as autovacuum would after so many inserts: statistics for the planner and
            # the visibility map, without which no index-only scan pays off.
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                text(
                    "VACUUM (ANALYZE) petitions, clocks, events, ratings, measure_facts"
                    + (", cards" if has_cards else "")
                )
            )
        analyze_s = time.perf_counter() - t0

    print(
        f"added {totals[0]:,} petitions, {totals[1]:,} clocks, {totals[2]:,} events, {totals[3]:,} ratings, "
        f"{totals[4]:,} cards "
        f"in {insert_s:.1f}s (+ VACUUM ANALYZE {analyze_s:.1f}s); total {time.perf_counter() - started:.1f}s"
    )
    print("command: " + " ".join(["python", *sys.argv]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
