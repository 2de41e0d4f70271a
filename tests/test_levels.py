"""Levels and cards on real clocks: time left for queues, extensions after red, the editable calendar, UTC storage."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select, text

from notifications import jobs
from petitions.domain import clocks as rules
from petitions.domain.clocks import Limit
from petitions.models import CalendarDay, Card, Clock
from petitions.services import actions, clocks
from petitions.services import calendar as workcalendar
from tests.conftest import configure
from tests.notify_support import file, outbox_rows

pytest_plugins = ["tests.notify_support"]


def _open_clock(db, petition_id) -> Clock:
    db.session.expire_all()
    return db.session.scalar(
        select(Clock).where(Clock.petition_id == petition_id, Clock.stopped_at.is_(None))
    )


def test_clock_status_gives_level_and_time_left(app, db, clock):
    petition = file(db)
    status = clocks.running_status(petition)
    assert status.level == "green" and status.kind == "accept"
    assert status.time_left == status.due_at - clock()
    later = status.due_at + timedelta(hours=5)
    late = clocks.running_status(petition, later)
    assert late.level == "red" and late.overdue and late.time_left == timedelta(hours=-5)
    assert (
        clocks.status(_open_clock(db, petition.id), status.due_at + timedelta(days=3)).level == "urged"
    )


def test_an_extension_approved_after_red_moves_the_due_time_and_the_level_back(
    app, db, clock, demo_user, staff_phones
):
    petition = file(db)
    p = actions.load(petition.tracking_no, lock=False)
    actions.perform(p, "accept", demo_user("dongcheng-leader"), p.version)
    handle = _open_clock(db, petition.id)
    assert handle.kind == "handle"
    old_due = handle.due_at
    clock.set(old_due + timedelta(hours=10))  # red
    assert jobs.sweep()["red"] == 1
    assert _open_clock(db, petition.id).level == "red"
    p = actions.load(petition.tracking_no, lock=False)
    actions.perform(
        p, "request-extension", demo_user("dongcheng-handler"), p.version, days=30, reason="需要鉴定"
    )
    p = actions.load(petition.tracking_no, lock=False)
    actions.perform(p, "approve-extension", demo_user("dongcheng-leader"), p.version)
    moved = _open_clock(db, petition.id)
    # 30 more days counted on from the old due date, not from the approval.
    assert moved.due_at >= old_due + timedelta(days=30)
    assert moved.due_at - old_due <= timedelta(days=33)
    assert moved.extended_days == 30
    assert moved.level == "green"
    assert moved.yellow_at == rules.yellow_from(moved.started_at, moved.due_at, app.extensions["settings"].thresholds) > clock()
    # The red card stays on the record.
    cards = [
        (c.level, c.seq) for c in db.session.scalars(select(Card).where(Card.petition_id == petition.id))
    ]
    assert cards == [("red", 1)]
    # Overdue again: a second red card, and the handler and leader are told again.
    clock.set(moved.due_at + timedelta(hours=10))
    jobs.sweep()
    cards = [
        (c.level, c.seq) for c in db.session.scalars(select(Card).where(Card.petition_id == petition.id))
    ]
    assert cards == [("red", 1), ("red", 2)]  # found overdue: no yellow card on the way
    red_rows = [r for r in outbox_rows(db, petition.id) if r.purpose == "staff_red"]
    assert sorted(r.occurrence for r in red_rows) == ["1", "1", "2", "2"]


def test_the_calendar_edited_in_the_database_is_the_one_counted(app, db, clock):
    # 2026-03-04 (Wednesday) made a holiday: a 1-working-day limit from Tuesday 3 March runs to Thursday 5.
    limits = app.extensions["settings"].time_limits
    configure(app, time_limits={**limits, "accept": Limit(statutory=1, committed=1, unit="working")})
    clock.set(datetime(2026, 3, 3, 2, 0, tzinfo=UTC))
    first = file(db)
    assert _open_clock(db, first.id).due_at == datetime(2026, 3, 4, 16, 0, tzinfo=UTC)
    # Entered in the database by another process: counted once this process forgets its copy.
    db.session.add(CalendarDay(day=date(2026, 3, 4), year=2026, kind="holiday", name="测试"))
    db.session.commit()
    workcalendar.invalidate()
    second = file(db)
    assert _open_clock(db, second.id).due_at == datetime(2026, 3, 5, 16, 0, tzinfo=UTC)


def test_the_calendar_table_is_seeded_from_config(app, db):
    rows = db.session.scalars(select(CalendarDay).where(CalendarDay.year == 2027)).all()
    assert rows and all(r.provisional for r in rows)
    assert {r.day for r in rows if r.kind == "holiday"} >= {
        date(2027, 1, 1),
        date(2027, 2, 6),
        date(2027, 10, 1),
    }
    cal = workcalendar.current()
    assert cal.knows(2026) and cal.knows(2027) and not cal.knows(2028)
    assert not cal.is_workday(date(2026, 10, 1)) and cal.is_workday(date(2026, 10, 10))


def test_times_are_stored_in_utc(app, db, clock):
    petition = file(db)
    due = _open_clock(db, petition.id).due_at
    raw = db.session.execute(
        text("SELECT due_at FROM clocks WHERE petition_id = :p"), {"p": petition.id}
    ).scalar()
    if isinstance(raw, str):  # SQLite: naive UTC text
        raw = datetime.fromisoformat(raw).replace(tzinfo=UTC)
    assert raw == due and due.utcoffset() == timedelta(0)
    # 00:00 in Beijing is 16:00 UTC the day before.
    assert (due.hour, due.minute) == (16, 0)
    assert clocks.calendar() is workcalendar.current()


def _admin(client, demo_user):
    with client.session_transaction() as session:
        session["_user_id"] = str(demo_user("admin").id)
        session["_fresh"] = True
    html = client.get("/admin/calendar?year=2026").get_data(as_text=True)
    import re

    return html, re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_admin_edits_the_calendar(app, db, client, demo_user):
    assert client.get("/admin/calendar").status_code in (302, 401)
    html, token = _admin(client, demo_user)
    assert 'data-day="2026-10-10"' in html
    # Bad input is explained and writes nothing.
    before = db.session.scalar(select(func.count(CalendarDay.id)))
    bad = client.post(
        "/admin/calendar/days?year=2026", data={"csrf_token": token, "day": "2026-13-01", "kind": "holiday"}
    )
    weekday = client.post(
        "/admin/calendar/days?year=2026", data={"csrf_token": token, "day": "2026-03-04", "kind": "workday"}
    )
    twice = client.post(
        "/admin/calendar/days?year=2026", data={"csrf_token": token, "day": "2026-10-01", "kind": "holiday"}
    )
    assert [r.status_code for r in (bad, weekday, twice)] == [422, 422, 422]
    assert db.session.scalar(select(func.count(CalendarDay.id))) == before
    ok = client.post(
        "/admin/calendar/days?year=2026",
        data={"csrf_token": token, "day": "2026-03-04", "kind": "holiday", "name": "测试"},
    )
    assert ok.status_code == 303
    assert not workcalendar.current().is_workday(date(2026, 3, 4))
    row = db.session.scalar(select(CalendarDay).where(CalendarDay.day == date(2026, 3, 4)))
    client.post(f"/admin/calendar/days/{row.id}/delete?year=2026", data={"csrf_token": token})
    assert workcalendar.current().is_workday(date(2026, 3, 4))
    # 2027 becomes final once the official arrangement is in.
    client.post("/admin/calendar/2027/provisional", data={"csrf_token": token, "final": "1"})
    assert 2027 not in workcalendar.current().provisional
    client.post("/admin/calendar/2027/provisional", data={"csrf_token": token, "final": "0"})
    assert 2027 in workcalendar.current().provisional
    # A year without data says so.
    assert 'data-calendar="unknown"' in client.get("/admin/calendar?year=2030").get_data(as_text=True)


def test_the_configured_rule_gives_the_yellow_moment_worked_out_by_hand(app, db, clock, demo_user):
    """The bureau's rule as configured (Settings.thresholds): yellow at 20% of the time left."""
    petition = file(db)  # Monday 2 March 2026, 10:00 in the bureau
    p = actions.load(petition.tracking_no, lock=False)
    actions.perform(p, "accept", demo_user("dongcheng-leader"), p.version)
    handle = _open_clock(db, petition.id)
    # 20 calendar days from Tuesday 3 March end on Sunday 22, rolled to Monday 23: due at its
    # end, 2026-03-24 00:00 local. Its time is 21 days 14 hours (518 h); 20% of it, 103.6 h,
    # is left at Thursday 19 March 16:24 local (3 days left would come later, half the time
    # has long passed). At 25% it would be Wednesday 18 March, 14:30.
    assert (handle.kind, handle.allowed_days, handle.day_unit) == ("handle", 20, "calendar")
    assert handle.due_at == datetime(2026, 3, 23, 16, 0, tzinfo=UTC)
    assert handle.yellow_at == datetime(2026, 3, 19, 8, 24, tzinfo=UTC)
    clock.set(datetime(2026, 3, 18, 6, 30, tzinfo=UTC))
    assert jobs.sweep()["yellow"] == 0
    assert clocks.running_status(actions.load(petition.tracking_no, lock=False)).level == "green"
    clock.set(datetime(2026, 3, 19, 8, 23, tzinfo=UTC))
    assert jobs.sweep()["yellow"] == 0
    clock.set(datetime(2026, 3, 19, 8, 24, tzinfo=UTC))
    assert jobs.sweep()["yellow"] == 1
    assert _open_clock(db, petition.id).level == "yellow"
    # The pure rule with the configured thresholds: a 30-day clock turns yellow with 6 days left.
    start = datetime(2026, 3, 1, tzinfo=UTC)
    configured = app.extensions["settings"].thresholds
    assert rules.yellow_from(start, start + timedelta(days=30), configured) == datetime(2026, 3, 25, tzinfo=UTC)
