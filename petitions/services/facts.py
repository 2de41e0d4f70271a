"""Keeping the measures' facts (measure_facts) with each change: effects of the unit of work.

They run in the transaction of the change that recorded the event (petitions.services.effects),
so the facts commit with it, and add or complete the narrow rows the measures read
(petitions.measures):

- a routing to a unit (`routed`): one row, with the time of the pair's previous routing
  (`prev_at`) and, once a member of the unit's staff acts on the petition, the time of
  that first action (`acted_at`, the response rate: `first_action`, on every event);
- an acceptance decision (`accepted`, `declined`): one row, with the pair's previous one;
- a reply, review opinion or re-review opinion: one row, with the pair's previous one and,
  once the citizen rates the unit's reply, the first rating's time and score (`rated`);
- a closure: one row for the unit responsible at closure, `late` when one of the unit's
  clocks on the petition ran past its due time;
- a handling clock stopped (`handled`): the days used and the speed-up against the
  statutory limit.

petitions.measures.facts.rebuild makes the same rows from the record with set-based SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update

from petitions.domain.clocks import MEASURED
from petitions.domain.workflow import CLOSED
from petitions.extensions import db
from petitions.models import Event, FactKind, MeasureFact, Rating, Role
from petitions.services.work import Signal, Work

STAFF_ROLES = (Role.HANDLER.value, Role.LEADER.value)
HANDLE_CLOCK = "handle"


def first_action(work: Work, events: Sequence[Event]) -> None:
    """The unit's staff acted: the first action recorded after each routing to the unit not yet
    answered (record order; `rebuild` compares event ids)."""
    for ev in events:
        if ev.unit_id is not None and ev.actor_role in STAFF_ROLES and ev.petition_id is not None:
            _complete(FactKind.ROUTED, ev.petition_id, ev.unit_id, MeasureFact.acted_at, acted_at=ev.at)


def routed(work: Work, events: Sequence[Event]) -> None:
    for ev in events:
        if ev.unit_id is not None:
            staff = ev.actor_role in STAFF_ROLES
            _add(work, ev, FactKind.ROUTED, acted_at=ev.at if staff else None)


def decided(work: Work, events: Sequence[Event]) -> None:
    for ev in events:
        if ev.unit_id is not None:
            _add(work, ev, FactKind(ev.type))


def replied(work: Work, events: Sequence[Event]) -> None:
    for ev in events:
        if ev.unit_id is not None:
            rated_at, score = _first_rating(ev.petition_id, ev.unit_id)
            _add(work, ev, FactKind.REPLIED, rated_at=rated_at, score=score)


def rated(work: Work, events: Sequence[Event]) -> None:
    """The citizen rated the unit's reply: its first rating, on the pair's replies."""
    for ev in events:
        if ev.unit_id is not None:
            score = (ev.data or {}).get("score")
            _complete(
                FactKind.REPLIED, ev.petition_id, ev.unit_id, MeasureFact.rated_at, rated_at=ev.at, score=score
            )


def closed(work: Work, events: Sequence[Event]) -> None:
    """A closure counts for the unit responsible at closure; late when one of its clocks ran late."""
    for ev in events:
        if ev.to_status != CLOSED or ev.from_status == CLOSED:
            continue
        petition = ev.petition
        unit_id = petition.unit_id if petition.unit_id is not None else getattr(petition.unit, "id", None)
        if unit_id is None:
            continue
        closed_at = petition.closed_at or ev.at
        late = any(
            c.unit_id == unit_id and c.kind in MEASURED and (c.stopped_at or closed_at) > c.due_at
            for c in petition.clocks
        )
        db.session.add(
            MeasureFact(kind=FactKind.CLOSED.value, petition=petition, unit_id=unit_id, at=closed_at, late=late)
        )


def handled(work: Work, signals: Sequence[Signal]) -> None:
    """A handling clock (办理) stopped: its days used and speed-up, for the average and 提速率."""
    for signal in signals:
        clock = signal.clock
        if clock.kind != HANDLE_CLOCK or clock.unit_id is None or clock.stopped_at is None:
            continue
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


# ---------------------------------------------------------------- helpers


def _add(work: Work, ev: Event, kind: FactKind, **columns: Any) -> None:
    """One fact for the event's petition and unit, with the time of the pair's previous fact of
    `kind` (read in the INSERT itself; none for a petition registered in this unit of work)."""
    previous = (
        None
        if work.registered_here(ev.petition_id)
        else select(func.max(MeasureFact.at))
        .where(
            MeasureFact.petition_id == ev.petition_id,
            MeasureFact.unit_id == ev.unit_id,
            MeasureFact.kind == kind.value,
        )
        .scalar_subquery()
    )
    db.session.add(
        MeasureFact(
            kind=kind.value,
            petition_id=ev.petition_id,
            unit_id=ev.unit_id,
            at=ev.at,
            prev_at=previous,
            **columns,
        )
    )


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


def _first_rating(petition_id: int, unit_id: int):
    """(time, score) of the first rating the citizen gave the unit on this petition, if any."""
    row = db.session.execute(
        select(Rating.created_at, Rating.score)
        .where(Rating.petition_id == petition_id, Rating.unit_id == unit_id)
        .order_by(Rating.id)
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else (None, None)


