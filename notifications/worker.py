"""The worker's and the cron scheduler's start-up: each builds the app once and runs in it.

    flask worker [--burst] [--simple]     one RQ worker on the queue, with RQ's scheduler
    flask cron                            the periodic jobs (notifications.schedule)

Jobs then find the app's settings and database in the context pushed here; they never
build the app themselves. A forking worker's work horse starts each job with fresh
database connections.
"""

from __future__ import annotations

import os

from flask import Flask
from rq import Queue, SimpleWorker, Worker
from rq.cron import CronScheduler

from notifications import queueing, schedule
from petitions.extensions import db, settings


def _fresh_connections_after_fork(app: Flask) -> None:
    def reset() -> None:
        with app.app_context():
            db.engine.dispose(close=False)

    os.register_at_fork(after_in_child=reset)


def run_worker(app: Flask, *, burst: bool = False, fork: bool = True, with_scheduler: bool = True) -> bool:
    with app.app_context():
        app.extensions["job_worker"] = True
        connection = queueing.connection()
        worker_class = Worker if fork else SimpleWorker
        if fork:
            _fresh_connections_after_fork(app)
        worker = worker_class([Queue(settings().rq_queue, connection=connection)], connection=connection)
        return worker.work(burst=burst, with_scheduler=with_scheduler)


def run_cron(app: Flask) -> None:
    with app.app_context():
        scheduler = CronScheduler(connection=queueing.connection())
        schedule.register(scheduler, settings())
        scheduler.start()
