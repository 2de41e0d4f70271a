"""The outbox: rows written in the transaction of the change, one per key; citizen texts on
acceptance, decline, reply (with a rating invitation), extension; urging; quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rq.job import Job
from sqlalchemy import select

from notifications import jobs, outbox, queueing
from petitions.domain.errors import Conflict
from petitions.models import Card, Event, Outbox
from petitions.services import actions, messages
from tests.notify_support import file, outbox_rows, run_jobs

pytest_plugins = ["tests.notify_support"]

CITIZEN = "13912345678"


def _do(db, petition, action, username, demo_user, **fields):
    db.session.expire_all()
    p = actions.load(petition.tracking_no, lock=False)
    return actions.perform(p, action, demo_user(username), p.version, **fields)


def _citizen_rows(db, petition_id):
    return [(r.purpose, r.phone, r.status) for r in outbox_rows(db, petition_id) if not r.staff]


def test_acceptance_texts_the_citizen_in_the_same_transaction(app, db, clock, demo_user):
    petition = file(db, phone=CITIZEN)
    assert outbox_rows(db, petition.id) == []
    _do(db, petition, "accept", "dongcheng-leader", demo_user)
    rows = outbox_rows(db, petition.id)
    assert [(r.purpose, r.phone, r.staff, r.status) for r in rows] == [
        ("citizen_accepted", CITIZEN, False, "queued")
    ]
    event = db.session.scalar(select(Event).where(Event.petition_id == petition.id, Event.type == "accepted"))
    assert rows[0].event_id == event.id
    assert rows[0].key == f"{petition.id}:-:citizen_accepted:p{CITIZEN}:e{event.id}"
    assert petition.tracking_no in rows[0].body and "/track?no=" in rows[0].body
    assert "东城街道" in rows[0].body
    # Handed to RQ after the commit.
    job = Job.fetch(queueing.delivery_job_id(rows[0].id), connection=queueing.connection())
    assert job.get_status() == "queued"
    run_jobs(app)
    assert [r.status for r in outbox_rows(db, petition.id)] == ["sent"]


def test_a_refused_change_writes_no_message(app, db, clock, demo_user):
    petition = file(db, phone=CITIZEN)
    stale = petition.version - 1
    with pytest.raises(Conflict):
        actions.perform(actions.load(petition.tracking_no), "accept", demo_user("dongcheng-leader"), stale)
    assert outbox_rows(db, petition.id) == []


def test_decline_texts_the_citizen(app, db, clock, demo_user):
    petition = file(db, phone=CITIZEN)
    _do(
        db,
        petition,
        "decline",
        "dongcheng-leader",
        demo_user,
        reason="属于法院管辖",
        channel="向人民法院起诉",
    )
    assert _citizen_rows(db, petition.id) == [("citizen_declined", CITIZEN, "queued")]


def test_reply_texts_the_citizen_and_invites_a_rating_with_a_signed_link(app, db, clock, demo_user):
    petition = file(db, phone=CITIZEN)
    _do(db, petition, "accept", "dongcheng-leader", demo_user)
    _do(db, petition, "assign", "dongcheng-leader", demo_user, handler="dongcheng-handler")
    _do(db, petition, "reply", "dongcheng-leader", demo_user, text="路灯已修复。")
    rows = [r for r in outbox_rows(db, petition.id) if not r.staff]
    assert [r.purpose for r in rows] == ["citizen_accepted", "citizen_replied", "citizen_rating"]
    link = rows[2].body.split()[-1]
    assert link.startswith(app.extensions["settings"].base_url + "/rate/")
    token = link.rsplit("/", 1)[1]
    assert messages.rating_serializer().loads(token) == [petition.tracking_no, 1]
    # Both rows point at the same reply event but are two keys.
    assert rows[1].event_id == rows[2].event_id and rows[1].key != rows[2].key


def test_extension_texts_the_citizen_with_the_days(app, db, clock, demo_user):
    petition = file(db, phone=CITIZEN)
    _do(db, petition, "accept", "dongcheng-leader", demo_user)
    _do(db, petition, "request-extension", "dongcheng-handler", demo_user, days=10, reason="需要现场勘查")
    _do(db, petition, "approve-extension", "dongcheng-leader", demo_user)
    rows = [r for r in outbox_rows(db, petition.id) if not r.staff]
    assert [r.purpose for r in rows] == ["citizen_accepted", "citizen_extended"]
    assert "延长10天" in rows[1].body


def test_no_text_without_a_number_or_to_an_anonymous_reporter(app, db, clock, demo_user):
    petition = file(db, phone=CITIZEN)
    petition.contact_phone = None
    db.session.commit()
    _do(db, petition, "accept", "dongcheng-leader", demo_user)
    assert outbox_rows(db, petition.id) == []


def test_urge_gives_a_card_and_texts_the_unit_leader(app, db, clock, demo_user, staff_phones):
    petition = file(db, phone=CITIZEN)
    _do(db, petition, "urge", "supervisor", demo_user, text="请于三日内办结并报告。")
    rows = outbox_rows(db, petition.id)
    assert [(r.purpose, r.recipient_user_id, r.staff) for r in rows] == [
        ("staff_urge", staff_phones["dongcheng-leader"], True)
    ]
    cards = db.session.scalars(select(Card).where(Card.petition_id == petition.id)).all()
    assert [(c.level, c.seq, c.given_by_id) for c in cards] == [("urged", 1, demo_user("supervisor").id)]
    # The formal urging counts; the sweep's own urged card later is the second.
    clock.set(datetime(2026, 3, 13, 2, 0, tzinfo=UTC))
    jobs.sweep()
    db.session.expire_all()
    levels = [
        (c.level, c.seq) for c in db.session.scalars(select(Card).where(Card.petition_id == petition.id))
    ]
    assert levels == [("urged", 1), ("red", 1), ("urged", 2)]


def test_staff_texts_wait_for_the_end_of_quiet_hours(app, db, clock, twilio, staff_phones):
    petition = file(db)
    # Saturday 7 March, 22:30 in the bureau: the clock turns yellow, the handler sleeps.
    clock.set(datetime(2026, 3, 7, 14, 30, tzinfo=UTC))
    jobs.sweep()
    (row,) = outbox_rows(db, petition.id)
    assert row.next_attempt_at == clock()  # owed now ...
    run_jobs(app)  # ... and its delivery waits for the morning
    (row,) = outbox_rows(db, petition.id)
    assert row.next_attempt_at == datetime(2026, 3, 8, 0, 0, tzinfo=UTC)  # 08:00 local
    assert row.status == "queued" and row.attempts == 0
    assert outbox.deliver(row.id) == "skipped"
    assert twilio.requests == []
    clock.set(datetime(2026, 3, 7, 23, 59, tzinfo=UTC))  # 07:59
    assert jobs.sweep()["enqueued"] == 0
    clock.set(datetime(2026, 3, 8, 0, 0, 30, tzinfo=UTC))  # 08:00:30
    assert jobs.sweep()["enqueued"] == 1
    run_jobs(app)
    assert len(twilio.accepted) == 1


def test_an_urging_at_night_reaches_the_leader_in_the_morning(app, db, clock, twilio, demo_user, staff_phones):
    petition = file(db, phone=CITIZEN)
    # Monday 2 March, 23:00 in the bureau: the supervisor urges; the unit leader sleeps.
    clock.set(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    _do(db, petition, "urge", "supervisor", demo_user, text="请于三日内办结并报告。")
    (row,) = [r for r in outbox_rows(db, petition.id) if r.staff]
    assert (row.purpose, row.recipient_user_id) == ("staff_urge", staff_phones["dongcheng-leader"])
    run_jobs(app)
    (row,) = [r for r in outbox_rows(db, petition.id) if r.staff]
    # Held until 08:00 on Tuesday 3 March (00:00 UTC), nothing sent in the night.
    assert (row.status, row.attempts) == ("queued", 0)
    assert row.next_attempt_at == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    assert "+8613800000002" not in [to for to, _ in twilio.bodies()]
    clock.set(datetime(2026, 3, 2, 23, 59, tzinfo=UTC))  # 07:59
    jobs.sweep()
    run_jobs(app)
    assert "+8613800000002" not in [to for to, _ in twilio.bodies()]
    clock.set(datetime(2026, 3, 3, 0, 0, 30, tzinfo=UTC))  # 08:00:30
    jobs.sweep()
    run_jobs(app)
    assert [to for to, _ in twilio.bodies()].count("+8613800000002") == 1
    (row,) = [r for r in outbox_rows(db, petition.id) if r.staff]
    assert row.status == "sent"


def test_citizen_texts_are_not_held_at_night(app, db, clock, demo_user):
    clock.set(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))  # 23:00 local
    petition = file(db, phone=CITIZEN)
    _do(db, petition, "accept", "dongcheng-leader", demo_user)
    (row,) = outbox_rows(db, petition.id)
    assert row.next_attempt_at == clock()


def test_the_key_is_unique(app, db, clock, staff_phones):
    from sqlalchemy.exc import IntegrityError

    petition = file(db)
    clock.set(datetime(2026, 3, 7, 2, 0, tzinfo=UTC))
    jobs.sweep()
    (row,) = outbox_rows(db, petition.id)
    db.session.add(Outbox(key=row.key, purpose=row.purpose, petition_id=petition.id, body="twice"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert len(outbox_rows(db, petition.id)) == 1
