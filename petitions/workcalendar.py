"""The working calendar in force: config/holidays/<year>.json, overridden per year by the calendar_days table.

The table is seeded from the shipped files and edited in the admin area; a year that has
rows in the table is taken from the table alone, a year with none from its file, and a
year with neither counts Monday–Friday (the supervision page says which years those are).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from petitions import deadlines
from petitions.extensions import db
from petitions.models import CalendarDay

_cache: tuple[tuple, deadlines.WorkCalendar] | None = None


def _signature() -> tuple:
    row = db.session.execute(select(func.count(CalendarDay.id), func.max(CalendarDay.updated_at))).one()
    return tuple(row)


def current() -> deadlines.WorkCalendar:
    """The calendar to count with now (cached until the table changes)."""
    global _cache
    # No autoflush: reading the calendar must not flush (and version) a petition mid-change.
    with db.session.no_autoflush:
        sig = _signature()
        if _cache is not None and _cache[0] == sig:
            return _cache[1]
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
    _cache = (sig, cal)
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


def seed_missing_years() -> int:
    """Copy every shipped year that has no rows yet into the table; the caller commits."""
    known = set(db.session.scalars(select(CalendarDay.year).distinct()))
    added = 0
    for row in seed_rows():
        if row["year"] in known:
            continue
        db.session.add(CalendarDay(**row))
        added += 1
    return added
