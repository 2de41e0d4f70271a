"""Electronic supervision (电子监察): the cards the sweep gives running clocks, the urging card,
and the daily reminder of red clocks.

`give_cards(at)` finds, set-based, every open supervised clock that crossed into yellow,
red or urged and, in one unit of work, takes the workflow's system rule for each card
(`card-yellow`, `card-red`, `card-urged`), gives the card, sets the clock's level and
writes one event per card; the effects table then owes the texts (the event type's
`hears`: yellow the handler, red the handler and the leader, urged the supervisors and
the leader). Cards carry a unique (clock, level, seq) and are inserted with ON CONFLICT
DO NOTHING, so two sweeps at once (or a sweep and a clock's own check) give each card once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, time, timedelta

from sqlalchemy import and_, func, insert, literal, select, text, update

from petitions.domain import clocks as rules
from petitions.domain import workflow as wf
from petitions.domain.calendar import local_moment
from petitions.domain.clocks import RED, URGED, YELLOW, as_utc
from petitions.domain.events import HANDLER, LEADER
from petitions.extensions import db, settings
from petitions.models import Card, Clock, Event, Petition
from petitions.services import messages
from petitions.services.work import Work

# The system rule (petitions.domain.workflow) that gives each level's card.
CARD_ACTIONS = {YELLOW: "card-yellow", RED: "card-red", URGED: "card-urged"}
# Serialises sweeps on PostgreSQL (uniqueness alone is correct, the lock avoids deadlocks).
ADVISORY_LOCK = 0x5846_5357  # "XFSW"
# Clocks given cards per statement (a catch-up after downtime may find hundreds of thousands).
CHUNK = 5000

k = Card.__table__


def urge_card(work: Work, events: Sequence[Event]) -> None:
    """A supervisor's formal urging (督办): an `urged` card on the running clock, given by them."""
    for ev in events:
        clock = ev.petition.open_clock
        if clock is None or clock.id is None:
            continue
        given = db.session.scalar(
            select(func.count(Card.id)).where(Card.clock_id == clock.id, Card.level == URGED)
        )
        card = Card(
            petition_id=ev.petition_id,
            clock_id=clock.id,
            level=URGED,
            seq=(given or 0) + 1,
            unit_id=clock.unit_id,
            given_at=ev.at,
            batch=f"urge-e{ev.id}",
            given_by_id=ev.actor_id,
        )
        db.session.add(card)
        db.session.flush()
        work.card_of[ev.id] = card.id


def lock_sweep() -> None:
    """One sweep at a time on PostgreSQL, until the transaction ends."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK})


def _open_supervised(clock_ids: list[int] | None) -> list:
    cond = [Clock.stopped_at.is_(None), Clock.kind.in_(rules.SUPERVISED)]
    if clock_ids is not None:
        cond.append(Clock.id.in_(clock_ids))
    return cond


def give_cards(work: Work, at: datetime, clock_ids: list[int] | None = None) -> dict[str, int]:
    """Give every open supervised clock (or those of `clock_ids`) the cards its time calls for.

    A clock found already overdue gets its red card without a yellow one on the way; one
    found red for days gets both red and urged. The caller commits the unit of work."""
    at = as_utc(at)
    t = settings().thresholds
    batch = uuid.uuid4().hex
    counts = {}
    for level in (YELLOW, RED, URGED):
        cond = [*_open_supervised(clock_ids), Clock.reached(level, at, t)]
        below = [lv for lv in rules.LEVELS if rules.RANK[lv] < rules.RANK[level]]
        cond.append(Clock.level.in_(below))
        if level == YELLOW:
            # Only clocks that are yellow now: one found already overdue goes straight to red.
            cond.append(Clock.at_level([YELLOW], at, t))
        counts[level] = _cross(work, level, at, batch, cond)
    return counts


def _cross(work: Work, level: str, at: datetime, batch: str, cond: list) -> int:
    action = CARD_ACTIONS[level]
    candidates = db.session.execute(
        select(Clock.id, Petition.status).join(Petition, Petition.id == Clock.petition_id).where(*cond)
    ).all()
    allowed = [
        clock_id
        for clock_id, status in candidates
        if wf.decide(action, wf.SYSTEM, {wf.ANY}, wf.State(status=status)).allowed
    ]
    given = 0
    for start in range(0, len(allowed), CHUNK):
        chunk = allowed[start : start + CHUNK]
        given += _give(work, level, at, batch, chunk, cond, wf.rules_for(action)[0])
    return given


def _give(
    work: Work, level: str, at: datetime, batch: str, clock_ids: list[int], cond: list, rule: wf.Rule
) -> int:
    """Cards for these clocks, the crossing checked again in the INSERT itself: a sweep that
    committed in between (SQLite has no advisory lock) leaves nothing to give."""
    c = Clock.__table__
    given = select(func.count()).select_from(k).where(k.c.clock_id == c.c.id, k.c.level == level)
    cards = (
        messages.insert(k)
        .from_select(
            ["petition_id", "clock_id", "level", "seq", "unit_id", "given_at", "batch"],
            select(
                c.c.petition_id,
                c.c.id,
                literal(level),
                given.scalar_subquery() + 1,
                c.c.unit_id,
                messages.ts(at),
                literal(batch),
            ).where(c.c.id.in_(clock_ids), *cond),
        )
        .on_conflict_do_nothing()
        .returning(k.c.id, k.c.petition_id, k.c.clock_id, k.c.unit_id, k.c.seq)
    )
    new = db.session.execute(cards).all()
    if not new:
        return 0
    db.session.execute(update(Clock).where(Clock.id.in_([r.clock_id for r in new])).values(level=level))
    rows = [
        {
            "petition_id": r.petition_id,
            "at": at,
            "type": rule.event,
            "actor_id": None,
            "actor_role": None,
            "unit_id": r.unit_id,
            "from_status": None,
            "to_status": None,
            "text": "",
            "public": rule.public,
            "data": {"level": level, "clock_id": r.clock_id, "card_id": r.id, "seq": r.seq},
        }
        for r in new
    ]
    events = db.session.scalars(insert(Event).returning(Event), rows).all()
    work.collect(events)
    return len(new)


def remind_red_daily(work: Work, at: datetime, clock_ids: list[int] | None = None) -> int:
    """After the daily repeat time (09:00), one reminder that day (handler and leader) for each
    clock red, or urged, for a day or more. Owing it twice owes nothing new (the row's key)."""
    zone = messages.tz()
    local = at.astimezone(zone)
    hour, minute = (int(x) for x in settings().notify.repeat_at.split(":"))
    today_at = local_moment(local.date(), time(hour, minute), zone)
    if at < today_at:
        return 0
    cond = and_(
        *_open_supervised(clock_ids),
        Clock.level.in_([RED, URGED]),
        Clock.due_at <= messages.ts(today_at - timedelta(days=1)),
    )
    occurrence = literal(f"d{local.date().isoformat()}")
    owed = []
    for audience in (HANDLER, LEADER):
        for query in messages.recipients(audience, occurrence, clocks=cond):
            owed += messages.owe(query, "staff_red_repeat", "repeat", at=at)
    work.deliver_after_commit(owed)
    return len(owed)
