"""The measures, checked field by field against a month built by hand (March 2026).

Three units: 县交通运输局 (jtj), where every formula has a non-trivial value; 县统计局 (tjj),
with no petitions and no categories (every rate null); 县人力资源和社会保障局 (rsj), where
every petition is late. Rows are inserted directly with controlled timestamps. March 2026
has no public holiday; local time is UTC+8.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from petitions.domain.clocks import set_clock
from petitions.domain.errors import NotFound, ValidationFailed
from petitions.extensions import db as _db
from petitions.measures import facts, stats
from petitions.models import Card, Category, Clock, Event, Petition, Rating, RoutingRule, Unit, User
from petitions.services import clocks

NOW = datetime(2026, 4, 10, 4, 0, tzinfo=UTC)
_seq = itertools.count(1)


def local(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    """A local (UTC+8) time in 2026, as UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def end_of(month: int, day: int) -> datetime:
    """The end of a local day: the due time of a limit whose last day it is."""
    return local(month, day, 0) + timedelta(days=1)


class Builder:
    def __init__(self, db, demo_user):
        self.db = db
        self.demo_user = demo_user

    def unit(self, code: str) -> Unit:
        return self.db.session.scalar(select(Unit).where(Unit.code == code))

    def petition(
        self, unit_code: str, category: str, status: str, *, closed_at=None, replied_at=None
    ) -> Petition:
        unit = self.unit(unit_code)
        cat = self.db.session.scalar(select(Category).where(Category.code == category))
        p = Petition(
            tracking_no=f"XF-T{next(_seq):08d}",
            query_code_hash="x",
            category=cat,
            township=self.unit("dongcheng"),
            title="测试",
            content="测试内容",
            status=status,
            unit=unit,
            created_at=local(1, 5),
            updated_at=local(1, 5),
            closed_at=closed_at,
            replied_at=replied_at,
        )
        self.db.session.add(p)
        self.db.session.flush()
        return p

    def event(
        self, p: Petition, type_: str, at: datetime, *, actor: str | None = None, unit: str | None = None
    ):
        user: User | None = self.demo_user(actor) if actor else None
        unit_id = self.unit(unit).id if unit else (user.unit_id if user else None)
        self.db.session.add(
            Event(
                petition_id=p.id,
                type=type_,
                at=at,
                actor_id=user.id if user else None,
                actor_role=user.role if user else None,
                unit_id=unit_id,
                data={},
            )
        )

    def clock(self, p, kind, unit_code, started, due, *, stopped=None, statutory_days=60) -> Clock:
        c = Clock(
            petition_id=p.id,
            kind=kind,
            unit_id=self.unit(unit_code).id,
            started_at=started,
            due_at=due,
            statutory_due_at=started + timedelta(days=statutory_days),
            allowed_days=15,
            day_unit="calendar",
            stopped_at=stopped,
        )
        self.db.session.add(c)
        self.db.session.flush()
        return c

    def card(self, clock: Clock, level: str, at: datetime, seq: int = 1):
        self.db.session.add(
            Card(
                petition_id=clock.petition_id,
                clock_id=clock.id,
                level=level,
                seq=seq,
                unit_id=clock.unit_id,
                given_at=at,
                batch="test",
            )
        )

    def rating(self, p, unit_code, score, at):
        self.db.session.add(
            Rating(petition_id=p.id, reply_no=1, score=score, unit_id=self.unit(unit_code).id, created_at=at)
        )


