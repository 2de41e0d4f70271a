"""Tracking numbers come from a counter spread over six digits: dated, never the same twice,
whatever the concurrency, and nothing is ever retried."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from petitions.domain.clocks import set_clock
from petitions.models import Event, Petition
from petitions.services import tracking
from petitions.services.filing import Filing, file_petition

pytestmark = pytest.mark.calendar


def _filing(title: str = "路灯不亮") -> Filing:
    return Filing(
        title=title,
        content="小区门口的路灯已经坏了一个月。",
        category="cxjs-wy",
        township="dongcheng",
        contact_name="张三",
        contact_phone="13812345678",
    )


def _count(db, stmt) -> int:
    return db.session.scalar(stmt) or 0


def test_numbers_are_dated_distinct_and_each_filing_registers_once(app, db):
    petitions = select(func.count()).select_from(Petition)
    registered = select(func.count()).select_from(Event).where(Event.type == "registered")
    before = _count(db, petitions), _count(db, registered)
    # 23:30 UTC is already the next day in the bureau.
    set_clock(lambda: datetime(2026, 3, 2, 23, 30, tzinfo=UTC))
    numbers = [file_petition(_filing(f"第{i}件")).petition.tracking_no for i in range(30)]
    local = datetime(2026, 3, 2, 23, 30, tzinfo=UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()
    assert local.isoformat() == "2026-03-03"
    assert all(re.fullmatch(r"XF20260303\d{6}", n) for n in numbers)
    assert len(set(numbers)) == 30
    # One after another, yet not consecutive numbers.
    assert int(numbers[1][-6:]) != int(numbers[0][-6:]) + 1
    assert (_count(db, petitions), _count(db, registered)) == (before[0] + 30, before[1] + 30)


def test_the_spread_is_a_permutation_of_the_six_digits():
    seen = {tracking.spread(n) for n in range(tracking.DIGITS)}
    assert len(seen) == tracking.DIGITS
    assert min(seen) == 0 and max(seen) == tracking.DIGITS - 1


def test_another_day_another_prefix(app, db):
    set_clock(lambda: datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    first = file_petition(_filing()).petition.tracking_no
    set_clock(lambda: datetime(2026, 3, 3, 2, 0, tzinfo=UTC))
    second = file_petition(_filing()).petition.tracking_no
    assert first.startswith("XF20260302") and second.startswith("XF20260303")


@pytest.mark.postgres
def test_concurrent_filings_never_draw_the_same_number(app, db, postgres):
    """Eight threads file at once, each with its own connection: every filing commits with its
    own number (PostgreSQL's sequence takes no lock)."""
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker(k: int) -> None:
        with app.app_context():
            try:
                start.wait()
                for i in range(25):
                    filed = file_petition(_filing(f"并发{k}-{i}"))
                    with lock:
                        numbers.append(filed.petition.tracking_no)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    before = _count(db, select(func.count()).select_from(Petition))
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(numbers) == len(set(numbers)) == 200
    found = db.session.scalar(select(func.count()).select_from(Petition).where(Petition.tracking_no.in_(numbers)))
    assert found == 200
    assert _count(db, select(func.count()).select_from(Petition)) == before + 200


@pytest.mark.postgres
def test_a_process_draws_its_counters_a_block_at_a_time(app, db, postgres):
    """One statement to the sequence for `BLOCK` filings; the numbers stay distinct and dated."""
    from sqlalchemy import event

    drawn: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if "nextval('tracking_numbers')" in statement:
            drawn.append(statement)

    tracking._drawn.clear()
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        numbers = [file_petition(_filing(f"第{i}件")).petition.tracking_no for i in range(tracking.BLOCK + 1)]
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert len(drawn) == 2
    assert len(set(numbers)) == tracking.BLOCK + 1
    # What the sequence hands out next lies beyond every counter this process holds.
    after = db.session.scalar(text("SELECT nextval('tracking_numbers')"))
    key = next(iter(tracking._drawn))
    assert all(n < after for n in tracking._drawn[key])
