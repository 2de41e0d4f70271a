"""A petition's clocks: starting, stopping and extending them with the limits that apply, and
reading their level and time left. The rules themselves (kinds, due times, levels) are
petitions.domain.clocks; the calendar in force is petitions.services.calendar.

A clock keeps `yellow_at` beside `due_at`, both set here whenever the due time is set, so
that queues and the sweep find levels with plain indexed SQL (petitions.models.Clock).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from petitions.domain import clocks as rules
from petitions.domain.calendar import WorkCalendar
from petitions.domain.clocks import ClockStatus, Limit, as_utc, now
from petitions.domain.events import CLOCK_MOVED, CLOCK_STARTED, CLOCK_STOPPED
from petitions.extensions import settings
from petitions.models import Category, Clock, Petition, Unit
from petitions.services import calendar as workcalendar
from petitions.services.work import Work


def calendar() -> WorkCalendar:
    """The working calendar in force (config/holidays, as edited in the admin area)."""
    return workcalendar.current()


def tz() -> ZoneInfo:
    return ZoneInfo(settings().timezone)


def limit_for(kind: str, category: Category | None) -> Limit:
    """The limit of a clock of `kind` for a petition of `category` (a category may carry its own)."""
    limit = settings().limit(kind)
    if category is not None and rules.KINDS[kind].per_category:
        return limit.with_days(
            getattr(category, f"{kind}_days_statutory"), getattr(category, f"{kind}_days_committed")
        )
    return limit


def _set_due(clock: Clock, due: datetime, statutory_due: datetime) -> None:
    clock.due_at = due
    clock.statutory_due_at = statutory_due
    clock.yellow_at = rules.yellow_from(as_utc(clock.started_at), as_utc(due), settings().thresholds)


def start(work: Work, petition: Petition, kind: str, unit: Unit | None, at: datetime) -> Clock:
    """Start a clock; any clock still running on the petition stops first."""
    stop_all(work, petition, at)
    limit = limit_for(kind, petition.category)
    cal, zone, roll = calendar(), tz(), settings().roll_to_workday
    clock = Clock(
        kind=kind,
        unit_id=unit.id if unit else None,
        started_at=at,
        allowed_days=limit.committed,
        day_unit=limit.unit,
        extended_days=0,
        level=rules.GREEN,
    )
    _set_due(
        clock,
        rules.due_at(at, limit.committed, limit.unit, cal, zone, roll=roll),
        rules.due_at(at, limit.statutory, limit.unit, cal, zone, roll=roll),
    )
    # Appended to the petition's clocks (not given the petition): that is what takes it into the
    # session, and it appears in the list once.
    petition.clocks.append(clock)
    petition.due_at = clock.due_at
    work.signal(CLOCK_STARTED, clock)
    return clock


def stop_all(work: Work, petition: Petition, at: datetime) -> None:
    for clock in petition.clocks:
        if clock.stopped_at is None:
            clock.stopped_at = at
            work.signal(CLOCK_STOPPED, clock)
    petition.due_at = None


def extend(work: Work, clock: Clock, days: int) -> Clock:
    """Move a running clock's due time by an approved extension (延期) of `days`.

    Counted on from the old due date in the clock's own day unit; the statutory due time
    moves too. A clock that the extension brings back below its level goes back at once
    (its cards stay: they are history); going up again is the sweep's, with its card.
    """
    cal, zone, roll = calendar(), tz(), settings().roll_to_workday
    _set_due(
        clock,
        rules.extended_due(clock.due_at, days, clock.day_unit, cal, zone, roll=roll),
        rules.extended_due(clock.statutory_due_at, days, clock.day_unit, cal, zone, roll=roll),
    )
    clock.extended_days = (clock.extended_days or 0) + days
    if clock.stopped_at is None:
        clock.petition.due_at = clock.due_at
        fresh = level_of(clock)
        if rules.RANK[fresh] < rules.RANK.get(clock.level or rules.GREEN, 0):
            clock.level = fresh
    work.signal(CLOCK_MOVED, clock)
    return clock


def crossing_moments(clock: Clock) -> list[datetime]:
    return rules.crossing_moments(clock.yellow_at, as_utc(clock.due_at), settings().thresholds)


def next_crossing(clock: Clock, at: datetime) -> list[datetime]:
    """The first of the clock's crossing moments after `at` (none when it is stopped or past
    them all): one check is scheduled at a time, and that check schedules the next."""
    if clock.stopped_at is not None:
        return []
    ahead = sorted(m for m in crossing_moments(clock) if m > as_utc(at))
    return ahead[:1]


# ---------------------------------------------------------------- reading levels


def status(clock: Clock, at: datetime | None = None) -> ClockStatus:
    return rules.status(
        clock.kind,
        yellow_at=clock.yellow_at,
        due=clock.due_at,
        stopped_at=clock.stopped_at,
        at=at or now(),
        t=settings().thresholds,
    )


def level_of(clock: Clock, at: datetime | None = None) -> str:
    """The level `clock` has at `at` (a stopped clock keeps the level it had when it stopped)."""
    return status(clock, at).level


def running(petition: Petition) -> Clock | None:
    """The unit's (or the bureau's) clock running now; the citizen's own windows are not one."""
    return supervised(petition.open_clock)


def supervised(open_clock: Any) -> Any:
    """`open_clock` (a petition's first clock not stopped, or a row of it) if it is the unit's
    or the bureau's, not one of the citizen's windows; else None."""
    return open_clock if open_clock is not None and rules.KINDS[open_clock.kind].supervised else None


def running_status(petition: Petition, at: datetime | None = None) -> ClockStatus | None:
    """What a queue shows: the running clock's level and time left, or None."""
    clock = running(petition)
    return status(clock, at) if clock is not None else None


def citizen_window(petition: Petition) -> Clock | None:
    """The citizen's open window for asking for review or re-review, if one runs."""
    clock = petition.open_clock
    return clock if clock is not None and clock.kind in rules.CITIZEN_WINDOWS else None
