"""The sweep, walked with a controlled clock: green → yellow → red → urged, and the daily reminder.

Runs on SQLite + embedded Redis, and on PostgreSQL + Redis with TEST_DATABASE_URL and
TEST_REDIS_URL. SMS go through the real twilio client to a local fake of its API.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from notifications import jobs
from petitions.models import Card, Clock, Event, User
from petitions.services import actions
from tests.notify_support import file, outbox_rows, run_jobs

pytest_plugins = ["tests.notify_support"]


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    """March 2026, Beijing time, as UTC."""
    return (
        datetime(2026, 3, day, hour - 8, minute, tzinfo=UTC)
        if hour >= 8
        else datetime(2026, 3, day - 1, hour + 16, minute, tzinfo=UTC)
    )


def _events(db, petition_id: int) -> list[tuple[str, bool]]:
    db.session.expire_all()
    return [
        (ev.type, ev.public)
        for ev in db.session.scalars(select(Event).where(Event.petition_id == petition_id).order_by(Event.id))
    ]


def _cards(db, petition_id: int) -> list[tuple[str, int]]:
    return [
        (c.level, c.seq)
        for c in db.session.scalars(select(Card).where(Card.petition_id == petition_id).order_by(Card.id))
    ]


def test_walk_green_yellow_red_urged(app, db, clock, twilio, staff_phones):
    petition = file(db)
    no = petition.tracking_no
    pid = petition.id
    acc = db.session.scalar(select(Clock).where(Clock.petition_id == pid, Clock.stopped_at.is_(None)))
    # Accept clock: 7 calendar days from Tuesday 3 March → due at the end of Monday 9 March.
    assert acc.kind == "accept"
    assert acc.due_at == _local(10, 0)
    assert acc.yellow_at == _local(7, 0)  # 3 days left comes before 20% left

    base_events = _events(db, pid)
    assert [t for t, _ in base_events] == ["registered", "routed"]

    # Still green the day before yellow: nothing happens.
    clock.set(_local(6, 10))
    assert jobs.sweep()["yellow"] == 0
    assert outbox_rows(db, pid) == [] and twilio.requests == []

    # Yellow (Saturday 7 March, 10:00): a card, a staff-only event, one text to the unit's handler.
    clock.set(_local(7, 10))
    counts = jobs.sweep()
    assert counts["yellow"] == 1 and counts["red"] == 0
    rows = outbox_rows(db, pid)
    assert [(r.purpose, r.recipient_user_id, r.status) for r in rows] == [
        ("staff_yellow", staff_phones["dongcheng-handler"], "queued")
    ]
    assert rows[0].key == f"{pid}:{acc.id}:yellow:u{staff_phones['dongcheng-handler']}:1"
    run_jobs(app)
    assert twilio.bodies() == [
        (
            "+8613800000001",
            f"【信访】{no}受理将于3月9日到期，黄牌预警，请抓紧办理 http://127.0.0.1:5000/staff/petitions/{no}",
        )
    ]
    assert [r.status for r in outbox_rows(db, pid)] == ["sent"]
    assert _events(db, pid)[2:] == [("card_yellow", False)]
    assert _cards(db, pid) == [("yellow", 1)]

    # Sweeping again (and the clock's own job) changes nothing.
    assert jobs.sweep()["yellow"] == 0
    assert jobs.check_clock(acc.id)["yellow"] == 0
    run_jobs(app)
    assert len(twilio.accepted) == 1

    # Red (Tuesday 10 March, 10:00): handler and leader.
    clock.set(_local(10, 10))
    assert jobs.sweep()["red"] == 1
    run_jobs(app)
    rows = outbox_rows(db, pid)
    assert [(r.purpose, r.recipient_user_id) for r in rows[1:]] == [
        ("staff_red", staff_phones["dongcheng-handler"]),
        ("staff_red", staff_phones["dongcheng-leader"]),
    ]
    assert sorted(to for to, _ in twilio.bodies()[1:]) == ["+8613800000001", "+8613800000002"]
    assert all("已超期，红牌" in body and no in body for _, body in twilio.bodies()[1:])
    assert _cards(db, pid) == [("yellow", 1), ("red", 1)]
    assert [t for t, _ in _events(db, pid)[2:]] == ["card_yellow", "card_red"]

    # Urged (Friday 13 March, 08:30, before the daily reminder): supervisor and leader.
    clock.set(_local(13, 8, 30))
    counts = jobs.sweep()
    assert counts["urged"] == 1 and counts["repeat"] == 0
    run_jobs(app)
    rows = outbox_rows(db, pid)
    assert sorted((r.purpose, r.recipient_user_id) for r in rows[3:]) == sorted(
        [("staff_urged", staff_phones["supervisor"]), ("staff_urged", staff_phones["dongcheng-leader"])]
    )
    assert sorted(to for to, _ in twilio.bodies()[3:]) == ["+8613800000002", "+8613800000003"]
    assert _cards(db, pid) == [("yellow", 1), ("red", 1), ("urged", 1)]
    assert [t for t, _ in _events(db, pid)[2:]] == ["card_yellow", "card_red", "card_urged"]
    db.session.expire_all()
    assert db.session.get(Clock, acc.id).level == "urged"

    # 09:00: the daily reminder of a clock red for a day or more, to handler and leader, once.
    clock.set(_local(13, 9, 1))
    assert jobs.sweep()["repeat"] == 2
    clock.set(_local(13, 9, 2))
    assert jobs.sweep()["repeat"] == 0
    run_jobs(app)
    rows = outbox_rows(db, pid)
    assert [(r.purpose, r.occurrence) for r in rows[5:]] == [
        ("staff_red_repeat", "d2026-03-13"),
        ("staff_red_repeat", "d2026-03-13"),
    ]
    assert len(twilio.accepted) == 7
    assert all(r.status == "sent" and r.provider_id.startswith("SM") for r in rows)
    # Every request carried the account's credentials and a status callback.
    assert all(r.auth == (twilio.account_sid, twilio.auth_token) for r in twilio.requests)
    assert all(r.form["StatusCallback"].endswith("/webhooks/twilio/status") for r in twilio.requests)


def test_cards_stay_after_closure_and_stopped_clocks_are_left_alone(app, db, clock, twilio, staff_phones):
    petition = file(db)
    clock.set(_local(10, 10))
    assert jobs.sweep()["red"] == 1
    from petitions.services import clocks
    from petitions.services.uow import UnitOfWork

    work = UnitOfWork()
    clocks.stop_all(work, actions.load(petition), clock())
    work.commit()
    clock.set(_local(20, 10))
    counts = jobs.sweep()
    assert counts["urged"] == 0 and counts["repeat"] == 0
    assert _cards(db, petition.id) == [("red", 1)]


def test_supervisor_without_phone_is_still_owed_and_fails_visibly(app, db, clock, twilio):
    """No mobile number on file: the row exists and fails at delivery, not retried."""
    petition = file(db)
    clock.set(_local(7, 10))
    jobs.sweep()
    run_jobs(app)
    rows = outbox_rows(db, petition.id)
    assert [(r.status, r.last_error) for r in rows] == [("failed", "no mobile number on file")]
    assert twilio.requests == []


def test_a_clock_without_unit_warns_intake(app, db, clock, twilio, staff_phones):
    """A petition waiting in the intake queue (route clock): the intake officers hear of it."""
    from petitions.services import clocks
    from petitions.services.uow import UnitOfWork

    petition = file(db)
    petition.unit_id = None
    petition.status = "registered"
    work = UnitOfWork()
    clocks.start(work, petition, "route", None, clock())
    work.commit()
    # Route clock: 5 days from Tuesday 3 March ends on Saturday 7, rolls over to Monday 9.
    assert petition.open_clock.due_at == _local(10, 0)
    clock.set(_local(7, 10))
    jobs.sweep()
    rows = [r for r in outbox_rows(db, petition.id) if r.purpose == "staff_yellow"]
    intake = db.session.scalar(select(User).where(User.username == "intake"))
    assert [r.recipient_user_id for r in rows] == [intake.id]


def test_demo_clock_command_crosses_within_two_minutes(app, db, clock, capsys):
    from datetime import timedelta

    result = app.test_cli_runner().invoke(args=["demo-clock"])
    assert result.exit_code == 0, result.output
    no = result.output.split(":")[0]
    assert no.startswith("XF") and "yellow in 30 s, red in 90 s" in result.output
    start = clock()
    clock.set(start + timedelta(seconds=31))
    assert jobs.sweep()["yellow"] == 1
    clock.set(start + timedelta(seconds=91))
    assert jobs.sweep()["red"] == 1
    run_jobs(app)
    out = capsys.readouterr().out
    assert f"【信访】{no}受理" in out and "红牌" in out


def test_a_new_clock_is_scheduled_with_rqs_scheduler_at_its_crossings(app, db, clock):
    """One check at a time per clock: at its next crossing; each check schedules the next."""
    from rq.registry import ScheduledJobRegistry

    from notifications import queueing

    petition = file(db)
    acc = petition.open_clock
    registry = ScheduledJobRegistry(queue=queueing.queue())
    moments = [acc.yellow_at, acc.due_at, acc.due_at + timedelta(days=3)]
    job_ids = [f"clock-{acc.id}-{int(moment.timestamp())}" for moment in moments]

    def scheduled() -> list[bool]:
        ids = set(registry.get_job_ids())
        return [job_id in ids for job_id in job_ids]

    assert scheduled() == [True, False, False]
    # The job for a moment checks that one clock, and is harmless early.
    assert jobs.check_clock(acc.id) == {
        "yellow": 0,
        "red": 0,
        "urged": 0,
        "repeat": 0,
        "owed": 0,
        "recovered": 0,
        "enqueued": 0,
    }
    assert scheduled() == [True, False, False]
    # At each crossing the check gives the card and schedules the next crossing.
    for i, (moment, level) in enumerate(zip(moments, ("yellow", "red", "urged"), strict=True)):
        clock.set(moment + timedelta(seconds=1))
        assert jobs.check_clock(acc.id)[level] == 1
        if i + 1 < len(moments):
            assert scheduled()[i + 1]


def test_the_cron_schedule_registers_every_periodic_job(app, redis):
    from rq.cron import CronScheduler

    from notifications import schedule

    settings = app.extensions["settings"]
    scheduler = CronScheduler(connection=redis)
    schedule.register(scheduler, settings)
    registered = {job.name: job for job in scheduler.get_jobs()}
    assert registered["sweep"].func is jobs.sweep and registered["sweep"].interval == 60
    assert registered["close-unrated"].func is jobs.close_unrated
    assert registered["settle-measures"].func is jobs.settle_measures
    # Expired Idempotency-Keys (whose answers hold query codes) are purged on a schedule too.
    assert registered["purge-idempotency-keys"].func is jobs.purge_idempotency_keys
    # The public figures are computed ahead of the visitors (petitions.measures.shared).
    assert registered["refresh-public-measures"].func is jobs.refresh_public_measures
    assert {job.queue_name for job in registered.values()} == {settings.rq_queue}
    assert {name: job.interval for name, job in registered.items()} == {
        "sweep": settings.schedule.sweep,
        "close-unrated": settings.schedule.close_unrated,
        "settle-measures": settings.schedule.settle_measures,
        "purge-idempotency-keys": settings.schedule.purge_idempotency_keys,
        "refresh-public-measures": settings.schedule.refresh_public_measures,
    }
    assert jobs.close_unrated() == 0