@pytest.fixture()
def march(db, demo_user):
    b = Builder(db, demo_user)
    # ------------------------------------------------ jtj: every formula non-trivial
    # P1: routed Mon 03-02, accepted next day (responded), replied after 10 days, rated
    # satisfied, closed on time.
    p1 = b.petition("jtj", "jtys-dl", "closed", closed_at=local(3, 20), replied_at=local(3, 13, 10))
    b.event(p1, "routed", local(3, 2, 9), unit="jtj")
    b.event(p1, "accepted", local(3, 3, 10), actor="jtj-handler")
    b.clock(p1, "accept", "jtj", local(3, 2, 9), end_of(3, 5), stopped=local(3, 3, 10), statutory_days=15)
    b.clock(p1, "handle", "jtj", local(3, 3, 10), end_of(3, 18), stopped=local(3, 13, 10))
    b.event(p1, "replied", local(3, 13, 10), actor="jtj-leader")
    b.rating(p1, "jtj", "satisfied", local(3, 15))
    b.event(p1, "closed", local(3, 20), actor="jtj-leader")
    # P2: routed Fri 03-06; the bureau's note is not the unit's action; declined Tue 03-10,
    # after the next working day (Mon 03-09): not responded, not accepted.
    p2 = b.petition("jtj", "jtys-gj", "not_accepted")
    b.event(p2, "routed", local(3, 6, 9), unit="jtj")
    b.event(p2, "note", local(3, 6, 11), actor="intake")
    b.event(p2, "declined", local(3, 10, 9), actor="jtj-leader")
    c2 = b.clock(
        p2, "accept", "jtj", local(3, 6, 9), end_of(3, 9), stopped=local(3, 10, 9), statutory_days=15
    )
    b.card(c2, "red", end_of(3, 9) + timedelta(minutes=1))
    # P3: routed and accepted Mon 03-09, reply late (03-26, due 03-24), rated unsatisfied,
    # closed late; a yellow and a red card.
    p3 = b.petition("jtj", "jtys-dl", "closed", closed_at=local(3, 28), replied_at=local(3, 26, 10))
    b.event(p3, "routed", local(3, 9, 10), unit="jtj")
    b.event(p3, "accepted", local(3, 9, 15), actor="jtj-handler")
    b.clock(p3, "accept", "jtj", local(3, 9, 10), end_of(3, 12), stopped=local(3, 9, 15), statutory_days=15)
    c3 = b.clock(p3, "handle", "jtj", local(3, 9, 15), end_of(3, 24), stopped=local(3, 26, 10))
    b.card(c3, "yellow", local(3, 21, 9))
    b.card(c3, "red", end_of(3, 24))
    b.event(p3, "replied", local(3, 26, 10), actor="jtj-leader")
    b.rating(p3, "jtj", "unsatisfied", local(3, 27))
    b.event(p3, "closed", local(3, 28), actor="intake")
    # P4: routed Fri 03-20, accepted Mon 03-23 (within one working day), still being
    # handled, not yet due at the end of March.
    p4 = b.petition("jtj", "jtys-dl", "in_progress")
    b.event(p4, "routed", local(3, 20, 10), unit="jtj")
    b.event(p4, "accepted", local(3, 23, 9), actor="jtj-handler")
    b.clock(p4, "accept", "jtj", local(3, 20, 10), end_of(3, 23), stopped=local(3, 23, 9), statutory_days=15)
    b.clock(p4, "handle", "jtj", local(3, 23, 9), end_of(4, 7))
    # P5: routed and accepted in February, due 03-08 and still open: overdue at the end
    # of March; its February yellow card is not March's, the urging is not a red card.
    p5 = b.petition("jtj", "jtys-dl", "in_progress")
    b.event(p5, "routed", local(2, 20, 9), unit="jtj")
    b.event(p5, "accepted", local(2, 21, 9), actor="jtj-handler")
    c5 = b.clock(p5, "handle", "jtj", local(2, 21, 9), end_of(3, 8))
    b.card(c5, "yellow", local(2, 27, 9))
    b.card(c5, "red", end_of(3, 8))
    b.card(c5, "urged", end_of(3, 11))
    # P6: routed Tue 03-10; first action a note on Fri 03-13 (late), accepted that day,
    # replied after 7 days, not rated.
    p6 = b.petition("jtj", "jtys-dl", "replied", replied_at=local(3, 20, 10))
    b.event(p6, "routed", local(3, 10, 10), unit="jtj")
    b.event(p6, "note", local(3, 13, 10), actor="jtj-handler")
    b.event(p6, "accepted", local(3, 13, 10, 30), actor="jtj-handler")
    b.clock(p6, "handle", "jtj", local(3, 13, 10, 30), end_of(3, 28), stopped=local(3, 20, 10, 30))
    b.event(p6, "replied", local(3, 20, 10, 30), actor="jtj-leader")
    # P8: replied in February (rated in March: February's rating), closed on time in March.
    p8 = b.petition("jtj", "jtys-dl", "closed", closed_at=local(3, 5), replied_at=local(2, 25))
    b.event(p8, "routed", local(2, 9, 9), unit="jtj")
    b.event(p8, "accepted", local(2, 10, 9), actor="jtj-handler")
    b.clock(p8, "handle", "jtj", local(2, 10, 9), end_of(2, 25), stopped=local(2, 25))
    b.event(p8, "replied", local(2, 25), actor="jtj-leader")
    b.rating(p8, "jtj", "satisfied", local(3, 2))
    b.event(p8, "closed", local(3, 5), actor="jtj-leader")
    # A petition routed to jtj in April is not March's.
    p9 = b.petition("jtj", "jtys-dl", "routed")
    b.event(p9, "routed", local(4, 1, 9), unit="jtj")

    # ------------------------------------------------ rsj: every petition late
    q1 = b.petition("rsj", "ldsb-sb", "closed", closed_at=local(3, 28), replied_at=local(3, 25, 10))
    b.event(q1, "routed", local(3, 2, 9), unit="rsj")
    b.event(q1, "accepted", local(3, 5, 10), actor="rsj-handler")  # Thu: late response
    b.clock(q1, "accept", "rsj", local(3, 2, 9), end_of(3, 9), stopped=local(3, 5, 10), statutory_days=15)
    cq1 = b.clock(q1, "handle", "rsj", local(3, 5, 10), end_of(3, 20), stopped=local(3, 25, 10))
    b.card(cq1, "red", end_of(3, 20))
    b.event(q1, "replied", local(3, 25, 10), actor="rsj-leader")
    b.rating(q1, "rsj", "unsatisfied", local(3, 26))
    b.event(q1, "closed", local(3, 28), actor="intake")
    q2 = b.petition("rsj", "ldsb-ht", "in_progress")
    b.event(q2, "routed", local(3, 3, 9), unit="rsj")
    b.event(q2, "accepted", local(3, 10, 9), actor="rsj-leader")  # a week later
    cq2 = b.clock(q2, "handle", "rsj", local(3, 10, 9), end_of(3, 20))
    b.card(cq2, "red", end_of(3, 20))
    # The rows went in directly, not through history.record: their facts are made from them.
    facts.rebuild()
    db.session.commit()
    set_clock(lambda: NOW)
    return b


