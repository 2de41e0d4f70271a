"""The working calendar in force: config/holidays/<year>.json, overridden per year by the calendar_days table.

The table is seeded from the shipped files and edited in the admin area; a year that has
rows in the table is taken from the table alone, a year with none from its file, and a
year with neither counts Monday–Friday (the supervision page says which years those are).
"""

from __future__ import annotations

import time
from datetime import date

from sqlalchemy import select

from petitions.domain import calendar as deadlines
from petitions.domain.errors import ValidationFailed
from petitions.extensions import db, settings
from petitions.i18n import lazy_gettext as _l
from petitions.models import CalendarDay

_cache: tuple[float, deadlines.WorkCalendar] | None = None


def invalidate() -> None:
    """Forget the cached calendar (after an edit; other processes follow within the cache's time)."""
    global _cache
    _cache = None


def current() -> deadlines.WorkCalendar:
    """The calendar to count with now (kept by each process for `reference_cache_seconds`)."""
    global _cache
    cached = _cache
    if cached is not None and time.monotonic() - cached[0] <= settings().reference_cache_seconds:
        return cached[1]
    # No autoflush: reading the calendar must not flush (and version) a petition mid-change.
    with db.session.no_autoflush:
        rows = db.session.execute(select(CalendarDay.day, CalendarDay.kind, CalendarDay.provisional)).all()
    db_years = {d.year for d, _k, _p in rows}
    provisional = {d.year for d, _k, p in rows if p}
    pairs = [(d, k) for d, k, _p in rows]
    years = set(db_years)
    for entry in deadlines.read_year_files():
        year = int(entry["year"])
        if year in db_years:
            continue
        years.add(year)
        if entry.get("provisional"):
            provisional.add(year)
        pairs += [(date.fromisoformat(v), "holiday") for v in entry.get("holidays", [])]
        pairs += [(date.fromisoformat(v), "workday") for v in entry.get("workdays", [])]
    cal = deadlines.WorkCalendar.from_days(pairs, years, provisional)
    _cache = (time.monotonic(), cal)
    return cal


def seed_rows(entries: list[dict] | None = None) -> list[dict]:
    """Rows for calendar_days from the shipped files (used by the migration and `flask calendar-seed`)."""
    rows = []
    for entry in entries if entries is not None else deadlines.read_year_files():
        year = int(entry["year"])
        names = entry.get("names", {})
        for kind, key in (("holiday", "holidays"), ("workday", "workdays")):
            for value in entry.get(key, []):
                rows.append(
                    {
                        "day": date.fromisoformat(value),
                        "year": year,
                        "kind": kind,
                        "name": names.get(value, ""),
                        "provisional": bool(entry.get("provisional")),
                    }
                )
    return rows


KINDS = ("holiday", "workday")


def days_of(year: int) -> list[CalendarDay]:
    return list(
        db.session.scalars(select(CalendarDay).where(CalendarDay.year == year).order_by(CalendarDay.day))
    )


def years() -> list[int]:
    """Years with rows in the table, and the shipped ones."""
    known = set(db.session.scalars(select(CalendarDay.year).distinct()))
    known |= {int(entry["year"]) for entry in deadlines.read_year_files()}
    return sorted(known)


def add_day(raw_day: str, kind: str, name: str = "") -> CalendarDay:
    """Enter a holiday or an adjusted workday (调休); raises ValidationFailed and writes nothing on bad input."""
    errors: dict[str, object] = {}
    day = None
    try:
        day = date.fromisoformat((raw_day or "").strip())
    except ValueError:
        errors["day"] = _l("Enter a date as YYYY-MM-DD.")
    if kind not in KINDS:
        errors["kind"] = _l("Choose holiday or workday.")
    if len(name or "") > 64:
        errors["name"] = _l("At most 64 characters.")
    if day is not None and "kind" not in errors:
        if kind == "workday" and day.weekday() < 5:
            errors["kind"] = _l("Only a Saturday or Sunday can be made a workday.")
        elif db.session.scalar(select(CalendarDay.id).where(CalendarDay.day == day)) is not None:
            errors["day"] = _l("This day is already in the calendar.")
    if errors:
        raise ValidationFailed(_l("Some fields need correcting."), errors)
    assert day is not None
    provisional = bool(
        db.session.scalar(select(CalendarDay.provisional).where(CalendarDay.year == day.year).limit(1))
    )
    row = CalendarDay(day=day, year=day.year, kind=kind, name=(name or "").strip(), provisional=provisional)
    db.session.add(row)
    db.session.commit()
    invalidate()
    return row


def remove_day(day_id: int) -> None:
    row = db.session.get(CalendarDay, day_id)
    if row is not None:
        db.session.delete(row)
        db.session.commit()
        invalidate()


def set_provisional(year: int, provisional: bool) -> int:
    """Mark a year's data provisional (statutory days only) or final (the official arrangement is in)."""
    rows = days_of(year)
    for row in rows:
        row.provisional = provisional
    db.session.commit()
    invalidate()
    return len(rows)
