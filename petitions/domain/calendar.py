"""The working calendar (工作日, 节假日, 调休) and counting days on it. Pure: no Flask, no database.

A limit counts from the next day (次日起): a 15-day limit started on 3 March ends with 18
March, local time. In working days (工作日) only workdays count, which the calendar decides
from public holidays and the weekend days made into workdays (调休). A year with no
calendar data falls back to Monday–Friday.

A limit in calendar days whose last day is not a workday (a public holiday or a weekend
that is not a 调休 workday) runs to the end of the next workday, as periods do in Chinese
law (期间届满的最后一日是节假日的，以节假日后的第一日为期间届满的日期). The day unit and this
roll-over are settings.

What a clock does with these days (due times, levels) is petitions.domain.clocks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

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
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)


def local_moment(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of local time `at` on `day`."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)