def committed(codes: list[str]) -> float:
    """(statutory − committed) / statutory of accept + handle, averaged over the categories."""
    rates = []
    for code in codes:
        cat = _db.session.scalar(select(Category).where(Category.code == code))
        accept, handle = clocks.limit_for("accept", cat), clocks.limit_for("handle", cat)
        sa, ca, sh, ch = accept.statutory, accept.committed, handle.statutory, handle.committed
        rates.append((sa + sh - ca - ch) / (sa + sh))
    return sum(rates) / len(rates)


def test_march_measures_field_by_field(client, march):
    response = client.get("/api/v1/stats/units?period=2026-03")
    assert response.status_code == 200
    body = response.get_json()
    assert body["period"] == "2026-03"
    assert body["start"] == "2026-03-01" and body["end"] == "2026-03-31"
    rows = {row["unit"]["code"]: row for row in body["units"]}
    assert len(rows) == _db.session.query(Unit).filter(Unit.active.is_(True)).count()

    # Handling clocks stopped in March: P1 10 days, P3 16 days 19 hours, P6 7 days;
    # the statutory allowance is 60 days from the start.
    used = [10.0, 16 + 19 / 24, 7.0]
    jtj_committed = committed(["jtys-dl", "jtys-gj"])
    assert round(jtj_committed, 4) == 0.6333  # (75−18)/75 and (75−37)/75
    assert rows["jtj"] == {
        "unit": {"code": "jtj", "name": "县交通运输局", "kind": "department"},
        "received": 5,  # P1 P2 P3 P4 P6 (P5, P8 in February, P9 in April)
        "accepted": 4,  # P1 P3 P4 P6
        "not_accepted": 1,  # P2
        "acceptance_rate": 0.8,
        "response_rate": 0.6,  # P1 P3 P4 of five
        "closed": 3,  # P1 P3 P8
        "on_time_closure_rate": round(2 / 3, 4),  # P3 late
        "overdue": 2,  # P3 closed late + P5 open past due
        "avg_handling_days": round(sum(used) / 3, 2),
        "speedup_rate": round(sum((60 - u) / 60 for u in used) / 3, 4),
        "committed_speedup_rate": round(jtj_committed, 4),
        "yellow_cards": 1,  # P3 (P5's was in February)
        "red_cards": 3,  # P2 P3 P5 (the urging is no red card)
        "rated": 2,  # P1 P3 of the March replies P1 P3 P6 (P8's rating is February's reply)
        "participation_rate": round(2 / 3, 4),
        "satisfaction_rate": 0.5,
        "dissatisfaction_rate": 0.5,
    }
    # No petitions, no categories: counts are 0 and every rate is null.
    assert rows["tjj"] == {
        "unit": {"code": "tjj", "name": "县统计局", "kind": "department"},
        "received": 0,
        "accepted": 0,
        "not_accepted": 0,
        "acceptance_rate": None,
        "response_rate": None,
        "closed": 0,
        "on_time_closure_rate": None,
        "overdue": 0,
        "avg_handling_days": None,
        "speedup_rate": None,
        "committed_speedup_rate": None,
        "yellow_cards": 0,
        "red_cards": 0,
        "rated": 0,
        "participation_rate": None,
        "satisfaction_rate": None,
        "dissatisfaction_rate": None,
    }
    rsj_committed = committed(["ldsb-qx", "ldsb-sb", "ldsb-ht"])
    assert rows["rsj"] == {
        "unit": {"code": "rsj", "name": "县人力资源和社会保障局", "kind": "department"},
        "received": 2,
        "accepted": 2,
        "not_accepted": 0,
        "acceptance_rate": 1.0,
        "response_rate": 0.0,
        "closed": 1,
        "on_time_closure_rate": 0.0,
        "overdue": 2,  # Q1 closed late, Q2 open past due
        "avg_handling_days": 20.0,
        "speedup_rate": round(40 / 60, 4),
        "committed_speedup_rate": round(rsj_committed, 4),
        "yellow_cards": 0,
        "red_cards": 2,
        "rated": 1,
        "participation_rate": 1.0,
        "satisfaction_rate": 0.0,
        "dissatisfaction_rate": 1.0,
    }
    # All units together: numerators and denominators added, not rates averaged.
    rules = _db.session.execute(
        select(RoutingRule.unit_id, Category.code)
        .join(Category, Category.id == RoutingRule.category_id)
        .where(Category.parent_id.is_not(None))
        .distinct()
    ).all()
    all_committed = committed([code for _uid, code in rules])
    all_used = [*used, 20.0]
    assert body["total"] == {
        "received": 7,
        "accepted": 6,
        "not_accepted": 1,
        "acceptance_rate": round(6 / 7, 4),
        "response_rate": round(3 / 7, 4),
        "closed": 4,
        "on_time_closure_rate": 0.5,
        "overdue": 4,
        "avg_handling_days": round(sum(all_used) / 4, 2),
        "speedup_rate": round(sum((60 - u) / 60 for u in all_used) / 4, 4),
        "committed_speedup_rate": round(all_committed, 4),
        "yellow_cards": 1,
        "red_cards": 5,
        "rated": 3,
        "participation_rate": 0.75,
        "satisfaction_rate": round(1 / 3, 4),
        "dissatisfaction_rate": round(2 / 3, 4),
    }


