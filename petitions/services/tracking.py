"""Tracking numbers (受理编号): XF, the local date, six digits; never the same twice.

The digits come from a counter, not from chance, so two filings never draw the same number
and nothing is retried: PostgreSQL's sequence `tracking_numbers` (no lock, whatever the
concurrency), or a counter row per day where the database serialises its writers anyway
(SQLite). The counter is spread over the six digits by a fixed permutation, so numbers
filed one after another do not look consecutive; a day has room for a million.

On PostgreSQL each process draws its counters from the sequence `BLOCK` at a time and hands
them out one by one, so most filings ask the database nothing for their number. A counter is
drawn once, whoever draws it, and a process that ends leaves its unused ones as gaps.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from datetime import date

from sqlalchemy import text
from sqlalchemy.dialects import sqlite

from petitions.extensions import db
from petitions.models import TrackingDay

PREFIX = "XF"
DIGITS = 10**6
# An affine permutation of 0..999,999: the factor is coprime with 10**6.
FACTOR, OFFSET = 387_403, 520_117
# Counters drawn from the sequence at a time (PostgreSQL).
BLOCK = 64

_lock = threading.Lock()
# Drawn and not yet handed out, per (process, database): a forked process or another database
# never uses another's counters.
_drawn: dict[tuple[int, str], deque[int]] = {}


def spread(n: int) -> int:
    return (n * FACTOR + OFFSET) % DIGITS


def _counter() -> int:
    """The next counter of this process, from the sequence a block at a time (in a statement
    of its own on the session's connection; a sequence ignores the transaction)."""
    key = (os.getpid(), db.engine.url.render_as_string(hide_password=True))
    with _lock:
        drawn = _drawn.setdefault(key, deque())
        if not drawn:
            drawn.extend(
                db.session.scalars(
                    text("SELECT nextval('tracking_numbers') FROM generate_series(1, :n)"), {"n": BLOCK}
                )
            )
        return drawn.popleft()


def next_number(day: date) -> str:
    """The next tracking number of local `day` (one statement on SQLite; on PostgreSQL one in
    `BLOCK` filings)."""
    if db.engine.dialect.name == "postgresql":
        n = _counter()
    else:
        stmt = (
            sqlite.insert(TrackingDay)
            .values(day=day, n=1)
            .on_conflict_do_update(index_elements=["day"], set_={"n": TrackingDay.n + 1})
            .returning(TrackingDay.n)
        )
        n = db.session.scalar(stmt)
    return f"{PREFIX}{day:%Y%m%d}{spread(n):06d}"
