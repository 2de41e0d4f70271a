"""The measures' facts (measure_facts), made anew from the record.

The facts are kept with every change by the unit of work's effects (petitions.services.facts):
a routing with the unit's first action, a decision, a reply with its first rating, a closure
with its late flag, a stopped handling clock with its days. `rebuild` makes the same rows
from the record (events, ratings, petitions, clocks) with set-based SQL: for data loaded in
bulk, and to check that the kept rows are right.
"""

from __future__ import annotations

from sqlalchemy import text

from petitions.domain.clocks import MEASURED
from petitions.extensions import db
from petitions.models import Role

STAFF_ROLES = (Role.HANDLER.value, Role.LEADER.value)
REPLY_TYPES = ("replied", "review_replied", "rereview_replied")


# ---------------------------------------------------------------- rebuilt from the record


def _sql_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


_STAFF = _sql_list(STAFF_ROLES)
_REPLIES = _sql_list(REPLY_TYPES)
_UNIT_CLOCKS = _sql_list(MEASURED)
_COLUMNS = "(kind, petition_id, unit_id, at, prev_at, acted_at, rated_at, score, late, days, speedup)"

REBUILD_SQL = (
    f"""
INSERT INTO measure_facts {_COLUMNS}
SELECT 'routed', e.petition_id, e.unit_id, e.at,
       LAG(e.at) OVER (PARTITION BY e.petition_id, e.unit_id ORDER BY e.at, e.id),
       (SELECT MIN(a.at) FROM events a
         WHERE a.petition_id = e.petition_id AND a.unit_id = e.unit_id
           AND a.actor_role IN {_STAFF} AND a.id >= e.id),
       NULL, NULL, FALSE, NULL, NULL
FROM events e
WHERE e.type = 'routed' AND e.unit_id IS NOT NULL AND e.petition_id BETWEEN :lo AND :hi
""",
    f"""
INSERT INTO measure_facts {_COLUMNS}
SELECT e.type, e.petition_id, e.unit_id, e.at,
       LAG(e.at) OVER (PARTITION BY e.type, e.petition_id, e.unit_id ORDER BY e.at, e.id),
       NULL, NULL, NULL, FALSE, NULL, NULL
FROM events e
WHERE e.type IN ('accepted', 'declined') AND e.unit_id IS NOT NULL AND e.petition_id BETWEEN :lo AND :hi
""",
    f"""
INSERT INTO measure_facts {_COLUMNS}
SELECT 'replied', e.petition_id, e.unit_id, e.at,
       LAG(e.at) OVER (PARTITION BY e.petition_id, e.unit_id ORDER BY e.at, e.id),
       NULL, r.created_at, r.score, FALSE, NULL, NULL
FROM events e
LEFT JOIN ratings r ON r.id = (SELECT MIN(f.id) FROM ratings f
                               WHERE f.petition_id = e.petition_id AND f.unit_id = e.unit_id)
WHERE e.type IN {_REPLIES} AND e.unit_id IS NOT NULL AND e.petition_id BETWEEN :lo AND :hi
""",
    f"""
INSERT INTO measure_facts {_COLUMNS}
SELECT 'closed', p.id, p.unit_id, p.closed_at, NULL, NULL, NULL, NULL,
       EXISTS (SELECT 1 FROM clocks c
                WHERE c.petition_id = p.id AND c.unit_id = p.unit_id AND c.kind IN {_UNIT_CLOCKS}
                  AND COALESCE(c.stopped_at, p.closed_at) > c.due_at),
       NULL, NULL
FROM petitions p
WHERE p.status = 'closed' AND p.unit_id IS NOT NULL AND p.closed_at IS NOT NULL
  AND p.id BETWEEN :lo AND :hi
""",
)


# Days between two timestamps, as a float, in each database's own arithmetic.
_DAYS = {
    "postgresql": "(date_part('epoch', {a} - {b}) / 86400.0)",
    "sqlite": "(julianday({a}) - julianday({b}))",
}
HANDLED_SQL = f"""
INSERT INTO measure_facts {_COLUMNS}
SELECT 'handled', c.petition_id, c.unit_id, c.stopped_at, NULL, NULL, NULL, NULL, FALSE, {{used}},
       CASE WHEN {{allowed}} > 0 THEN ({{allowed}} - {{used}}) / {{allowed}} ELSE 0.0 END
FROM clocks c
WHERE c.kind = 'handle' AND c.unit_id IS NOT NULL AND c.stopped_at IS NOT NULL
  AND c.petition_id BETWEEN :lo AND :hi
"""


def rebuild(lo: int | None = None, hi: int | None = None, *, connection=None) -> None:
    """Make the facts of petitions `lo`..`hi` (all when not given) anew from the record."""
    bounds = {"lo": lo if lo is not None else 0, "hi": hi if hi is not None else 2**62}
    run = connection.execute if connection is not None else db.session.execute
    dialect = (connection.dialect if connection is not None else db.engine.dialect).name
    days = _DAYS.get(dialect, _DAYS["postgresql"])
    run(text("DELETE FROM measure_facts WHERE petition_id BETWEEN :lo AND :hi"), bounds)
    # The months added up from the old facts are added up again from the new (stats.settle).
    run(text("DELETE FROM measure_months"))
    run(text("DELETE FROM settled_months"))
    for sql in REBUILD_SQL:
        run(text(sql), bounds)
    used = days.format(a="c.stopped_at", b="c.started_at")
    allowed = days.format(a="c.statutory_due_at", b="c.started_at")
    run(text(HANDLED_SQL.format(used=used, allowed=allowed)), bounds)
