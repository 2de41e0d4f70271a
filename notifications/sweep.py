"""The sweep (every minute, and for one clock at its crossing moments, `check_clock`):

1. electronic supervision, in one unit of work (petitions.services.supervision): every open,
   supervised clock that crossed into yellow, red or urged gets its card, its level and
   its event, and the effects table owes the texts (yellow: the handler; red: the handler
   and the unit leader; urged: the supervisors and the unit leader);
2. after the daily repeat time (09:00), every clock red for a day or more is owed one more
   reminder that day (handler and leader);
3. rows whose delivery worker died mid-send are taken back, and every queued, due outbox
   row without a live RQ job gets a new one (each minute the rows that fell due since the
   last check; all of them every ten minutes and after Redis was wiped).

Cards and outbox rows carry unique keys and are inserted with ON CONFLICT DO NOTHING, so
two sweeps at once (or a sweep and a clock job) give each card and owe each message once.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from redis.exceptions import RedisError
from sqlalchemy import literal, select, update

from notifications import queueing
from petitions.domain.clocks import as_utc, now
from petitions.extensions import db, settings
from petitions.models import Clock, Outbox, OutboxStatus
from petitions.services import clocks, supervision
from petitions.services.uow import UnitOfWork
from petitions.types import UTCDateTime

log = logging.getLogger(__name__)

o = Outbox.__table__


def _ts(value: datetime):
    return literal(as_utc(value), type_=UTCDateTime())


def run(at: datetime | None = None, clock_ids: list[int] | None = None) -> dict[str, int]:
    """One sweep at `at` (the server's now); `clock_ids` restricts it to those clocks. Commits."""
    at = as_utc(at or now())
    work = UnitOfWork(at=at)
    try:
        supervision.lock_sweep()
        counts = supervision.give_cards(work, at, clock_ids)
        marker = _repeat_marker(at)
        repeat_done = clock_ids is None and _done_today(marker)
        counts["repeat"] = 0 if repeat_done else supervision.remind_red_daily(work, at, clock_ids)
        work.run_effects()
        # The texts owed by this sweep's cards and reminders, handed to RQ after the commit.
        counts["owed"] = len(work.deliveries)
        work.commit()
    except BaseException:
        work.rollback()
        raise
    if clock_ids is None and not repeat_done and _repeat_due(at):
        _mark_done(marker)
    counts["recovered"] = _recover(at)
    counts["enqueued"] = _ensure_jobs(at)
    return counts


def check_clock(clock_id: int) -> dict[str, int]:
    """A clock's crossing moment: the sweep for that clock, then, if it still runs, a check at
    its next crossing (a clock has one check scheduled at a time; the minute sweep finds any
    crossing whose check Redis lost)."""
    counts = run(clock_ids=[clock_id])
    clock = db.session.get(Clock, clock_id)
    if clock is not None:
        queueing.schedule_clock(clock_id, clocks.next_crossing(clock, now()))
    return counts


# ---------------------------------------------------------------- 2. the daily reminder's marker


def _repeat_marker(at: datetime) -> str:
    return f"xf:repeat:{at.astimezone(ZoneInfo(settings().timezone)).date().isoformat()}"


def _repeat_due(at: datetime) -> bool:
    local = at.astimezone(ZoneInfo(settings().timezone))
    hour, minute = (int(x) for x in settings().notify.repeat_at.split(":"))
    return (local.hour, local.minute) >= (hour, minute)


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
    lease = settings().notify.sending_lease_seconds
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
    batch = settings().notify.enqueue_batch
    result = db.session.execute(select(o.c.id).where(*where).execution_options(yield_per=batch))
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
    interval = settings().notify.full_job_check_seconds
    with contextlib.suppress(RedisError, OSError):
        conn = queueing.connection()
        previous = conn.get(JOBS_CHECKED_KEY)
        # Never backwards: a clock job's sweep of one clock may run at an earlier instant.
        if previous is None or as_utc(datetime.fromisoformat(previous.decode())) < at:
            conn.set(JOBS_CHECKED_KEY, at.isoformat())
        if full:
            conn.set(FULL_CHECK_KEY, 1, ex=interval)
