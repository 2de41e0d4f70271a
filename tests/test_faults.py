"""Faults: Redis down or wiped, two sweeps at once, a delivery run twice, a worker killed
mid-job, and the one window in which a second copy of a message is possible.

Workers here are real RQ workers in their own processes (tests/rq_worker.py) on the
test's Redis and database: SQLite + embedded Redis by default, PostgreSQL + Redis with
TEST_DATABASE_URL and TEST_REDIS_URL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from notifications import jobs, outbox, queueing, sms
from petitions.models import Card, Outbox
from petitions.services import actions
from tests.conftest import configure
from tests.notify_support import file, outbox_rows, run_jobs

pytest_plugins = ["tests.notify_support"]

ROOT = Path(__file__).resolve().parent.parent
DEAD_REDIS = "redis://127.0.0.1:6390/0"
YELLOW_TIME = datetime(2026, 3, 7, 2, 0, tzinfo=UTC)  # Saturday 10:00 local: the accept clocks turn yellow
RED_TIME = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


class Crash(BaseException):
    """Stands for the process dying: nothing after it runs, no handler catches it."""


@pytest.fixture()
def redis_down(app):
    configure(app, redis_url=DEAD_REDIS)
    yield


def test_redis_down_loses_nothing_and_the_sweep_delivers_when_it_is_back(
    app, db, clock, twilio, staff_phones, demo_user, redis_down, redis_url
):
    # Filing, handling and sweeping all commit with Redis away.
    petitions = [file(db) for _ in range(3)]
    p = actions.load(petitions[0].tracking_no, lock=False)
    actions.perform(p, "accept", demo_user("dongcheng-leader"), p.version)
    clock.set(YELLOW_TIME)
    counts = jobs.sweep()
    assert counts["yellow"] == 2 and counts["enqueued"] == 0  # the accepted one runs a new, green clock
    rows = outbox_rows(db)
    assert sorted(r.purpose for r in rows) == ["citizen_accepted", "staff_yellow", "staff_yellow"]
    assert {r.status for r in rows} == {"queued"}
    assert twilio.requests == []

    # Redis is back (and empty): the next sweep gives every owed row a job, each is sent once.
    configure(app, redis_url=redis_url)
    clock.advance(minutes=1)
    assert jobs.sweep()["enqueued"] == 3
    run_jobs(app)
    assert {r.status for r in outbox_rows(db)} == {"sent"}
    assert len(twilio.accepted) == 3
    # Nothing more is owed.
    clock.advance(minutes=1)
    assert jobs.sweep()["enqueued"] == 0


def test_redis_wiped_after_enqueueing(app, db, clock, twilio, staff_phones, redis):
    petition = file(db)
    clock.set(YELLOW_TIME)
    counts = jobs.sweep()
    # The yellow text is handed to RQ when the sweep commits; the repair step has nothing to do.
    assert (counts["owed"], counts["enqueued"]) == (1, 0)
    assert len(queueing.queue()) == 1
    redis.flushdb()
    clock.advance(minutes=1)
    assert jobs.sweep()["enqueued"] == 1
    run_jobs(app)
    assert [r.status for r in outbox_rows(db, petition.id)] == ["sent"]
    assert len(twilio.accepted) == 1


def test_a_queued_job_is_not_enqueued_twice_by_the_sweep(app, db, clock, twilio, staff_phones):
    file(db)
    clock.set(YELLOW_TIME)
    counts = jobs.sweep()
    assert (counts["owed"], counts["enqueued"]) == (1, 0)
    clock.advance(minutes=1)
    assert jobs.sweep()["enqueued"] == 0
    assert len(queueing.queue()) == 1


def test_a_scheduled_delivery_left_past_its_time_is_enqueued_by_the_sweep(
    app, db, clock, twilio, staff_phones, redis
):
    """A retry waits in RQ's scheduled registry; when no RQ scheduler runs (the worker holding
    its lock was killed, or it died with the connection), the sweep enqueues it itself."""
    from rq.registry import ScheduledJobRegistry

    stalled, waiting = file(db), file(db)
    clock.set(YELLOW_TIME)
    assert jobs.sweep()["owed"] == 2
    q = queueing.queue()
    # One row each; the sweep's order of insertion is not the order of filing.
    (stalled_row,), (waiting_row,) = outbox_rows(db, stalled.id), outbox_rows(db, waiting.id)
    rows = [stalled_row, waiting_row]
    assert len(q) == 2
    real = datetime.now(UTC)
    # One retry 30 s overdue in the registry, the other due in a minute.
    for row, at in ((rows[0], real - timedelta(seconds=30)), (rows[1], real + timedelta(minutes=1))):
        job = q.fetch_job(queueing.delivery_job_id(row.id))
        q.remove(job)
        q.schedule_job(job, at)
    assert len(q) == 0
    assert queueing.missing_jobs([rows[0].id, rows[1].id]) == [rows[0].id]

    clock.advance(minutes=1)
    assert jobs.sweep()["enqueued"] == 1
    registry = ScheduledJobRegistry(queue=q)
    deliveries = [j for j in registry.get_job_ids() if j.startswith("outbox-")]
    assert deliveries == [queueing.delivery_job_id(rows[1].id)]
    assert q.job_ids == [queueing.delivery_job_id(rows[0].id)]
    run_jobs(app)
    assert [r.status for r in outbox_rows(db, stalled.id)] == ["sent"]
    assert [r.status for r in outbox_rows(db, waiting.id)] == ["queued"]
    assert len(twilio.accepted) == 1
    # Not overdue yet: the next sweep leaves the waiting one to the scheduler.
    clock.advance(minutes=1)
    assert jobs.sweep()["enqueued"] == 0


def test_minute_sweeps_check_only_rows_newly_due_and_the_full_check_finds_a_lost_job(
    app, db, clock, twilio, staff_phones, redis, monkeypatch
):
    from rq.job import Job

    from notifications import sweep as sweeping

    file(db)
    clock.set(YELLOW_TIME)
    checked: list[int] = []
    real_missing = queueing.missing_jobs

    def recording(ids):
        checked.extend(ids)
        return real_missing(ids)

    monkeypatch.setattr(queueing, "missing_jobs", recording)
    counts = jobs.sweep()  # a full check: the yellow text has its job from the commit
    assert (counts["owed"], counts["enqueued"]) == (1, 0)
    (row,) = outbox_rows(db)
    assert row.id in checked
    clock.advance(minutes=5)
    jobs.sweep()
    checked.clear()
    clock.advance(minutes=1)
    assert jobs.sweep()["enqueued"] == 0
    assert row.id not in checked  # due before the last check: the minute's sweep leaves it

    # Its job goes missing without Redis being wiped: the minute's sweeps do not look ...
    redis.delete(Job.key_for(queueing.delivery_job_id(row.id)))
    clock.advance(minutes=1)
    assert jobs.sweep()["enqueued"] == 0
    # ... the full check does (every full_job_check_seconds; here its mark is taken away).
    redis.delete(sweeping.FULL_CHECK_KEY)
    clock.advance(minutes=1)
    assert jobs.sweep()["enqueued"] == 1
    assert row.id in checked
    # Redis wiped: the marks go with the jobs, and the next sweep checks every row again.
    redis.flushdb()
    checked.clear()
    clock.advance(minutes=1)
    assert jobs.sweep()["enqueued"] == 1 and row.id in checked


# ---------------------------------------------------------------- the crash window, step by step


def _crash_at(point: str, monkeypatch) -> None:
    real_sender_for = sms.sender_for

    class CrashingSender:
        def __init__(self, inner, before: bool):
            self.inner, self.before, self.name = inner, before, "crashing"

        def send(self, *args, **kwargs):
            if self.before:
                raise Crash("killed after the claim, before the provider was called")
            self.inner.send(*args, **kwargs)
            raise Crash("killed after the provider accepted, before its id was recorded")

    if point == "before_claim":
        monkeypatch.setattr(
            outbox, "claim", lambda *a, **k: (_ for _ in ()).throw(Crash("killed before the claim"))
        )
    elif point == "after_claim":
        monkeypatch.setattr(sms, "sender_for", lambda config: CrashingSender(real_sender_for(config), True))
    elif point == "after_accept":
        monkeypatch.setattr(sms, "sender_for", lambda config: CrashingSender(real_sender_for(config), False))
    elif point == "after_record":
        real_finish = outbox._finish

        def finish_then_crash(*a, **k):
            real_finish(*a, **k)
            raise Crash("killed after the record")

        monkeypatch.setattr(outbox, "_finish", finish_then_crash)


@pytest.mark.parametrize(
    ("point", "lag", "copies"),
    [
        ("before_claim", 0, 1),
        ("after_claim", 0, 1),
        # Accepted, then killed before the record: the next attempt finds it in the provider's list.
        ("after_accept", 0, 1),
        # The window that remains: the provider accepted it but does not list it yet.
        ("after_accept", 3600, 2),
        ("after_record", 0, 1),
    ],
)
def test_a_second_copy_is_possible_only_while_the_provider_does_not_list_the_first(
    app, db, clock, twilio, staff_phones, monkeypatch, point, lag, copies
):
    twilio.list_lag = lag
    petition = file(db)
    clock.set(YELLOW_TIME)
    jobs.sweep()
    (row,) = outbox_rows(db, petition.id)
    with monkeypatch.context() as patched:
        _crash_at(point, patched)
        with pytest.raises(Crash):
            outbox.deliver(row.id)
    db.session.rollback()  # the next process starts clean
    # Restart: after the lease, the sweep takes back what was mid-send and enqueues it.
    clock.advance(seconds=app.extensions["settings"].notify.sending_lease_seconds + 1)
    jobs.sweep()
    run_jobs(app)
    clock.advance(minutes=10)
    jobs.sweep()
    run_jobs(app)
    (row,) = outbox_rows(db, petition.id)
    assert row.status == "sent"
    assert len(twilio.accepted) == copies
    assert row.attempts == (2 if point in ("after_claim", "after_accept") else 1)
    # Only a second attempt asks the provider's list; the id recorded is the one it accepted.
    assert twilio.lists == (1 if point in ("after_claim", "after_accept") else 0)
    assert row.provider_id == twilio.accepted[-1].outcome


# ---------------------------------------------------------------- real workers in their own processes


def _worker_env(app, at: datetime, twilio) -> dict[str, str]:
    env = dict(os.environ)
    s = app.extensions["settings"]
    env.update(
        DATABASE_URL=s.database_url,
        REDIS_URL=s.redis_url,
        RQ_QUEUE=s.rq_queue,
        TWILIO_ACCOUNT_SID=s.twilio.account_sid,
        TWILIO_AUTH_TOKEN=s.twilio.auth_token,
        TWILIO_FROM=s.twilio.from_,
        TWILIO_API_URL=twilio.url,
        XF_NOW=at.isoformat(),
        PYTHONPATH=str(ROOT),
    )
    return env


def _workers(app, twilio, at: datetime, n: int, *, burst: bool = True) -> list[subprocess.Popen]:
    args = [sys.executable, str(ROOT / "tests" / "rq_worker.py")] + (["--burst"] if burst else [])
    return [
        subprocess.Popen(args, env=_worker_env(app, at, twilio), cwd=ROOT, start_new_session=True) for _ in range(n)
    ]


def _wait(procs: list[subprocess.Popen], timeout: float = 120) -> None:
    for proc in procs:
        assert proc.wait(timeout=timeout) == 0


def test_two_sweeps_at_once_and_deliveries_run_twice_send_one_message_per_key(
    app, db, clock, twilio, staff_phones
):
    petitions = [file(db) for _ in range(6)]
    clock.set(RED_TIME)  # each clock crosses yellow? no: found overdue, straight to red (handler + leader)
    db.session.commit()
    q = queueing.queue()
    for _ in range(4):
        q.enqueue(jobs.sweep)
    _wait(_workers(app, twilio, RED_TIME, 4))
    # Every delivery job twice more, under other job ids, with workers racing.
    ids = [r.id for r in outbox_rows(db)]
    for _ in range(2):
        for outbox_id in ids:
            q.enqueue(jobs.deliver, outbox_id)
    _wait(_workers(app, twilio, RED_TIME, 3))
    rows = outbox_rows(db)
    assert len(rows) == 2 * len(petitions)
    assert len({r.key for r in rows}) == len(rows)
    assert {r.status for r in rows} == {"sent"}
    assert len(twilio.accepted) == len(rows)
    assert sorted(b for _to, b in twilio.bodies()) == sorted(r.body for r in rows)
    cards = db.session.scalar(
        select(func.count(Card.id)).where(Card.petition_id.in_([p.id for p in petitions]))
    )
    assert cards == len(petitions)


def test_a_worker_killed_mid_job_still_delivers_after_restart(app, db, clock, twilio, staff_phones):
    petition = file(db)
    clock.set(YELLOW_TIME)
    jobs.sweep()
    (row,) = outbox_rows(db, petition.id)
    twilio.hang_seconds = 20
    twilio.fail_next("hang")
    (worker,) = _workers(app, twilio, YELLOW_TIME, 1, burst=False)
    deadline = time.monotonic() + 60
    while not twilio.requests and time.monotonic() < deadline:
        time.sleep(0.1)
    assert twilio.requests, "the worker never called the provider"
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    db.session.expire_all()
    row = db.session.get(Outbox, row.id)
    assert (row.status, row.attempts) == ("sending", 1)
    assert twilio.accepted == []

    # After restart: the sweep takes the row back once the lease has passed, a new worker sends it.
    later = YELLOW_TIME + timedelta(seconds=app.extensions["settings"].notify.sending_lease_seconds + 1)
    clock.set(later)
    counts = jobs.sweep()
    assert counts["recovered"] == 1 and counts["enqueued"] == 1
    _wait(_workers(app, twilio, later, 1))
    db.session.expire_all()
    row = db.session.get(Outbox, row.id)
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(twilio.accepted) == 1
