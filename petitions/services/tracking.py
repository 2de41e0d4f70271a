"""Tracking numbers (受理编号): XF, the local date, six digits; never the same twice.

The digits come from a counter, not from chance, so two filings never draw the same number
and nothing is retried: PostgreSQL's sequence `tracking_numbers` (no lock, whatever the
concurrency), or a counter row per day where the database serialises its writers anyway
(SQLite). The counter is spread over the six digits by a fixed permutation, so numbers
filed one after another do not look consecutive; a day has room for a million.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.dialects import sqlite

from petitions.extensions import db
from petitions.models import TrackingDay

PREFIX = "XF"
DIGITS = 10**6
# An affine permutation of 0..999,999: the factor is coprime with 10**6.
FACTOR, OFFSET = 387_403, 520_117


def spread(n: int) -> int:
    return (n * FACTOR + OFFSET) % DIGITS


def next_number(day: date) -> str:
    """The next tracking number of local `day` (one statement)."""
    if db.engine.dialect.name == "postgresql":
        n = db.session.scalar(text("SELECT nextval('tracking_numbers')"))
    else:
        stmt = (
            sqlite.insert(TrackingDay)
            .values(day=day, n=1)
            .on_conflict_do_update(index_elements=["day"], set_={"n": TrackingDay.n + 1})
            .returning(TrackingDay.n)
        )
        n = db.session.scalar(stmt)
    return f"{PREFIX}{day:%Y%m%d}{spread(n):06d}"