def test_unit_filter_and_other_periods(client, march):
    one = client.get("/api/v1/stats/units?period=2026-03&unit=rsj").get_json()
    assert [row["unit"]["code"] for row in one["units"]] == ["rsj"]
    assert one["units"][0]["received"] == 2
    assert one["total"]["received"] == 7  # all units together, whatever the filter
    q1 = client.get("/api/v1/stats/units?period=2026-Q1&unit=jtj").get_json()
    assert q1["start"] == "2026-01-01" and q1["end"] == "2026-03-31"
    assert q1["units"][0]["received"] == 7  # March's five + P5, P8 in February
    assert q1["units"][0]["accepted"] == 6
    year = client.get("/api/v1/stats/units?period=2026&unit=jtj").get_json()
    assert year["units"][0]["received"] == 8  # + P9 in April
    # April is running: its open overdue are counted as of now.
    april = client.get("/api/v1/stats/units?period=2026-04&unit=jtj").get_json()["units"][0]
    assert april["received"] == 1 and april["overdue"] == 2  # P5, and P4 (due 04-07, still open)


@pytest.mark.parametrize(
    "period",
    [
        "",
        "2026-13",
        "2026-00",
        "2026-Q5",
        "2026-Q0",
        "26",
        "2026-3",
        "2026/03",
        "march",
        "2026-03-01",
        "1989",
    ],
)
def test_malformed_periods_are_refused(client, march, period):
    response = client.get(f"/api/v1/stats/units?period={period}")
    assert response.status_code == 422
    body = response.get_json()["error"]
    assert body["code"] == "invalid" and "period" in body["fields"]


@pytest.mark.parametrize("period", ["2026-05", "2026-Q3", "2027"])
def test_future_periods_are_refused(client, march, period):
    response = client.get(f"/api/v1/stats/units?period={period}")
    assert response.status_code == 422
    assert "period" in response.get_json()["error"]["fields"]


