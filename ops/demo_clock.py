"""A demo petition whose clock is about to cross (`flask demo-clock`), to watch reminders work."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from notifications import outbox, queueing
from petitions.domain.clocks import now
from petitions.extensions import db, settings
from petitions.models import Category, Petition, Unit
from petitions.services import filing as intake
from petitions.services import reference


def petition_about_to_cross(yellow_in: int = 30, due_in: int = 90) -> tuple[Petition, str]:
    """File a petition in 东城街道 and shorten its clock: yellow in `yellow_in` s, due in `due_in` s."""
    if not 0 < yellow_in < due_in:
        raise ValueError("yellow must come before the due time, both in the future")
    township = db.session.scalar(select(Unit).where(Unit.code == "dongcheng"))
    category = next(
        c
        for c in db.session.scalars(
            select(Category)
            .where(Category.parent_id.is_not(None), Category.kind == "grievance")
            .order_by(Category.id)
        )
        if (unit := reference.route_for(c, township)) is not None and unit.id == township.id
    )
    filed = intake.file_petition(
        intake.Filing(
            title="演示：路灯不亮",
            content="演示用信访事项：时限即将到期，用于观察黄牌、红牌和短信提醒。",
            category=category.code,
            township=township.code,
            contact_name="演示",
            contact_phone="13800138000",
        )
    )
    petition = filed.petition
    clock = petition.open_clock
    at = now()
    clock.due_at = at + timedelta(seconds=due_in)
    petition.due_at = clock.due_at
    clock.yellow_at = at + timedelta(seconds=yellow_in)  # brought forward for the demo
    db.session.commit()
    queueing.schedule_clock(clock.id, [clock.yellow_at, clock.due_at])
    note = ""
    if outbox.staff_send_time(at) != at:
        n = settings().notify
        note = (
            f"Quiet hours ({n.quiet_start}–{n.quiet_end} local): the cards appear now, "
            f"the staff texts wait until {n.quiet_end}."
        )
    return petition, note
