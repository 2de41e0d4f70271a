"""Tracking numbers are random: a collision with an existing one draws another, it never fails."""

from __future__ import annotations

from sqlalchemy import func, select

from petitions.models import Event, Petition
from petitions.services import filing as intake
from petitions.services.filing import Filing, file_petition


def _filing() -> Filing:
    return Filing(
        title="路灯不亮",
        content="小区门口的路灯已经坏了一个月。",
        category="cxjs-wy",
        township="dongcheng",
        contact_name="张三",
        contact_phone="13812345678",
    )


def test_a_colliding_tracking_number_is_drawn_again(db, monkeypatch):
    drawn = iter(["XF20260101000001", "XF20260101000001", "XF20260101000002"])
    monkeypatch.setattr(intake, "_tracking_no", lambda at: next(drawn))
    petitions = select(func.count()).select_from(Petition)
    registered = select(func.count()).select_from(Event).where(Event.type == "registered")
    before = db.session.scalar(petitions), db.session.scalar(registered)

    first = file_petition(_filing())
    second = file_petition(_filing())

    assert first.petition.tracking_no == "XF20260101000001"
    assert second.petition.tracking_no == "XF20260101000002"
    # The attempt that collided left nothing behind: two petitions, one registration each.
    assert db.session.scalar(petitions) == before[0] + 2
    assert db.session.scalar(registered) == before[1] + 2
