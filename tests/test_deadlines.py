"""Deadlines (pure): next-day counting, calendar and working days, holidays, 调休, extensions,
levels; quiet hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from notifications import quiet_hours as q
from petitions.domain import calendar as d
from petitions.domain import clocks as c
from petitions.domain.clocks import Thresholds, as_utc

pytestmark = pytest.mark.pure

TZ = ZoneInfo("Asia/Shanghai")
CAL = d.load_calendar()


def local(*args) -> datetime:
    return datetime(*args, tzinfo=TZ)


def test_counts_from_the_next_day_and_is_due_at_the_end_of_the_last_local_day():
    # 15 calendar days from 3 March (Tuesday) → end of 18 March, stored in UTC.
    due = c.due_at(local(2026, 3, 3, 10, 0), 15, d.CALENDAR, CAL, TZ)
    assert due == datetime(2026, 3, 18, 16, 0, tzinfo=UTC)
    assert due.tzinfo == UTC
    assert due.astimezone(TZ) == local(2026, 3, 19, 0, 0)


def test_same_day_limit_is_due_at_midnight():
    assert c.due_at(local(2026, 10, 1, 9, 0), 0, d.WORKING, CAL, TZ) == local(2026, 10, 2, 0, 0)


def test_calendar_limit_ending_on_a_holiday_runs_to_the_next_workday():
    # 15 days from 18 September ends on 3 October (国庆): the next workday is 8 October.
    assert c.due_at(local(2026, 9, 18, 10, 0), 15, d.CALENDAR, CAL, TZ) == local(2026, 10, 9, 0, 0)
    # ... unless the roll-over is switched off in the configuration.
    assert c.due_at(local(2026, 9, 18, 10, 0), 15, d.CALENDAR, CAL, TZ, roll=False) == local(
        2026, 10, 4, 0, 0
    )


def test_calendar_limit_ending_on_an_adjusted_saturday_stays():
    # 10 October 2026 is a Saturday worked (调休): a limit ending then ends then.
    assert CAL.is_workday(date(2026, 10, 10))
    assert c.due_at(local(2026, 10, 5, 10, 0), 5, d.CALENDAR, CAL, TZ) == local(2026, 10, 11, 0, 0)


def test_working_days_skip_holidays_and_count_the_adjusted_saturday():
    # Filed at 23:59 on the eve of 国庆: counting starts 1 October, all holiday until 8 October;
    # 8, 9, 10 (Saturday, 调休), 12, 13 → due at the end of 13 October.
    assert c.due_at(local(2026, 9, 30, 23, 59), 5, d.WORKING, CAL, TZ) == local(2026, 10, 14, 0, 0)
    # One minute later it is 1 October: the same answer (the 1st is a holiday, not counted).
    assert c.due_at(local(2026, 10, 1, 0, 0), 5, d.WORKING, CAL, TZ) == local(2026, 10, 14, 0, 0)


def test_the_eve_is_a_local_day_whatever_the_utc_date():
    # 23:59 local on 30 September is 15:59 UTC the same day; 00:30 local on 1 October is still 30 September in UTC.
    eve = c.due_at(datetime(2026, 9, 30, 15, 59, tzinfo=UTC), 1, d.CALENDAR, CAL, TZ, roll=False)
    after = c.due_at(datetime(2026, 9, 30, 16, 30, tzinfo=UTC), 1, d.CALENDAR, CAL, TZ, roll=False)
    assert eve == local(2026, 10, 2, 0, 0)
    assert after == local(2026, 10, 3, 0, 0)


def test_unknown_year_counts_monday_to_friday():
    assert not CAL.knows(2030)
    assert CAL.unknown_years(2026, 2030) == [2028, 2029, 2030]
    # 1 January 2030 is a Tuesday and, without data, a workday.
    assert CAL.is_workday(date(2030, 1, 1))
    assert c.due_at(local(2030, 1, 4, 10, 0), 1, d.WORKING, CAL, TZ) == local(2030, 1, 8, 0, 0)


def test_2027_is_provisional_with_statutory_holidays_only():
    assert CAL.knows(2027) and 2027 in CAL.provisional
    for day in (
        "2027-01-01",
        "2027-02-05",
        "2027-02-08",
        "2027-04-05",
        "2027-05-02",
        "2027-06-09",
        "2027-09-15",
    ):
        assert not CAL.is_workday(date.fromisoformat(day)), day
    assert CAL.is_workday(date(2027, 2, 10))  # Wednesday after the Spring Festival days


def test_calendar_data_must_be_consistent():
    with pytest.raises(ValueError):
        d.WorkCalendar.from_data([{"year": 2026, "holidays": ["2026-05-01"], "workdays": ["2026-05-01"]}])
    with pytest.raises(ValueError):
        d.WorkCalendar.from_data([{"year": 2026, "holidays": ["2027-05-01"]}])
    with pytest.raises(ValueError):
        d.add_days(date(2026, 1, 5), -1, d.CALENDAR, CAL)
    with pytest.raises(ValueError):
        d.add_days(date(2026, 1, 5), 1, "fortnights", CAL)


def test_extension_counts_on_from_the_old_due_date():
    due = local(2026, 3, 19, 0, 0)
    # The old limit's last day is 18 March; 10 more end on Saturday 28, rolled to Monday 30.
    assert c.extended_due(due, 10, d.CALENDAR, CAL, TZ) == local(2026, 3, 31, 0, 0)
    assert c.extended_due(due, 10, d.CALENDAR, CAL, TZ, roll=False) == local(2026, 3, 29, 0, 0)
    assert c.extended_due(due, 5, d.WORKING, CAL, TZ) == local(2026, 3, 26, 0, 0)
    with pytest.raises(ValueError):
        c.extended_due(due, 0, d.CALENDAR, CAL, TZ)


RULE = Thresholds(yellow_fraction=0.2, yellow_days=3, min_elapsed_fraction=0.5, urge_after_days=3)


def test_yellow_at_twenty_percent_or_three_days_whichever_first_never_before_half():
    start = datetime(2026, 3, 1, tzinfo=UTC)
    # 30 days: 20% is 6 days, which comes before 3 days.
    assert c.yellow_from(start, start + timedelta(days=30), RULE) == start + timedelta(days=24)
    # 10 days: 3 days left comes first.
    assert c.yellow_from(start, start + timedelta(days=10), RULE) == start + timedelta(days=7)
    # 2 days: 3 days left is before the start; half the time must pass first.
    assert c.yellow_from(start, start + timedelta(days=2), RULE) == start + timedelta(days=1)
    # 4 days: 3 days left would be after one day, but not before two.
    assert c.yellow_from(start, start + timedelta(days=4), RULE) == start + timedelta(days=2)
    # The old rule, without the half: configurable.
    old = Thresholds(yellow_fraction=0.2, yellow_days=3, min_elapsed_fraction=0.0, urge_after_days=3)
    assert c.yellow_from(start, start + timedelta(days=2), old) == start


# A clock started on Monday 2 March 2026 at 10:00 in the bureau: the yellow moment (local) for
# each limit, worked out by hand (due at the end of the last day, rolled to a workday; yellow at
# 20% or 3 days left, whichever first, never before half of the time).
STARTED = local(2026, 3, 2, 10, 0)
YELLOW_BY_HAND = {
    (d.CALENDAR, 1): (local(2026, 3, 4, 0, 0), local(2026, 3, 3, 5, 0)),
    (d.CALENDAR, 2): (local(2026, 3, 5, 0, 0), local(2026, 3, 3, 17, 0)),
    (d.CALENDAR, 3): (local(2026, 3, 6, 0, 0), local(2026, 3, 4, 5, 0)),
    # Ends on Saturday 7 March: rolled to Monday 9, due at its end.
    (d.CALENDAR, 5): (local(2026, 3, 10, 0, 0), local(2026, 3, 7, 0, 0)),
    (d.CALENDAR, 15): (local(2026, 3, 18, 0, 0), local(2026, 3, 14, 21, 12)),
    # Ends on 1 May (劳动节, off until the 5th): rolled to Wednesday 6 May.
    (d.CALENDAR, 60): (local(2026, 5, 7, 0, 0), local(2026, 4, 23, 21, 12)),
    (d.WORKING, 1): (local(2026, 3, 4, 0, 0), local(2026, 3, 3, 5, 0)),
    (d.WORKING, 2): (local(2026, 3, 5, 0, 0), local(2026, 3, 3, 17, 0)),
    (d.WORKING, 3): (local(2026, 3, 6, 0, 0), local(2026, 3, 4, 5, 0)),
    (d.WORKING, 5): (local(2026, 3, 10, 0, 0), local(2026, 3, 7, 0, 0)),
    # 3–6, 9–13, 16–20 and 23 March.
    (d.WORKING, 15): (local(2026, 3, 24, 0, 0), local(2026, 3, 19, 16, 24)),
    # Through 清明 (4–6 April) and 劳动节 (1–5 May), counting the 调休 Saturday 9 May: the 60th
    # workday is Thursday 28 May.
    (d.WORKING, 60): (local(2026, 5, 29, 0, 0), local(2026, 5, 11, 11, 36)),
}


@pytest.mark.parametrize("unit, days", sorted(YELLOW_BY_HAND))
def test_no_clock_starts_yellow(unit, days):
    due = c.due_at(STARTED, days, unit, CAL, TZ)
    yellow = c.yellow_from(as_utc(STARTED), due, RULE)
    half = as_utc(STARTED) + (due - as_utc(STARTED)) / 2
    assert yellow >= half > as_utc(STARTED)
    assert c.level_at(as_utc(STARTED), yellow_at=yellow, due_at=due, t=RULE) == "green"
    assert (due, yellow) == YELLOW_BY_HAND[(unit, days)]


def test_levels():
    start = datetime(2026, 3, 1, tzinfo=UTC)
    due = start + timedelta(days=10)
    yellow = c.yellow_from(start, due, RULE)
    assert c.level_at(start + timedelta(days=6, hours=23), yellow_at=yellow, due_at=due, t=RULE) == "green"
    assert c.level_at(start + timedelta(days=7), yellow_at=yellow, due_at=due, t=RULE) == "yellow"
    assert c.level_at(due, yellow_at=yellow, due_at=due, t=RULE) == "red"
    assert c.level_at(due + timedelta(days=2, hours=23), yellow_at=yellow, due_at=due, t=RULE) == "red"
    assert c.level_at(due + timedelta(days=3), yellow_at=yellow, due_at=due, t=RULE) == "urged"
    # The moments a clock changes level, for the jobs that check it.
    assert c.crossing_moments(yellow, due, RULE) == [yellow, due, due + timedelta(days=3)]


def test_quiet_hours_span_midnight():
    start, end = time(21, 0), time(8, 0)
    assert q.in_quiet_hours(local(2026, 3, 2, 21, 0), TZ, start, end)
    assert q.in_quiet_hours(local(2026, 3, 3, 7, 59), TZ, start, end)
    assert not q.in_quiet_hours(local(2026, 3, 3, 8, 0), TZ, start, end)
    assert q.after_quiet_hours(local(2026, 3, 2, 22, 0), TZ, start, end) == local(2026, 3, 3, 8, 0)
    assert q.after_quiet_hours(local(2026, 3, 3, 1, 0), TZ, start, end) == local(2026, 3, 3, 8, 0)
    assert q.after_quiet_hours(local(2026, 3, 3, 12, 0), TZ, start, end) == local(2026, 3, 3, 12, 0)


def test_the_shipped_calendar_as_loaded():
    cal = d.load_calendar()
    assert cal.knows(2026) and cal.knows(2027) and not cal.knows(2028)
    assert cal.provisional == frozenset({2027})
    assert not cal.is_workday(date(2026, 2, 16))  # 春节
    assert cal.is_workday(date(2026, 2, 14))  # 调休 Saturday
    assert date(2027, 2, 5) in cal.holidays and not cal.workdays & {date(2027, 2, 6)}
    assert len(cal.holidays) == 33 + 13 and len(cal.workdays) == 6
    assert [y["year"] for y in d.read_year_files()] == [2026, 2027]


def test_calendar_data_is_read_as_given_and_checked():
    cal = d.WorkCalendar.from_data(
        [
            {"year": 2030, "holidays": ["2030-01-01"], "workdays": ["2030-01-05"]},
            {"year": "2031", "provisional": True, "holidays": ["2031-01-01"]},
        ]
    )
    assert cal.holidays == frozenset({date(2030, 1, 1), date(2031, 1, 1)})
    assert cal.workdays == frozenset({date(2030, 1, 5)})
    assert cal.years == frozenset({2030, 2031}) and cal.provisional == frozenset({2031})
    with pytest.raises(ValueError, match="2030-02-01 listed under 2031"):
        d.WorkCalendar.from_data([{"year": 2031, "holidays": ["2030-02-01"]}])
    with pytest.raises(ValueError, match=r"both holiday and workday: \[datetime.date\(2030, 1, 5\)\]"):
        d.WorkCalendar.from_data([{"year": 2030, "holidays": ["2030-01-05"], "workdays": ["2030-01-05"]}])


def test_limits_and_days_refuse_what_is_not_a_limit():
    assert c.Limit(0, 0).unit == d.CALENDAR and c.Limit(15, 5, d.WORKING).committed == 5
    for bad in [dict(statutory=-1, committed=0), dict(statutory=0, committed=-1)]:
        with pytest.raises(ValueError, match="a limit cannot be negative"):
            c.Limit(**bad)
    with pytest.raises(ValueError, match="unknown day unit 'weeks'"):
        c.Limit(1, 1, "weeks")
    with pytest.raises(ValueError, match="unknown day unit 'weeks'"):
        d.add_days(date(2026, 3, 2), 1, "weeks", CAL)
    with pytest.raises(ValueError, match="a limit cannot be negative"):
        d.add_days(date(2026, 3, 2), -1, d.WORKING, CAL)
    # Working days: Monday 2 March plus 7 is Wednesday 11 March.
    assert d.add_days(date(2026, 3, 2), 7, d.WORKING, CAL) == date(2026, 3, 11)


def test_times_come_back_in_utc():
    assert c.as_utc(datetime(2026, 3, 2, 10, 0)) == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert c.as_utc(datetime(2026, 3, 2, 10, 0)).tzinfo is UTC
    assert c.as_utc(local(2026, 3, 2, 10, 0)).tzinfo is UTC
    assert d.end_of_day(date(2026, 3, 2), TZ).tzinfo is UTC


def test_a_one_day_extension_and_a_bureau_west_of_utc():
    due = local(2026, 3, 19, 0, 0)
    # One more day after 18 March: Thursday 19 March.
    assert c.extended_due(due, 1, d.CALENDAR, CAL, TZ) == local(2026, 3, 20, 0, 0)
    ny = ZoneInfo("America/New_York")
    ny_due = datetime(2026, 3, 19, 0, 0, tzinfo=ny)  # the end of 18 March in New York
    assert c.extended_due(ny_due, 1, d.CALENDAR, CAL, ny) == datetime(2026, 3, 20, 0, 0, tzinfo=ny)


def test_a_calendar_limit_rolls_to_the_next_workday_unless_told_not_to():
    # One day from 30 April 2026 ends on 1 May (劳动节, off until the 5th).
    assert d.add_days(date(2026, 4, 30), 1, d.CALENDAR, CAL) == date(2026, 5, 6)
    assert d.add_days(date(2026, 4, 30), 1, d.CALENDAR, CAL, roll=False) == date(2026, 5, 1)
