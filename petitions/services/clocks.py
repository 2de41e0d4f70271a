"""Starting and stopping a petition's clocks with the limits that apply to it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app

from petitions.domain import calendar as deadlines
from petitions.domain.clocks import now
from petitions.extensions import db
from petitions.measures import facts
from petitions.models import Category, Clock, Level, Petition, Unit


def calendar() -> deadlines.WorkCalendar:
    """The working calendar in force (config/holidays, as edited in the admin area)."""
    from petitions.services import calendar as workcalendar

    return workcalendar.current()


def _roll() -> bool:
    return bool(current_app.config.get("ROLL_TO_WORKDAY", True))


def limits_for(kind: str, category: Category | None) -> tuple[int, int, str]:
    """(statutory days, committed days, day unit) for a clock of `kind`."""
    defaults = current_app.config["TIME_LIMITS"][kind]
    statutory = int(defaults["statutory"])
    committed = int(defaults["committed"])
    if category is not None and kind in ("accept", "handle"):
        statutory = getattr(category, f"{kind}_days_statutory") or statutory
        committed = getattr(category, f"{kind}_days_committed") or committed
    return statutory, min(committed, statutory), str(defaults["unit"])


def start(petition: Petition, kind: str, unit: Unit | None, at: datetime | None = None) -> Clock:
    """Start a clock; any clock still running on the petition stops first."""
    at = at or now()
    stop_all(petition, at)
    statutory, committed, unit_kind = limits_for(kind, petition.category)
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    cal = calendar()
    clock = Clock(
        petition=petition,
        kind=kind,
        unit_id=unit.id if unit else None,
        started_at=at,
        due_at=deadlines.due_at(at, committed, unit_kind, cal, tz, roll=_roll()),
        statutory_due_at=deadlines.due_at(at, statutory, unit_kind, cal, tz, roll=_roll()),
        allowed_days=committed,
        day_unit=unit_kind,
        level=Level.GREEN,
    )
    db.session.add(clock)
    petition.due_at = clock.due_at
    return clock


def stop_all(petition: Petition, at: datetime | None = None) -> None:
    at = at or now()
    for clock in petition.clocks:
        if clock.stopped_at is None:
            clock.stopped_at = at
            facts.handled(clock)
    petition.due_at = None


def extend(clock: Clock, days: int) -> Clock:
    """Move a running clock's due time by an approved extension (延期) of `days`.

    Counted on from the old due date in the clock's own day unit; the statutory due time
    moves too. The clock's level follows (see petitions.services.levels); cards already given stay.
    """
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    cal = calendar()
    clock.due_at = deadlines.extended_due(clock.due_at, days, clock.day_unit, cal, tz, roll=_roll())
    clock.statutory_due_at = deadlines.extended_due(
        clock.statutory_due_at, days, clock.day_unit, cal, tz, roll=_roll()
    )
    clock.extended_days = (clock.extended_days or 0) + days
    if clock.stopped_at is None:
        clock.petition.due_at = clock.due_at
    return clock
