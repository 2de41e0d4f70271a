"""The measures' formulas without a database: periods, rates, the sums of settled months and
the ranking, each against figures worked out by hand (petitions.measures.stats)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from petitions.domain.errors import ValidationFailed
from petitions.measures import stats
from petitions.measures.stats import _add_up, _rate, _Sums, month_no, parse_period, rank_rows

pytestmark = pytest.mark.pure

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2028, 3, 1, 4, 0, tzinfo=UTC)  # 1 March 2028, 12:00 in the bureau


def period(text: str, moment: datetime = NOW):
    return parse_period(text, moment=moment, tz=TZ)


def test_a_month_is_its_local_days():
    feb = period("2028-02")
    assert (feb.kind, feb.label, str(feb)) == ("month", "2028-02", "2028-02")
    # 2028 is a leap year: 29 days; local midnight is 16:00 UTC the day before.
    assert (feb.first, feb.last) == (date(2028, 2, 1), date(2028, 2, 29))
    assert feb.start == datetime(2028, 1, 31, 16, 0, tzinfo=UTC)
    assert feb.end == datetime(2028, 2, 29, 16, 0, tzinfo=UTC)
    assert period("2027-02").last == date(2027, 2, 28)
    dec = period("2027-12")
    assert (dec.first, dec.last) == (date(2027, 12, 1), date(2027, 12, 31))
    assert dec.end == datetime(2027, 12, 31, 16, 0, tzinfo=UTC)
    assert dec.previous().label == "2027-11"
    assert period("2028-01").previous().label == "2027-12"
    assert feb.as_of(NOW) == feb.end
    assert period("2028-03").as_of(NOW) == NOW


def test_quarters_and_years():
    q = period("2027-Q4")
    assert (q.kind, q.label, q.first, q.last) == ("quarter", "2027-Q4", date(2027, 10, 1), date(2027, 12, 31))
    assert [m.label for m in q.months()] == ["2027-10", "2027-11", "2027-12"]
    assert q.previous().label == "2027-Q3"
    q1 = period("2028-Q1")
    assert (q1.first, q1.last) == (date(2028, 1, 1), date(2028, 3, 31))
    assert q1.previous().label == "2027-Q4"
    assert (period("2027-Q2").first, period("2027-Q2").last) == (date(2027, 4, 1), date(2027, 6, 30))
    assert (period("2027-Q3").first, period("2027-Q3").last) == (date(2027, 7, 1), date(2027, 9, 30))
    y = period("2027")
    assert (y.kind, y.label, y.first, y.last) == ("year", "2027", date(2027, 1, 1), date(2027, 12, 31))
    assert len(y.months()) == 12 and y.months()[1].last == date(2027, 2, 28)
    assert y.previous().label == "2026"


def test_periods_that_have_not_begun_or_are_malformed_are_refused():
    # 1 March 2028 local has begun at 16:00 UTC on 29 February.
    assert period("2028-03", datetime(2028, 2, 29, 16, 0, tzinfo=UTC)).label == "2028-03"
    for text, moment in [
        ("2028-03", datetime(2028, 2, 29, 15, 59, tzinfo=UTC)),
        ("2028-Q2", NOW),
        ("2029", NOW),
        ("9999-12", NOW),
        ("1989", NOW),
        ("2028-13", NOW),
        ("2028-00", NOW),
        ("2028-Q5", NOW),
        ("28-01", NOW),
        ("2028-1", NOW),
        ("", NOW),
        (None, NOW),
        ("2028-01\n", NOW),
        ("２０２８", NOW),
    ]:
        with pytest.raises(ValidationFailed):
            period(text, moment)
    assert period("1990").label == "1990"
    assert period("2028").label == "2028"
    assert period("2028-Q1").label == "2028-Q1"


def test_month_numbers():
    assert month_no(date(2028, 2, 29)) == 2028 * 12 + 1
    assert month_no(date(2027, 12, 31)) == 2027 * 12 + 11


def test_rates_round_to_four_places_and_are_none_without_a_denominator():
    assert _rate(2, 3) == 0.6667
    assert _rate(1, 3) == 0.3333
    assert _rate(0, 5) == 0.0
    assert _rate(3, 0) is None


def test_figures_from_sums():
    s = _Sums(
        received=8,
        responded=6,
        accepted=5,
        not_accepted=3,
        closed=4,
        closed_on_time=3,
        closed_late=1,
        open_overdue=2,
        handled=4,
        handled_days=30.0,
        speedup_sum=1.5,
        committed_sum=0.9,
        committed_n=2,
        yellow_cards=3,
        red_cards=2,
        replied=5,
        rated=4,
        satisfied=3,
        unsatisfied=1,
    )
    assert s.figures() == {
        "received": 8,
        "accepted": 5,
        "not_accepted": 3,
        "acceptance_rate": 0.625,
        "response_rate": 0.75,
        "closed": 4,
        "on_time_closure_rate": 0.75,
        "overdue": 3,
        "avg_handling_days": 7.5,
        "speedup_rate": 0.375,
        "committed_speedup_rate": 0.45,
        "yellow_cards": 3,
        "red_cards": 2,
        "rated": 4,
        "participation_rate": 0.8,
        "satisfaction_rate": 0.75,
        "dissatisfaction_rate": 0.25,
    }
    empty = _Sums().figures()
    assert empty["avg_handling_days"] is None and empty["acceptance_rate"] is None
    assert empty["received"] == 0 and empty["overdue"] == 0
    s.add(_Sums(received=2, handled_days=2.5, satisfied=1))
    assert (s.received, s.handled_days, s.satisfied, s.responded) == (10, 32.5, 4, 6)


def test_settled_months_add_up():
    """Month rows (unit, kind, month, previous month, rated month, score, flag, n, days, speed-up)
    for the first quarter of 2027, read at two moments."""
    jan, feb, mar = (month_no(date(2027, m, 1)) for m in (1, 2, 3))
    dec = month_no(date(2026, 12, 1))
    rows = [
        (1, "routed", jan, None, None, None, True, 3, None, None),  # 3 received, responded
        (1, "routed", feb, None, None, None, False, 2, None, None),  # 2 received, late
        (1, "routed", feb, jan, None, None, True, 1, None, None),  # routed again: the quarter's once
        (1, "routed", jan, dec, None, None, True, 4, None, None),  # routed before: the quarter's first
        (1, "accepted", jan, None, None, None, None, 4, None, None),
        (1, "accepted", feb, jan, None, None, None, 1, None, None),
        (1, "declined", mar, None, None, None, None, 1, None, None),
        (1, "closed", feb, None, None, None, False, 3, None, None),
        (1, "closed", mar, None, None, None, True, 2, None, None),  # late
        (1, "handled", feb, None, None, None, None, 2, 17.5, 0.75),
        (1, "replied", jan, None, feb, "satisfied", None, 2, None, None),
        (1, "replied", feb, None, mar, "basically_satisfied", None, 1, None, None),
        (1, "replied", feb, None, mar, "unsatisfied", None, 1, None, None),
        (1, "replied", mar, None, month_no(date(2027, 4, 1)), "satisfied", None, 1, None, None),
        (1, "replied", mar, None, None, None, None, 1, None, None),  # not rated
        (1, "replied", mar, jan, feb, "satisfied", None, 1, None, None),  # a second reply of January's
        (1, "yellow_card", feb, None, None, None, None, 2, None, None),
        (1, "red_card", mar, None, None, None, None, 1, None, None),
        (2, "routed", mar, None, None, None, False, 1, None, None),
    ]
    q1 = period("2027-Q1", datetime(2027, 6, 1, tzinfo=UTC))
    # After the quarter: a rating given in April is not the quarter's.
    sums = _add_up(rows, q1, datetime(2027, 6, 1, tzinfo=UTC))
    one = sums[1]
    assert (one.received, one.responded) == (9, 7)
    assert (one.accepted, one.not_accepted) == (4, 1)
    assert (one.closed, one.closed_late) == (5, 2)
    assert (one.handled, one.handled_days, one.speedup_sum) == (2, 17.5, 0.75)
    assert (one.replied, one.rated, one.satisfied, one.unsatisfied) == (6, 4, 3, 1)
    assert (one.yellow_cards, one.red_cards) == (2, 1)
    assert (sums[2].received, sums[2].responded) == (1, 0)
    # During the quarter (before its end) every rating given so far counts, April's too.
    during = _add_up(rows, q1, datetime(2027, 3, 20, tzinfo=UTC))[1]
    assert (during.replied, during.rated, during.satisfied, during.unsatisfied) == (6, 5, 4, 1)
    # February alone (its own rows): routed or accepted again after January is February's
    # first; its replies were rated in March, after its end.
    feb_rows = [r for r in rows if r[2] == feb]
    february = period("2027-02", datetime(2027, 6, 1, tzinfo=UTC))
    alone = _add_up(feb_rows, february, datetime(2027, 6, 1, tzinfo=UTC))[1]
    assert (alone.received, alone.responded, alone.accepted, alone.closed) == (3, 1, 1, 3)
    assert (alone.replied, alone.rated, alone.satisfied, alone.unsatisfied) == (2, 0, 0, 0)
    assert alone.yellow_cards == 2
    during_february = _add_up(feb_rows, february, datetime(2027, 2, 20, tzinfo=UTC))[1]
    assert (during_february.rated, during_february.satisfied, during_february.unsatisfied) == (2, 1, 1)


def test_ranking_shares_ranks_and_puts_nothing_last():
    def row(code, value, measure="m"):
        return {"unit": {"code": code}, measure: value}

    current = [row("a", 0.5), row("b", None), row("c", 0.9), row("d", 0.5), row("e", 0.1)]
    before = {"a": {"m": 0.25}, "c": {"m": None}, "e": {"m": 0.3}}
    ranked = rank_rows(current, before, "m")
    assert [(r["unit"]["code"], r["rank"], r["value"]) for r in ranked] == [
        ("c", 1, 0.9),
        ("a", 2, 0.5),
        ("d", 2, 0.5),
        ("e", 4, 0.1),
        ("b", None, None),
    ]
    assert [(r["previous"], r["change"]) for r in ranked] == [
        (None, None),
        (0.25, 0.25),
        (None, None),
        (0.3, -0.2),
        (None, None),
    ]
    # Lower is better for overdue.
    low = rank_rows([row("a", 3, "overdue"), row("b", 1, "overdue"), row("c", 2, "overdue")], {}, "overdue")
    assert [r["unit"]["code"] for r in low] == ["b", "c", "a"]
    assert "overdue" in stats.LOWER_IS_BETTER and "received" not in stats.LOWER_IS_BETTER


def test_refusals_name_the_field_and_say_why():
    cases = {
        "2028-13": "The period must be a month (2026-10), a quarter (2026-Q3) or a year (2026).",
        "2029": "That period has not begun yet.",
        "2028-Q2": "That period has not begun yet.",
    }
    for text, why in cases.items():
        with pytest.raises(ValidationFailed) as refused:
            period(text)
        assert str(refused.value.message) == why
        assert list(refused.value.fields) == ["period"]
    with pytest.raises(ValidationFailed) as refused:
        period("2028-13")
    assert str(refused.value.fields["period"]) == "Use YYYY-MM, YYYY-Qn or YYYY."
    for text in ("2029", "2028-Q2"):
        with pytest.raises(ValidationFailed) as refused:
            period(text)
        assert str(refused.value.fields["period"]) == "That period has not begun yet."
    with pytest.raises(ValidationFailed) as refused:
        stats.parse_measure("bogus")
    assert str(refused.value.message) == "Unknown measure." and list(refused.value.fields) == ["measure"]
    assert str(refused.value.fields["measure"]) == "Unknown measure."
    assert (
        stats.parse_measure(None) == "on_time_closure_rate" and stats.parse_measure("received") == "received"
    )


def test_every_period_is_counted_in_local_days():
    # The bureau's year begins at 16:00 UTC the day before; so do its quarters and months.
    year = period("2027")
    assert year.start == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    assert year.end == datetime(2027, 12, 31, 16, 0, tzinfo=UTC)
    assert year.previous().start == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
    assert year.months()[0].start == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    assert period("2027-Q2").start == datetime(2027, 3, 31, 16, 0, tzinfo=UTC)
    # Half an hour into 2028 in the bureau (still 2027 in UTC): 2028 has begun.
    new_year = datetime(2027, 12, 31, 16, 30, tzinfo=UTC)
    assert period("2028", new_year).label == "2028" and period("2028-01", new_year).label == "2028-01"


def test_figures_round_days_to_two_places_and_sums_add_up_row_by_row():
    assert _Sums(handled=3, handled_days=10.0).figures()["avg_handling_days"] == 3.33
    jan = month_no(date(2027, 1, 1))
    rows = [
        (1, "accepted", jan, None, None, None, None, 2, None, None),
        (1, "accepted", jan, None, None, None, None, 3, None, None),
        (1, "declined", jan, None, None, None, None, 1, None, None),
        (1, "declined", jan, None, None, None, None, 2, None, None),
        (1, "closed", jan, None, None, None, True, 1, None, None),
        (1, "closed", jan, None, None, None, True, 2, None, None),
        (1, "handled", jan, None, None, None, None, 1, 4.0, 0.5),
        (1, "handled", jan, None, None, None, None, 1, None, None),
        (1, "handled", jan, None, None, None, None, 2, 6.0, 0.25),
        (1, "yellow_card", jan, None, None, None, None, 1, None, None),
        (1, "yellow_card", jan, None, None, None, None, 2, None, None),
        (1, "red_card", jan, None, None, None, None, 2, None, None),
        (1, "red_card", jan, None, None, None, None, 1, None, None),
        (1, "replied", jan, None, jan, "satisfied", None, 1, None, None),
    ]
    january = period("2027-01", datetime(2027, 6, 1, tzinfo=UTC))
    s = _add_up(rows, january, datetime(2027, 6, 1, tzinfo=UTC))[1]
    assert (s.accepted, s.not_accepted, s.closed, s.closed_late) == (5, 3, 3, 3)
    assert (s.handled, s.handled_days, s.speedup_sum) == (4, 10.0, 0.75)
    assert (s.yellow_cards, s.red_cards) == (3, 3)
    # At the very end of the month it has ended: only its own ratings count.
    late = [(1, "replied", jan, None, jan + 1, "satisfied", None, 1, None, None)]
    assert _add_up(late, january, january.end)[1].rated == 0
    assert _add_up(late, january, january.end - timedelta(seconds=1))[1].rated == 1


def test_ranking_details():
    rows = [
        {"unit": {"code": "a"}, "m": 0.33336},
        {"unit": {"code": "b"}, "m": None},
        {"unit": {"code": "c"}, "m": -0.5},
        {"unit": {"code": "d"}, "m": 0.1},
    ]
    ranked = rank_rows(rows, {"a": {"m": 0.1}}, "m")
    # The change is rounded to four places; the row itself comes along; a negative figure is
    # ranked, the missing one is last and unranked, and ranks go on after it.
    assert ranked[0]["change"] == 0.2334
    assert [r["row"] for r in ranked] == [rows[0], rows[3], rows[2], rows[1]]
    assert [(r["unit"]["code"], r["rank"]) for r in ranked] == [("a", 1), ("d", 2), ("c", 3), ("b", None)]
    lower = rank_rows(
        [
            {"unit": {"code": "x"}, "overdue": None},
            {"unit": {"code": "y"}, "overdue": 0},
            {"unit": {"code": "z"}, "overdue": 0},
        ],
        {},
        "overdue",
    )
    assert [(r["unit"]["code"], r["rank"]) for r in lower] == [("y", 1), ("z", 1), ("x", None)]
    # Every unit without a figure is listed unranked, not only the first.
    empty = rank_rows(
        [{"unit": {"code": c}, "m": None} for c in "pq"] + [{"unit": {"code": "r"}, "m": 1}], {}, "m"
    )
    assert [(r["unit"]["code"], r["rank"]) for r in empty] == [("r", 1), ("p", None), ("q", None)]
