"""The sweep (every minute, and for one clock at its crossing moments): set-based SQL that

1. finds every open, supervised clock that crossed into yellow, red or urged and, in one
   transaction, gives it its card, sets its level, writes its event and the outbox rows
   for the people who must hear of it (yellow: the handler; red: the handler and the unit
   leader; urged: the supervisors and the unit leader);
2. after the daily repeat time (09:00), owes every clock red for a day or more one more
   reminder that day (handler and leader);
3. takes back rows whose delivery worker died mid-send, and gives every queued, due
   outbox row without a live RQ job a new one (each minute the rows that fell due since
   the last check; all of them every ten minutes and after Redis was wiped).

Cards and outbox rows carry unique keys and are inserted with ON CONFLICT DO NOTHING, so
two sweeps at once (or a sweep and a clock job) give each card and owe each message once.
Staff texts written during the quiet hours wait for their end.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from datetime import datetime, time, timedelta

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import String, and_, cast, false, func, literal, null, select, text, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Select

from notifications import outbox, queueing
from petitions.domain import calendar as deadlines
from petitions.domain.clocks import as_utc, now
from petitions.extensions import db
from petitions.models import Card, Clock, Event, Outbox, OutboxStatus, Petition, Unit, User
from petitions.types import UTCDateTime

log = logging.getLogger(__name__)

YELLOW, RED, URGED = "yellow", "red", "urged"
# Who hears of each level.
RECIPIENTS = {YELLOW: ("handler",), RED: ("handler", "leader"), URGED: ("supervisor", "leader")}
# Serialises sweeps on PostgreSQL (uniqueness alone is correct, the lock avoids deadlocks).
ADVISORY_LOCK = 0x5846_5357  # "XFSW"
ENQUEUE_BATCH = 5000

c = Clock.__table__
k = Card.__table__
p = Petition.__table__
u = User.__table__
o = Outbox.__table__
e = Event.__table__


def _insert(table):
    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"the sweep speaks PostgreSQL and SQLite, not {dialect}")


def _json_object(*pairs):
    fn = func.json_build_object if db.engine.dialect.name == "postgresql" else func.json_object
    return fn(*pairs)


def _ts(value: datetime):
    return literal(as_utc(value), type_=UTCDateTime())


def run(at: datetime | None = None, clock_ids: list[int] | None = None) -> dict[str, int]:
    """One sweep at `at` (the server's now); `clock_ids` restricts it to those clocks. Commits."""
    at = as_utc(at or now())
    counts: dict[str, int] = {}
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK})
    batch = uuid.uuid4().hex
    for level in (YELLOW, RED, URGED):
        counts[level] = _cross(level, at, batch, clock_ids)
    counts["repeat"] = _repeat(at, clock_ids)
    db.session.commit()
    while _markers:
        _mark_done(_markers.pop())
    counts["recovered"] = _recover(at)
    counts["enqueued"] = _ensure_jobs(at)
    return counts


# ---------------------------------------------------------------- 1. crossings


def _open_supervised(clock_ids: list[int] | None) -> list:
    cond = [c.c.stopped_at.is_(None), c.c.kind.in_(current_app.config["SUPERVISED_CLOCKS"])]
    if clock_ids is not None:
        cond.append(c.c.id.in_(clock_ids))
    return cond


def _cross(level: str, at: datetime, batch: str, clock_ids: list[int] | None) -> int:
    warning = current_app.config["WARNING"]
    cond = _open_supervised(clock_ids)
    if level == YELLOW:
        # Only clocks that are yellow now: one found already overdue goes straight to red.
        cond += [c.c.level == "green", c.c.yellow_at <= _ts(at), c.c.due_at > _ts(at)]
    elif level == RED:
        cond += [c.c.level.in_(["green", "yellow"]), c.c.due_at <= _ts(at)]
    else:
        urged_due = at - timedelta(days=warning["urge_after_days"])
        cond += [c.c.level.in_(["green", "yellow", "red"]), c.c.due_at <= _ts(urged_due)]

    given = select(func.count()).select_from(k).where(k.c.clock_id == c.c.id, k.c.level == level)
    cards = _insert(k).from_select(
        ["petition_id", "clock_id", "level", "seq", "unit_id", "given_at", "batch"],
        select(
            c.c.petition_id,
            c.c.id,
            literal(level),
            given.scalar_subquery() + 1,
            c.c.unit_id,
            _ts(at),
            literal(batch),
        ).where(*cond),
    )
    db.session.execute(cards.on_conflict_do_nothing())
    mine = and_(k.c.batch == batch, k.c.level == level)
    given_now = db.session.scalar(select(func.count()).select_from(k).where(mine)) or 0
    if not given_now:
        return 0
    db.session.execute(update(c).where(c.c.id.in_(select(k.c.clock_id).where(mine))).values(level=level))
    db.session.execute(
        e.insert().from_select(
            [
                "petition_id",
                "at",
                "type",
                "actor_id",
                "actor_role",
                "unit_id",
                "from_status",
                "to_status",
                "text",
                "public",
                "data",
            ],
            select(
                k.c.petition_id,
                _ts(at),
                literal(f"card_{level}"),
                null(),
                null(),
                k.c.unit_id,
                null(),
                null(),
                literal(""),
                # Cards are supervision facts for staff; the citizen sees the deadlines themselves.
                false(),
                _json_object(
                    literal("level"),
                    literal(level),
                    literal("clock_id"),
                    k.c.clock_id,
                    literal("card_id"),
                    k.c.id,
                    literal("seq"),
                    k.c.seq,
                ),
            ).where(mine),
        )
    )
    send_at = outbox.staff_send_time(at)
    for rule in RECIPIENTS[level]:
        for query in _recipients(rule, cast(k.c.seq, String), select_from_cards=mine):
            _owe(query, f"staff_{level}", level, at=at, send_at=send_at)
    return given_now


