"""The worker's and the cron scheduler's start-up: each builds the app once and runs in it.

    flask worker [--burst] [--simple]     one RQ worker on the queue, with RQ's scheduler
    flask cron                            the periodic jobs (notifications.schedule)

Jobs then find the app's settings and database in the context pushed here; they never
build the app themselves. A forking worker's work horse starts each job with fresh
database connections.

Both outlive Redis: when it goes away (restarted, emptied, unreachable for a while), RQ's
worker and cron scheduler give up with an error or return; they are then built anew and
started again once Redis answers (`restart_waits`), and only a stop asked for by a signal
ends them. The worker checks every sweep period that its RQ scheduler (a process of its
own, which dies with the connection) is running, and starts it again if not: the clocks'
checks and the deliveries' retries wait on it. What Redis lost, the sweep rebuilds.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable, Iterator

from flask import Flask
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker, Worker
from rq.cron import CronScheduler
from rq.exceptions import StopRequested

from notifications import queueing, schedule
from petitions.extensions import db, settings

log = logging.getLogger(__name__)

# Seconds between starts after Redis went away: quickly at first, then every half minute.
RESTART_WAITS = (1, 2, 5, 10, 30)


def restart_waits() -> Iterator[float]:
    yield from RESTART_WAITS
    while True:
        yield RESTART_WAITS[-1]


class _Stop(Exception):
    """A stop signal arrived while waiting to start again."""


def _wait_or_stop(seconds: float) -> bool:
    """Sleep `seconds`; True when SIGTERM or SIGINT arrived meanwhile (then: stop)."""

    def on_signal(signum, _frame):
        raise _Stop

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        time.sleep(seconds)
    except _Stop:
        return True
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return False


class _StopAware:
    """Remembers that a stop was asked for by a signal (RQ itself does not say so once
    `work` has returned)."""

    stop_asked = False

    def request_stop(self, signum, frame):
        self.stop_asked = True
        return super().request_stop(signum, frame)


class StopAwareWorker(_StopAware, Worker):
    pass


class StopAwareSimpleWorker(_StopAware, SimpleWorker):
    pass


def _fresh_connections_after_fork(app: Flask) -> None:
    def reset() -> None:
        with app.app_context():
            db.engine.dispose(close=False)

    os.register_at_fork(after_in_child=reset)


def _keep_running(name: str, run_once: Callable[[], bool], *, burst: bool = False) -> bool:
    """Call `run_once` (which answers whether a stop was asked for, and what it did) again
    whenever it ends without a stop: Redis went away under it."""
    waits = restart_waits()
    while True:
        try:
            stopped, result = run_once()
        except (StopRequested, KeyboardInterrupt):
            return False
        except (RedisError, OSError) as exc:
            stopped, result = False, False
            log.warning("%s: Redis went away (%s)", name, exc)
        if stopped or burst:
            return result
        wait = next(waits)
        log.warning("%s: starting again in %g s", name, wait)
        if _wait_or_stop(wait):
            return result


def run_worker(app: Flask, *, burst: bool = False, fork: bool = True, with_scheduler: bool = True) -> bool:
    with app.app_context():
        app.extensions["job_worker"] = True
        worker_class = StopAwareWorker if fork else StopAwareSimpleWorker
        if fork:
            _fresh_connections_after_fork(app)

        def run_once() -> tuple[bool, bool]:
            connection = queueing.connection()
            worker = worker_class(
                [Queue(settings().rq_queue, connection=connection)],
                connection=connection,
                # RQ starts its scheduler again (it dies with the connection) at this interval.
                maintenance_interval=settings().schedule.sweep,
            )
            worked = worker.work(burst=burst, with_scheduler=with_scheduler)
            return worker.stop_asked, worked

        return _keep_running("worker", run_once, burst=burst)


def run_cron(app: Flask) -> None:
    with app.app_context():

        def run_once() -> tuple[bool, None]:
            scheduler = CronScheduler(connection=queueing.connection())
            schedule.register(scheduler, settings())
            # start() returns only when a signal asked it to stop; Redis trouble raises.
            scheduler.start()
            return True, None

        _keep_running("cron", run_once)