def test_unknown_unit_is_404(client, march):
    response = client.get("/api/v1/stats/units?period=2026-03&unit=nowhere")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_period_arithmetic(app):
    set_clock(lambda: NOW)
    p = stats.parse_period("2026-03")
    assert p.start == datetime(2026, 2, 28, 16, tzinfo=UTC)
    assert p.end == datetime(2026, 3, 31, 16, tzinfo=UTC)
    assert p.previous().label == "2026-02"
    assert stats.parse_period("2026-Q1").previous().label == "2025-Q4"
    assert stats.parse_period("2026").previous().label == "2025"
    assert [m.label for m in stats.parse_period("2026-Q1").months()] == ["2026-01", "2026-02", "2026-03"]
    assert stats.parse_period("2026-04").as_of(NOW) == NOW  # the running month: as of now
    assert [m.label for m in stats.recent_months(3, NOW)] == ["2026-02", "2026-03", "2026-04"]
    with pytest.raises(ValidationFailed):
        stats.parse_period("2026-05")
    with pytest.raises(NotFound):
        stats.units_in_scope("nowhere")


def test_ranking_with_change_from_previous_period(march):
    rows = stats.ranking(stats.parse_period("2026-03"), "received")
    assert [r["unit"]["code"] for r in rows[:2]] == ["jtj", "rsj"]
    assert rows[0]["rank"] == 1 and rows[0]["value"] == 5
    assert rows[0]["previous"] == 2 and rows[0]["change"] == 3  # February: P5, P8
    # Lower is better for overdue; nulls come last, unranked.
    rows = stats.ranking(stats.parse_period("2026-03"), "on_time_closure_rate")
    assert rows[0]["unit"]["code"] == "jtj" and rows[1]["unit"]["code"] == "rsj"
    assert rows[-1]["value"] is None and rows[-1]["rank"] is None
    with pytest.raises(ValidationFailed):
        stats.parse_measure("bogus")


def test_settled_months_give_the_same_measures(march):
    from petitions.models import MeasureMonth, SettledMonth

    # On 10 April nothing has settled: February's last replies may still be rated.
    assert stats.settle() == []
    later = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)
    set_clock(lambda: later)
    labels = ["2026-02", "2026-03", "2026-Q1", "2026"]
    live = {label: stats.unit_measures(stats.parse_period(label)) for label in labels}
    # 45 days after its end a month can no longer change: on 1 June, February and March.
    assert stats.settle() == ["2026-02", "2026-03"]
    assert stats.settle() == []  # each month once
    assert _db.session.query(SettledMonth).count() == 2
    assert _db.session.query(MeasureMonth).count() > 0
    kept = {label: stats.unit_measures(stats.parse_period(label)) for label in labels}
    assert kept == live
    march_jtj = next(row for row in kept["2026-03"]["units"] if row["unit"]["code"] == "jtj")
    assert (march_jtj["received"], march_jtj["response_rate"], march_jtj["rated"]) == (5, 0.6, 2)
    # Facts made anew from the record: the sums kept from the old ones are dropped.
    facts.rebuild()
    assert _db.session.query(SettledMonth).count() == 0
    assert stats.unit_measures(stats.parse_period("2026-03")) == live["2026-03"]


def test_basically_satisfied_counts_as_satisfied(march):
    """满意率 = (satisfied + basically satisfied) / rated: P6, replied in March and unrated in the
    fixture, is rated 基本满意. jtj's March replies are then rated satisfied (P1), unsatisfied (P3)
    and basically satisfied (P6): 2 of 3 satisfied, 1 of 3 unsatisfied."""
    from petitions.models import MeasureMonth

    p6 = _db.session.scalar(
        select(Petition).where(Petition.status == "replied", Petition.unit_id == march.unit("jtj").id)
    )
    march.rating(p6, "jtj", "basically_satisfied", local(3, 22))
    facts.rebuild()
    _db.session.commit()

    def jtj(label: str) -> dict:
        rows = stats.unit_measures(stats.parse_period(label))["units"]
        return next(row for row in rows if row["unit"]["code"] == "jtj")

    expected = {"rated": 3, "participation_rate": 1.0, "satisfaction_rate": 0.6667, "dissatisfaction_rate": 0.3333}
    live = jtj("2026-03")
    assert {k: live[k] for k in expected} == expected
    # The same from the months' sums kept once March has settled.
    set_clock(lambda: datetime(2026, 6, 1, 4, 0, tzinfo=UTC))
    assert "2026-03" in stats.settle()
    assert _db.session.query(MeasureMonth).count() > 0
    kept = jtj("2026-03")
    assert {k: kept[k] for k in expected} == expected