def _bureau_id() -> int | None:
    return db.session.scalar(select(Unit.id).where(Unit.kind == "bureau").order_by(Unit.id).limit(1))


def _recipients(rule: str, occurrence, *, select_from_cards=None, select_from_clocks=None) -> list[Select]:
    """Selects of (petition_id, clock_id, user id, phone, occurrence) for a recipient rule.

    Either over this batch's cards, or over clocks (the daily repeat).
    """
    if select_from_cards is not None:
        src, where, unit_col, clock_col = k, select_from_cards, k.c.unit_id, k.c.clock_id
    else:
        src, where, unit_col, clock_col = c, select_from_clocks, c.c.unit_id, c.c.id
    base = src.join(p, p.c.id == src.c.petition_id)
    cols = (src.c.petition_id, clock_col)
    tail = (u.c.id, u.c.phone, occurrence.label("occurrence"))
    active = u.c.active.is_(True)
    if rule == "handler":
        return [
            # the handler assigned to the petition ...
            select(*cols, *tail).select_from(base.join(u, u.c.id == p.c.handler_id)).where(where, active),
            # ... or, before one is assigned, the unit's handlers ...
            select(*cols, *tail)
            .select_from(base.join(u, and_(u.c.unit_id == unit_col, u.c.role == "handler")))
            .where(where, active, p.c.handler_id.is_(None)),
            # ... or, for a petition in the intake queue (no unit yet), the intake officers.
            select(*cols, *tail)
            .select_from(base.join(u, u.c.role == "intake"))
            .where(where, active, unit_col.is_(None), p.c.handler_id.is_(None)),
        ]
    if rule == "leader":
        bureau = _bureau_id()
        unit_of = func.coalesce(unit_col, bureau) if bureau is not None else unit_col
        return [
            select(*cols, *tail)
            .select_from(base.join(u, and_(u.c.unit_id == unit_of, u.c.role == "leader")))
            .where(where, active)
        ]
    if rule == "supervisor":
        return [select(*cols, *tail).select_from(base.join(u, u.c.role == "supervisor")).where(where, active)]
    raise ValueError(rule)


def _owe(query: Select, purpose: str, level: str, *, at: datetime, send_at: datetime) -> int:
    """INSERT one outbox row per selected recipient, keyed (petition, clock, level, recipient, occurrence)."""
    sub = query.subquery()
    pid, cid, uid, phone, occ = list(sub.c)
    key = (
        cast(pid, String)
        + literal(":")
        + cast(cid, String)
        + literal(f":{level}:u")
        + cast(uid, String)
        + literal(":")
        + occ
    )
    rows = select(
        key,
        literal(purpose),
        pid,
        cid,
        literal(level),
        occ,
        uid,
        phone,
        true(),
        literal(""),
        literal(OutboxStatus.QUEUED.value),
        literal(0),
        _ts(send_at),
        _ts(at),
        _ts(at),
    ).select_from(sub)
    stmt = _insert(o).from_select(
        [
            "key",
            "purpose",
            "petition_id",
            "clock_id",
            "level",
            "occurrence",
            "recipient_user_id",
            "phone",
            "staff",
            "body",
            "status",
            "attempts",
            "next_attempt_at",
            "created_at",
            "updated_at",
        ],
        rows.where(true()),
    )
    return len(db.session.execute(stmt.on_conflict_do_nothing().returning(o.c.id)).all())


# ---------------------------------------------------------------- 2. the daily reminder of red clocks


