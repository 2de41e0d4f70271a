"""Calendars, working days, holidays, due times and warning levels. Pure: no Flask, no database.

A limit counts from the next day (次日起): a 15-day limit started on 3 March is due at the
end of 18 March, local time. In working days (工作日) only workdays count, which the
calendar decides from public holidays and the weekend days made into workdays (调休).
A year with no calendar data falls back to Monday–Friday.

A limit in calendar days whose last day is not a workday (a public holiday or a weekend
that is not a 调休 workday) runs to the end of the next workday, as periods do in Chinese
law (期间届满的最后一日是节假日的，以节假日后的第一日为期间届满的日期). The day unit
and this roll-over are configuration (config/limits.py).

Times are stored in UTC; days are counted in the bureau's local time zone (China has no
daylight saving time, but nothing here depends on that).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from petitions.domain.clocks import as_utc

CALENDAR = "calendar"  # 自然日
WORKING = "working"  # 工作日
DAY_UNITS = (CALENDAR, WORKING)

HOLIDAY_DIR = Path(__file__).resolve().parents[2] / "config" / "holidays"


@dataclass(frozen=True)
class WorkCalendar:
    """Public holidays (off) and adjusted workdays (调休, weekend days that are worked)."""

    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)
    years: frozenset[int] = field(default_factory=frozenset)
    # Years whose data holds the statutory holidays only (调休 not yet published).
    provisional: frozenset[int] = field(default_factory=frozenset)

    def knows(self, year: int) -> bool:
        return year in self.years

    def unknown_years(self, first: int, last: int) -> list[int]:
        """Years in [first, last] with no data, which count Monday–Friday."""
        return [y for y in range(first, last + 1) if y not in self.years]

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
        provisional: set[int] = set()
        for entry in years:
            year = int(entry["year"])
            known.add(year)
            if entry.get("provisional"):
                provisional.add(year)
            for kind, target in (("holidays", holidays), ("workdays", workdays)):
                for value in entry.get(kind, []):
                    day = date.fromisoformat(value)
                    if day.year != year:
                        raise ValueError(f"{value} listed under {year}")
                    target.add(day)
        overlap = holidays & workdays
        if overlap:
            raise ValueError(f"days both holiday and workday: {sorted(overlap)}")
        return cls(frozenset(holidays), frozenset(workdays), frozenset(known), frozenset(provisional))

    @classmethod
    def from_days(
        cls, days: Iterable[tuple[date, str]], years: Iterable[int], provisional: Iterable[int] = ()
    ) -> WorkCalendar:
        """From (day, "holiday" | "workday") pairs, as the calendar_days table holds them."""
        pairs = list(days)
        holidays = {d for d, kind in pairs if kind == "holiday"}
        workdays = {d for d, kind in pairs if kind == "workday"}
        return cls(frozenset(holidays), frozenset(workdays), frozenset(years), frozenset(provisional))


def read_year_files(directory: Path = HOLIDAY_DIR) -> list[dict]:
    """The calendar data shipped in config/holidays/<year>.json, one dict per year."""
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(directory.glob("*.json"))]


def load_calendar(directory: Path = HOLIDAY_DIR) -> WorkCalendar:
    """The calendar shipped in config/holidays/<year>.json."""
    return WorkCalendar.from_data(read_year_files(directory))


def next_workday(day: date, calendar: WorkCalendar) -> date:
    while not calendar.is_workday(day):
        day += timedelta(days=1)
    return day


def add_days(start: date, days: int, unit: str, calendar: WorkCalendar, *, roll: bool = True) -> date:
    """The last day of a limit of `days` that starts counting the day after `start`.

    With `roll`, a calendar-day limit that would end on a day off ends on the next workday.
    A zero-day limit (即办件) ends on `start` itself, whatever the day.
    """
    if unit not in DAY_UNITS:
        raise ValueError(f"unknown day unit {unit!r}")
    if days < 0:
        raise ValueError("a limit cannot be negative")
    if days == 0:
        return start
    if unit == CALENDAR:
        last = start + timedelta(days=days)
        return next_workday(last, calendar) if roll else last
    day = start
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if calendar.is_workday(day):
            counted += 1
    return day


def end_of_day(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant local `day` ends (midnight after it)."""
    return as_utc(datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz))


def due_at(
    started_at: datetime, days: int, unit: str, calendar: WorkCalendar, tz: ZoneInfo, *, roll: bool = True
) -> datetime:
    """The instant (UTC) a limit runs out: the end of its last local day.

    A zero-day limit (即办件) is due at the end of the day it started.
    """
    local_start = as_utc(started_at).astimezone(tz).date()
    return end_of_day(add_days(local_start, days, unit, calendar, roll=roll), tz)


def extended_due(
    due: datetime, days: int, unit: str, calendar: WorkCalendar, tz: ZoneInfo, *, roll: bool = True
) -> datetime:
    """The due time after an extension of `days` (延期), counted on from the last day of the old limit.

    The extension is added to the limit whether or not the clock is already overdue: an
    extension approved after the clock went red moves the due time from the old due date,
    not from the day of approval.
    """
    if days <= 0:
        raise ValueError("an extension is at least one day")
    last_day = (as_utc(due).astimezone(tz) - timedelta(microseconds=1)).date()
    return end_of_day(add_days(last_day, days, unit, calendar, roll=roll), tz)


def yellow_from(
    started_at: datetime, due: datetime, yellow_fraction: float, yellow_days: int | float
) -> datetime:
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
    if moment >= urged_from(due, urge_after_days):
        return "urged"
    if moment >= due:
        return "red"
    if moment >= yellow_from(started_at, due, yellow_fraction, yellow_days):
        return "yellow"
    return "green"


def urged_from(due: datetime, urge_after_days: int | float) -> datetime:
    """When a red clock becomes urged (督办): red for `urge_after_days` more days."""
    return due + timedelta(days=urge_after_days)


def in_quiet_hours(moment: datetime, tz: ZoneInfo, start: time, end: time) -> bool:
    """Whether local `moment` falls in the quiet hours [start, end), which may span midnight."""
    local = as_utc(moment).astimezone(tz).time()
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def after_quiet_hours(moment: datetime, tz: ZoneInfo, start: time, end: time) -> datetime:
    """`moment` itself, or the end of the quiet hours it falls in (UTC)."""
    if not in_quiet_hours(moment, tz, start, end):
        return as_utc(moment)
    local = as_utc(moment).astimezone(tz)
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    return as_utc(datetime.combine(day, end, tzinfo=tz))


def local_moment(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of local time `at` on `day`."""
    return as_utc(datetime.combine(day, at, tzinfo=tz))
