"""Calendars, working days, holidays, due times and warning levels. Pure: no Flask, no database.

A limit counts from the next day (次日起): a 15-day limit started on 3 March is due at the
end of 18 March, local time. In working days (工作日) only workdays count, which the
calendar decides from public holidays and the weekend days made into workdays (调休).
A year with no calendar data falls back to Monday–Friday.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from petitions.timeutil import as_utc

CALENDAR = "calendar"  # 自然日
WORKING = "working"  # 工作日
DAY_UNITS = (CALENDAR, WORKING)

HOLIDAY_DIR = Path(__file__).resolve().parent.parent / "config" / "holidays"


@dataclass(frozen=True)
class WorkCalendar:
    """Public holidays (off) and adjusted workdays (调休, weekend days that are worked)."""

    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)
    years: frozenset[int] = field(default_factory=frozenset)

    def knows(self, year: int) -> bool:
        return year in self.years

    def is_workday(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    @classmethod
    def from_data(cls, years: Iterable[dict]) -> WorkCalendar:
        holidays: set[date] = set()
        workdays: set[date] = set()
        known: set[int] = set()
        for entry in years:
            known.add(int(entry["year"]))
            holidays.update(date.fromisoformat(d) for d in entry.get("holidays", []))
            workdays.update(date.fromisoformat(d) for d in entry.get("workdays", []))
        overlap = holidays & workdays
        if overlap:
            raise ValueError(f"days both holiday and workday: {sorted(overlap)}")
        return cls(frozenset(holidays), frozenset(workdays), frozenset(known))


def load_calendar(directory: Path = HOLIDAY_DIR) -> WorkCalendar:
    """The calendar shipped in config/holidays/<year>.json."""
    entries = []
    for path in sorted(directory.glob("*.json")):
        entries.append(json.loads(path.read_text(encoding="utf-8")))
    return WorkCalendar.from_data(entries)


def add_days(start: date, days: int, unit: str, calendar: WorkCalendar) -> date:
    """The last day of a limit of `days` that starts counting the day after `start`."""
    if unit not in DAY_UNITS:
        raise ValueError(f"unknown day unit {unit!r}")
    if days < 0:
        raise ValueError("a limit cannot be negative")
    if unit == CALENDAR:
        return start + timedelta(days=days)
    day = start
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if calendar.is_workday(day):
            counted += 1
    return day


def due_at(
    started_at: datetime, days: int, unit: str, calendar: WorkCalendar, tz: ZoneInfo
) -> datetime:
    """The instant (UTC) a limit runs out: the end of its last local day.

    A zero-day limit (即办件) is due at the end of the day it started.
    """
    local_start = as_utc(started_at).astimezone(tz).date()
    last_day = add_days(local_start, days, unit, calendar)
    end = datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=tz)
    return as_utc(end)


def yellow_from(started_at: datetime, due: datetime, yellow_fraction: float, yellow_days: int) -> datetime:
    """When a clock turns yellow: at 20% of its time or 3 days left, whichever comes first.

    Green needs both more than 20% and more than 3 days left, so yellow starts at the
    earlier of the two moments (never before the clock started).
    """
    total = due - started_at
    by_fraction = due - total * yellow_fraction
    by_days = due - timedelta(days=yellow_days)
    return max(min(by_fraction, by_days), started_at)


def level_at(
    moment: datetime,
    started_at: datetime,
    due: datetime,
    *,
    yellow_fraction: float,
    yellow_days: int,
    urge_after_days: int,
) -> str:
    """green, yellow, red or urged for an open clock at `moment`."""
    if moment >= due + timedelta(days=urge_after_days):
        return "urged"
    if moment >= due:
        return "red"
    if moment >= yellow_from(started_at, due, yellow_fraction, yellow_days):
        return "yellow"
    return "green"
