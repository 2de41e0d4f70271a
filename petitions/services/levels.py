"""Warning levels of open clocks (green, yellow card, red card, urged) and the time they have left.

The thresholds are configuration (config/limits.py WARNING). A clock keeps `yellow_at`
beside `due_at` so that the sweep finds crossings with plain indexed SQL; both move
together whenever an extension moves the due time, and a clock that an extension brings
back below its level goes back at once (its cards stay: they are history).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import event
from sqlalchemy.orm import attributes

from config import limits
from petitions.domain import calendar as deadlines
from petitions.domain.clocks import as_utc, now
from petitions.models import Clock, Level, Petition

RANK = {Level.GREEN.value: 0, Level.YELLOW.value: 1, Level.RED.value: 2, Level.URGED.value: 3}


def thresholds() -> dict:
    try:
        from flask import current_app

        return dict(current_app.config["WARNING"])
    except (RuntimeError, KeyError):
        return dict(limits.WARNING)


def yellow_moment(started_at: datetime, due: datetime, warning: dict | None = None) -> datetime:
    w = warning or thresholds()
    return deadlines.yellow_from(
        as_utc(started_at), as_utc(due), float(w["yellow_fraction"]), w["yellow_days"]
    )


def urged_moment(due: datetime, warning: dict | None = None) -> datetime:
    w = warning or thresholds()
    return deadlines.urged_from(as_utc(due), w["urge_after_days"])


def level_of(clock: Clock, at: datetime | None = None, warning: dict | None = None) -> str:
    """The level `clock` has at `at` (a stopped clock keeps the level it had when it stopped)."""
    w = warning or thresholds()
    moment = as_utc(at or now())
    if clock.stopped_at is not None:
        moment = min(moment, as_utc(clock.stopped_at))
    return deadlines.level_at(
        moment,
        as_utc(clock.started_at),
        as_utc(clock.due_at),
        yellow_fraction=float(w["yellow_fraction"]),
        yellow_days=w["yellow_days"],
        urge_after_days=w["urge_after_days"],
    )


@dataclass(frozen=True)
class ClockStatus:
    """What a queue shows for a petition: its level and the time left (negative when overdue)."""

    level: str
    time_left: timedelta
    due_at: datetime
    kind: str

    @property
    def overdue(self) -> bool:
        return self.time_left < timedelta(0)


def clock_status(petition_or_clock: Petition | Clock, at: datetime | None = None) -> ClockStatus | None:
    """(level, time left) of a petition's running clock, or of a clock; None when nothing runs."""
    clock = petition_or_clock.open_clock if isinstance(petition_or_clock, Petition) else petition_or_clock
    if clock is None:
        return None
    moment = as_utc(at or now())
    return ClockStatus(
        level=level_of(clock, moment),
        time_left=as_utc(clock.due_at) - moment,
        due_at=as_utc(clock.due_at),
        kind=clock.kind,
    )


@event.listens_for(Clock, "before_insert")
def _clock_inserted(mapper, connection, clock: Clock) -> None:
    if clock.due_at is not None and clock.started_at is not None:
        clock.yellow_at = yellow_moment(clock.started_at, clock.due_at)


@event.listens_for(Clock, "before_update")
def _clock_updated(mapper, connection, clock: Clock) -> None:
    if not attributes.get_history(clock, "due_at").has_changes() and clock.yellow_at is not None:
        return
    clock.yellow_at = yellow_moment(clock.started_at, clock.due_at)
    if clock.stopped_at is None:
        fresh = level_of(clock)
        # Going back (an extension) is immediate; going up is the sweep's, with its card.
        if RANK.get(fresh, 0) < RANK.get(clock.level or Level.GREEN.value, 0):
            clock.level = fresh
