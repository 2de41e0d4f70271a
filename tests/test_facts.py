"""The measures' facts kept with each change are the facts made anew from the record."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from petitions.domain.clocks import now, set_clock
from petitions.extensions import db
from petitions.measures import facts
from petitions.models import MeasureFact
from petitions.services import actions
from petitions.services.access import CodeHolder
from tests.handling import act, file


class Clock:
    def __init__(self):
        self.at = now()
        set_clock(lambda: self.at)

    def advance(self, **delta) -> None:
        self.at += timedelta(**delta)


def kept() -> list[tuple]:
    db.session.expire_all()
    rows = db.session.scalars(select(MeasureFact)).all()

    def days(value):  # kept in Python, rebuilt in SQL: equal to well below a second
        return None if value is None else round(value, 6)

    return sorted(
        (
            f.kind,
            f.petition_id,
            f.unit_id,
            f.at,
            f.prev_at,
            f.acted_at,
            f.rated_at,
            f.score,
            bool(f.late),
            days(f.days),
            days(f.speedup),
        )
        for f in rows
    )


def road(clock: Clock) -> None:
    # A: the whole road, with an extension, an unsatisfied rating, a review and a second rating.
    a, _ = file()
    clock.advance(hours=20)
    act(a, "accept", "jtj-handler")
    act(a, "assign", "jtj-leader", handler="jtj-handler")
    act(a, "request-extension", "jtj-handler", days=10, reason="需现场勘测")
    act(a, "approve-extension", "jtj-leader")
    clock.advance(days=3)
    act(a, "reply", "jtj-handler", text="已安排施工队修补。")
    act(a, "sign-reply", "jtj-leader")
    clock.advance(days=1)
    actions.rate(a, "unsatisfied", "没修好")
    actions.request_review(a, "路面仍有坑洼", actor=CodeHolder(a.id))
    act(a, "review-reply", "gov-handler", text="经复查，责成交通局一周内完成修补。")
    act(a, "sign-reply", "gov-leader")
    actions.rate(a, "basically_satisfied")
    act(a, "close", "gov-leader")

    # B: returned (the unit's first action), routed back to the same unit, accepted late in the
    # day, replied past its due time, rated, closed: closed late.
    b, _ = file(title="公交站台破损")
    clock.advance(hours=2)
    act(b, "return", "jtj-handler", reason="应由城管处理")
    act(b, "route", "intake", unit="jtj")
    clock.advance(days=2)
    act(b, "accept", "jtj-leader")
    act(b, "assign", "jtj-leader", handler="jtj-handler")
    clock.advance(days=90)
    act(b, "reply", "jtj-leader", text="已修复。")
    clock.advance(days=2)
    actions.rate(b, "satisfied")
    act(b, "close", "intake")

    # C: declined, then closed.
    c, _ = file(title="要求撤销法院判决", phone="13900003333")
    clock.advance(hours=1)
    act(c, "decline", "jtj-leader", reason="属于诉讼事项", channel="向人民法院申请再审")
    act(c, "close", "jtj-leader")

    # D: answered on the spot by the unit, then rated (after its closure).
    d, _ = file(title="咨询年检地点", phone="13900004444")
    act(d, "answer-on-spot", "jtj-handler", text="在城东检测站。")
    actions.rate(d, "satisfied")

    # E: replied, closed unrated when the review window passed; then too late to rate.
    e, _ = file(title="路灯不亮", phone="13900005555")
    act(e, "accept", "jtj-handler")
    act(e, "assign", "jtj-leader", handler="jtj-handler")
    act(e, "reply", "jtj-leader", text="已修复。")
    clock.at = e.open_clock.due_at + timedelta(minutes=1)
    act(e, "close", "intake")


def test_kept_facts_are_the_rebuilt_facts(app):
    clock = Clock()
    road(clock)
    db.session.commit()
    before = kept()
    kinds = {row[0] for row in before}
    assert kinds == {"routed", "accepted", "declined", "replied", "closed", "handled"}
    # Something of every column is kept: a second routing, a first action, ratings, a late closure.
    assert any(row[0] == "routed" and row[4] is not None for row in before)
    assert all(row[5] is not None for row in before if row[0] == "routed")
    assert {row[7] for row in before if row[0] == "replied"} >= {
        "unsatisfied",
        "basically_satisfied",
        "satisfied",
    }
    assert [row[8] for row in before if row[0] == "closed"].count(True) == 1
    # Three replies came after handling clocks (A in 3 days, B in 90, E at once).
    handled = sorted(row[9] for row in before if row[0] == "handled")
    assert len(handled) == 3 and handled == [0.0, 3.0, 90.0]
    assert all(row[10] is not None for row in before if row[0] == "handled")

    facts.rebuild()
    db.session.commit()
    assert kept() == before


def test_rebuild_of_some_petitions_leaves_the_others(app):
    clock = Clock()
    road(clock)
    db.session.commit()
    before = kept()
    ids = sorted({row[1] for row in before})
    facts.rebuild(ids[0], ids[0])
    db.session.commit()
    assert kept() == before
    db.session.execute(MeasureFact.__table__.delete().where(MeasureFact.petition_id == ids[-1]))
    facts.rebuild(ids[-1], ids[-1])
    db.session.commit()
    assert kept() == before
