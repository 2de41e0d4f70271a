"""The measures' facts (measure_facts): what petitions.measures.stats counts, kept with each change.

Every event goes through `observe` in the transaction that writes it (history.record), which
adds or completes the narrow rows the measures read:

- a routing to a unit (`routed`): one row, with the time of the pair's previous routing
  (`prev_at`) and, once a member of the unit's staff acts on the petition, the time of
  that first action (`acted_at`, the response rate);
- an acceptance decision (`accepted`, `declined`): one row, with the pair's previous one;
- a reply, review opinion or re-review opinion (`replied`): one row, with the pair's previous
  one and, once the citizen rates the unit's reply, the first rating's time and score;
- a closure (`closed`): one row for the unit responsible at closure, `late` when one of the
  unit's clocks on the petition ran past its due time;
- a handling clock stopped (`handled`, through `handled`, called by petitions.services.clocks): the
  days used and the speed-up against the statutory limit.

`rebuild` makes the same rows from the record (events, ratings, petitions, clocks) with
set-based SQL: for data loaded in bulk, and to check that the kept rows are right.
"""

from __future__ import annotations

from sqlalchemy import func, select, text, update

from petitions.extensions import db
from petitions.models import Clock, Event, FactKind, MeasureFact, Petition, Rating, Role, Status

STAFF_ROLES = (Role.HANDLER.value, Role.LEADER.value)
REPLY_TYPES = ("replied", "review_replied", "rereview_replied")
DECISION_TYPES = (FactKind.ACCEPTED.value, FactKind.DECLINED.value)
# Clocks that run against the unit (the citizen's own windows, such as the 30 days to ask
# for review, are not the unit's to keep).
UNIT_CLOCKS = ("accept", "handle", "on_spot", "review", "rereview")
HANDLE_CLOCK = "handle"


def observe(ev: Event, petition: Petition) -> None:
    """Keep the facts of one new event (called by history.record, before the commit)."""
    with db.session.no_autoflush:
        unit_id = ev.unit_id
        if unit_id is not None and ev.actor_role in STAFF_ROLES and petition.id is not None:
            _first_action(petition.id, unit_id, ev)
        if unit_id is not None:
            if ev.type == FactKind.ROUTED.value:
                staff = ev.actor_role in STAFF_ROLES
                _add(petition, FactKind.ROUTED, unit_id, ev, acted_at=ev.at if staff else None)
            elif ev.type in DECISION_TYPES:
                _add(petition, FactKind(ev.type), unit_id, ev)
            elif ev.type in REPLY_TYPES:
                rated_at, score = _first_rating(petition, unit_id)
                _add(petition, FactKind.REPLIED, unit_id, ev, rated_at=rated_at, score=score)
            elif ev.type == "rated" and petition.id is not None:
                _rated(petition.id, unit_id, ev)
        if ev.to_status == Status.CLOSED.value and ev.from_status != Status.CLOSED.value:
            _closed(petition, ev)


def _previous(petition: Petition, kind: FactKind, unit_id: int):
    if petition.id is None:  # filed in this transaction: nothing before it
        return None
    return db.session.scalar(
        select(func.max(MeasureFact.at)).where(
            MeasureFact.petition_id == petition.id, MeasureFact.unit_id == unit_id, MeasureFact.kind == kind
        )
    )


def _add(petition: Petition, kind: FactKind, unit_id: int, ev: Event, **columns) -> None:
    db.session.add(
        MeasureFact(
            kind=kind.value,
            petition=petition,
            unit_id=unit_id,
            at=ev.at,
            prev_at=_previous(petition, kind, unit_id),
            **columns,
        )
    )


def _first_action(petition_id: int, unit_id: int, ev: Event) -> None:
    """The unit's staff acted: the first action recorded after each routing to the unit not yet
    answered (record order; `rebuild` compares event ids)."""
    _complete(FactKind.ROUTED, petition_id, unit_id, MeasureFact.acted_at, acted_at=ev.at)


def _complete(kind: FactKind, petition_id: int, unit_id: int, empty, **values) -> None:
    """Fill `values` into the pair's facts of `kind` whose `empty` column is still empty."""
    db.session.execute(
        update(MeasureFact)
        .where(
            MeasureFact.kind == kind.value,
            MeasureFact.petition_id == petition_id,
            MeasureFact.unit_id == unit_id,
            empty.is_(None),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def _first_rating(petition: Petition, unit_id: int):
    """(time, score) of the first rating the citizen gave the unit on this petition, if any."""
    if petition.id is None:
        return None, None
    row = db.session.execute(
        select(Rating.created_at, Rating.score)
        .where(Rating.petition_id == petition.id, Rating.unit_id == unit_id)
        .order_by(Rating.id)
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else (None, None)


def _rated(petition_id: int, unit_id: int, ev: Event) -> None:
    """The citizen rated the unit's reply: its first rating, on the pair's replies."""
    score = (ev.data or {}).get("score")
    _complete(FactKind.REPLIED, petition_id, unit_id, MeasureFact.rated_at, rated_at=ev.at, score=score)


def _closed(petition: Petition, ev: Event) -> None:
    unit_id = petition.unit_id if petition.unit_id is not None else getattr(petition.unit, "id", None)
    if unit_id is None:
        return
    closed_at = petition.closed_at or ev.at
    late = any(
        c.unit_id == unit_id and c.kind in UNIT_CLOCKS and (c.stopped_at or closed_at) > c.due_at
        for c in petition.clocks
    )
    db.session.add(
        MeasureFact(kind=FactKind.CLOSED.value, petition=petition, unit_id=unit_id, at=closed_at, late=late)
    )


def handled(clock: Clock) -> None:
    """A handling clock (办理) stopped: its days used and speed-up, for the average and 提速率."""
    if clock.kind != HANDLE_CLOCK or clock.unit_id is None or clock.stopped_at is None:
        return
    used = (clock.stopped_at - clock.started_at).total_seconds() / 86400
    allowed = (clock.statutory_due_at - clock.started_at).total_seconds() / 86400
    db.session.add(
        MeasureFact(
            kind=FactKind.HANDLED.value,
            petition=clock.petition,
            unit_id=clock.unit_id,
            at=clock.stopped_at,
            days=used,
            speedup=(allowed - used) / allowed if allowed > 0 else 0.0,
        )
    )


# ---------------------------------------------------------------- rebuilt from the record


def _sql_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


_STAFF = _sql_list(STAFF_ROLES)
_REPLIES = _sql_list(REPLY_TYPES)
_UNIT_CLOCKS = _sql_list(UNIT_CLOCKS)
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
