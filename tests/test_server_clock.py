"""The tests' server clock: it starts at the moment XF_TEST_NOW names (CI runs the calendar
tests again at awkward dates with it), or at the real time, and runs on from there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from petitions.domain.clocks import now
from tests.conftest import XF_TEST_NOW, RunningClock, pinned_start


@pytest.mark.pure
def test_xf_test_now_is_local_time_in_the_bureau_unless_it_says_otherwise():
    assert pinned_start("") is None
    assert pinned_start("2026-12-31T23:59") == datetime(2026, 12, 31, 15, 59, tzinfo=UTC)
    assert pinned_start("2028-02-29T00:30") == datetime(2028, 2, 28, 16, 30, tzinfo=UTC)
    assert pinned_start("2027-03-01T00:05+00:00") == datetime(2027, 3, 1, 0, 5, tzinfo=UTC)
    with pytest.raises(ValueError):
        pinned_start("31/12/2026")


@pytest.mark.pure
def test_the_clock_runs_on_from_its_start():
    start = datetime(2026, 2, 14, 9, 30, tzinfo=UTC)
    clock = RunningClock(start)
    first = clock()
    assert start <= first < start + timedelta(seconds=5)
    assert clock() >= first


@pytest.mark.calendar
def test_every_test_starts_on_the_server_clock_at_xf_test_now():
    expected = pinned_start() if XF_TEST_NOW else datetime.now(UTC)
    assert abs(now() - expected) < timedelta(minutes=1)


@pytest.mark.pure
def test_set_clock_replaces_the_server_clock_and_none_restores_the_real_one():
    from petitions.domain.clocks import set_clock

    fixed = datetime(2027, 3, 1, 0, 5, tzinfo=UTC)
    set_clock(lambda: fixed)
    assert now() == fixed
    set_clock(lambda: datetime(2027, 3, 1, 0, 5))  # a naive moment is UTC
    assert now() == fixed and now().tzinfo is UTC
    set_clock(None)
    assert abs(now() - datetime.now(UTC)) < timedelta(seconds=5)


@pytest.mark.pure
def test_a_clock_that_answers_in_local_time_is_read_as_the_same_instant():
    from zoneinfo import ZoneInfo

    from petitions.domain.clocks import set_clock

    set_clock(lambda: datetime(2027, 3, 1, 8, 5, tzinfo=ZoneInfo("Asia/Shanghai")))
    try:
        assert now() == datetime(2027, 3, 1, 0, 5, tzinfo=UTC)
    finally:
        set_clock(None)
