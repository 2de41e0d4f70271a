"""Putting work on RQ. Redis only carries work that the database can rebuild: every function
here may fail (Redis down, wiped) without losing anything, because the sweep finds queued
outbox rows without a job and clocks past a crossing, and repairs both.

`Dispatcher` is what the unit of work hands its committed work to (wired in create_app()).
Jobs are named by their path, so this module needs nothing from the jobs it enqueues.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry

from notifications import redis_conn
from petitions.domain.clocks import as_utc, now
from petitions.extensions import settings

log = logging.getLogger(__name__)

_connections: dict[str, Redis] = {}
DELIVER = "notifications.jobs.deliver"
CHECK_CLOCK = "notifications.jobs.check_clock"
# Job states in which a delivery job will still run by itself. A "started" job whose row is
# still queued either has not claimed it yet or died (a killed worker leaves it "started"):
# a second job is harmless, the claim lets one of them send.
_ALIVE = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
# A scheduled job still waiting this long after its time has no RQ scheduler to move it
# (the worker holding the scheduler's lock was killed: the lock outlives it by a minute, or
# its scheduler died with the connection): the sweep enqueues it itself.
SCHEDULER_GRACE = timedelta(seconds=10)


def connection() -> Redis:
    url = settings().redis_url
    if url not in _connections:
        _connections[url] = redis_conn.connect(url)
    return _connections[url]


def queue() -> Queue:
    return Queue(settings().rq_queue, connection=connection())


def delivery_job_id(outbox_id: int) -> str:
    return f"outbox-{outbox_id}"


def _retry() -> Retry:
    backoff = list(settings().notify.backoff)
    return Retry(max=len(backoff), interval=backoff)


def _real_time(moment: datetime, current: datetime) -> datetime:
    """RQ's scheduler runs on the real clock: the real instant that is as far ahead as `moment`."""
    return datetime.now(UTC) + (as_utc(moment) - current)


def _put(
    pipe, q: Queue, rows: Iterable[tuple[int, datetime | None]], clocks: dict[int, list[datetime]]
) -> int:
    """Add delivery jobs (due now: on the queue; later: with RQ's scheduler) and clock checks to
    one pipeline; answers how many jobs."""
    current = now()
    due = []
    count = 0
    for outbox_id, not_before in rows:
        job_id = delivery_job_id(outbox_id)
        if not_before is not None and as_utc(not_before) > current + timedelta(seconds=1):
            job = q.create_job(DELIVER, args=(outbox_id,), job_id=job_id, retry=_retry(), status=JobStatus.SCHEDULED)
            q.schedule_job(job, _real_time(not_before, current), pipeline=pipe)
            count += 1
        else:
            # Out of the scheduler's hands, if it held it: one job on the queue.
            pipe.zrem(_scheduled_key(q), job_id)
            due.append(Queue.prepare_data(DELIVER, args=(outbox_id,), job_id=job_id, retry=_retry()))
    if due:
        count += len(q.enqueue_many(due, pipeline=pipe))
    for clock_id, moments in clocks.items():
        for moment in moments:
            if moment is None or as_utc(moment) <= current:
                continue
            job_id = f"clock-{clock_id}-{int(as_utc(moment).timestamp())}"
            job = q.create_job(CHECK_CLOCK, args=(clock_id,), job_id=job_id, status=JobStatus.SCHEDULED)
            q.schedule_job(job, _real_time(moment, current) + timedelta(seconds=1), pipeline=pipe)
            count += 1
    return count


def hand_over(
    rows: Iterable[tuple[int, datetime | None]] = (), clocks: dict[int, list[datetime]] | None = None
) -> int:
    """Delivery jobs and clock checks, in pipelined calls of `enqueue_batch` rows each (one for
    what a change hands over). Never raises: what Redis does not get, the sweep finds."""
    rows = list(rows)
    clocks = clocks or {}
    count = 0
    try:
        q = queue()
        size = settings().notify.enqueue_batch
        for start in range(0, max(len(rows), 1), size):
            # Not a transaction: a command Redis refuses costs a job the sweep makes again, and
            # MULTI/EXEC would double the replies to read.
            with connection().pipeline(transaction=False) as pipe:
                count += _put(pipe, q, rows[start : start + size], clocks if start == 0 else {})
                pipe.execute()
    except (RedisError, OSError) as exc:
        log.warning("could not hand work to RQ (the sweep will find it): %s", exc)
        return 0
    return count


def enqueue_delivery(rows: Iterable[tuple[int, datetime | None]]) -> int:
    """Enqueue a delivery job per (outbox id, not before); answers how many. Never raises."""
    return hand_over(rows)


def _scheduled_key(q: Queue) -> str:
    return ScheduledJobRegistry(queue=q).key


def missing_jobs(outbox_ids: list[int]) -> list[int]:
    """Those of `outbox_ids` that no live RQ job will deliver: no job, a finished, failed or
    abandoned one, or a scheduled one left waiting past its time by more than
    SCHEDULER_GRACE. Raises RedisError when Redis is away.

    Reads only each job's status field and its time in the scheduled registry, pipelined:
    cheap enough to run over a large backlog every minute.
    """
    if not outbox_ids:
        return []
    conn = connection()
    scheduled_key = _scheduled_key(queue())
    with conn.pipeline(transaction=False) as pipe:
        for outbox_id in outbox_ids:
            job_id = delivery_job_id(outbox_id)
            pipe.hget(Job.key_for(job_id), "status")
            pipe.zscore(scheduled_key, job_id)
        answers = pipe.execute()
    alive = {s.value.encode() for s in _ALIVE}
    overdue = (datetime.now(UTC) - SCHEDULER_GRACE).timestamp()
    missing = []
    for i, outbox_id in enumerate(outbox_ids):
        status, scheduled_for = answers[2 * i], answers[2 * i + 1]
        stalled = status == JobStatus.SCHEDULED.value.encode() and (scheduled_for or 0) < overdue
        if status not in alive or stalled:
            missing.append(outbox_id)
    return missing


def schedule_clock(clock_id: int, moments: Iterable[datetime | None]) -> int:
    """Ask RQ's scheduler to check a clock at each of its crossing moments still ahead. Never raises."""
    return hand_over(clocks={clock_id: [m for m in moments if m is not None]})


class Dispatcher:
    """After a unit of work commits: its messages to deliver and its clocks to check, handed to
    RQ in one pipelined call."""

    def hand_over(self, rows: list[tuple[int, datetime | None]], clocks: dict[int, list[datetime]]) -> int:
        return hand_over(rows, clocks)