def _repeat(at: datetime, clock_ids: list[int] | None) -> int:
    """After the repeat time, one reminder today for each clock red (or urged) for a day or more."""
    tz = outbox.tz()
    local = at.astimezone(tz)
    hour, minute = (int(x) for x in current_app.config["NOTIFY"]["repeat_at"].split(":"))
    today_at = deadlines.local_moment(local.date(), time(hour, minute), tz)
    if at < today_at:
        return 0
    marker = f"xf:repeat:{local.date().isoformat()}"
    if clock_ids is None and _done_today(marker):
        return 0
    cond = and_(
        *_open_supervised(clock_ids),
        c.c.level.in_([RED, URGED]),
        c.c.due_at <= _ts(today_at - timedelta(days=1)),
    )
    occurrence = literal(f"d{local.date().isoformat()}")
    send_at = outbox.staff_send_time(at)
    owed = 0
    for rule in ("handler", "leader"):
        for query in _recipients(rule, occurrence, select_from_clocks=cond):
            owed += _owe(query, "staff_red_repeat", "repeat", at=at, send_at=send_at)
    if clock_ids is None:
        _markers.append(marker)
    return owed


_markers: list[str] = []


def _done_today(marker: str) -> bool:
    # Only a shortcut: without Redis (or after a wipe) the step runs again and owes nothing new.
    try:
        return bool(queueing.connection().exists(marker))
    except (RedisError, OSError):
        return False


def _mark_done(marker: str) -> None:
    with contextlib.suppress(RedisError, OSError):
        queueing.connection().set(marker, 1, ex=2 * 24 * 3600)


# ---------------------------------------------------------------- 3. the outbox's jobs


def _recover(at: datetime) -> int:
    """Rows claimed by a worker that died mid-send go back to the queue (the crash window)."""
    lease = int(current_app.config["NOTIFY"]["sending_lease_seconds"])
    result = db.session.execute(
        update(o)
        .where(o.c.status == OutboxStatus.SENDING.value, o.c.updated_at <= _ts(at - timedelta(seconds=lease)))
        .values(
            status=OutboxStatus.QUEUED.value,
            next_attempt_at=_ts(at),
            updated_at=_ts(at),
            last_error="the delivery was interrupted; trying again",
        )
    )
    db.session.commit()
    return result.rowcount or 0


# Up to when every due row's job was last checked, and whether a full check is recent. Both
# live in Redis: when Redis is wiped (and its jobs with it) they go too, and the next sweep
# checks every row again.
JOBS_CHECKED_KEY = "xf:sweep:jobs-checked"
FULL_CHECK_KEY = "xf:sweep:full-check"
# Rows due a little before the last check are checked again: a change that committed just
# after that sweep read the table may have been due slightly earlier.
CHECK_OVERLAP = timedelta(minutes=2)


def _ensure_jobs(at: datetime) -> int:
    """Give every queued, due row without a live job a new one (streamed, checked in batches).

    Every `full_job_check_seconds` (10 minutes) all the queued, due rows are checked; in
    between, only the rows that fell due since the last check. A large backlog waiting for
    its workers (the 09:00 reminders of a city) then costs the minute's sweep nothing, and a
    job lost without Redis being wiped is still found within the full check's interval.
    """
    since = _checked_since()
    where = [o.c.status == OutboxStatus.QUEUED.value, o.c.next_attempt_at <= _ts(at)]
    if since is not None:
        where.append(o.c.next_attempt_at > _ts(since - CHECK_OVERLAP))
    enqueued = 0
    complete = True
    result = db.session.execute(select(o.c.id).where(*where).execution_options(yield_per=ENQUEUE_BATCH))
    try:
        for chunk in result.scalars().partitions():
            ids = list(chunk)
            try:
                missing = queueing.missing_jobs(ids)
            except (RedisError, OSError) as exc:
                log.warning("Redis unavailable, due messages wait for the next sweep: %s", exc)
                complete = False
                break
            enqueued += queueing.enqueue_delivery([(i, None) for i in missing])
    finally:
        result.close()
        db.session.commit()
    if complete:
        _mark_checked(at, full=since is None)
    return enqueued


def _checked_since() -> datetime | None:
    """The last check's time, or None when a full check is due (or Redis cannot say)."""
    try:
        conn = queueing.connection()
        if not conn.exists(FULL_CHECK_KEY):
            return None
        raw = conn.get(JOBS_CHECKED_KEY)
        return as_utc(datetime.fromisoformat(raw.decode())) if raw else None
    except (RedisError, OSError, ValueError):
        return None


def _mark_checked(at: datetime, *, full: bool) -> None:
    interval = int(current_app.config["NOTIFY"].get("full_job_check_seconds", 600))
    with contextlib.suppress(RedisError, OSError):
        conn = queueing.connection()
        previous = conn.get(JOBS_CHECKED_KEY)
        # Never backwards: a clock job's sweep of one clock may run at an earlier instant.
        if previous is None or as_utc(datetime.fromisoformat(previous.decode())) < at:
            conn.set(JOBS_CHECKED_KEY, at.isoformat())
        if full:
            conn.set(FULL_CHECK_KEY, 1, ex=interval)
