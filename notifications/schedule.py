"""What runs when: the periodic jobs, registered with RQ's cron scheduler by `flask cron`.

Per-clock reminders are not listed here: they are scheduled one by one with RQ's own
scheduler when a clock starts or its due time moves (the unit of work hands them over after
its commit), and the sweep repairs whatever Redis lost. The intervals are settings
(`Settings.schedule`).
"""

from __future__ import annotations

from rq.cron import CronScheduler

from config.settings import Settings
from notifications import jobs


def register(scheduler: CronScheduler, settings: Settings) -> None:
    queue, every = settings.rq_queue, settings.schedule
    # Levels, cards, reminders owed, and outbox rows without a job. A sweep that waited longer
    # than its interval is superseded by the next one.
    scheduler.register(
        jobs.sweep, queue, interval=every.sweep, job_timeout=600, result_ttl=300, ttl=every.sweep, name="sweep"
    )
    # Replies left unrated for their days close on their own (domain.md).
    scheduler.register(
        jobs.close_unrated, queue, interval=every.close_unrated, job_timeout=600, result_ttl=300,
        name="close-unrated",
    )
    # The months whose measures can no longer change are added up (petitions.measures.stats).
    scheduler.register(
        jobs.settle_measures, queue, interval=every.settle_measures, job_timeout=1800, result_ttl=3600,
        name="settle-measures",
    )
    # The public page's and the stats API's figures, shared by every web process, are
    # computed anew here so that no visitor waits for them.
    scheduler.register(
        jobs.refresh_public_measures, queue, interval=every.refresh_public_measures, job_timeout=600,
        result_ttl=300, ttl=every.refresh_public_measures, name="refresh-public-measures",
    )
    # Stored answers of Idempotency-Keys are forgotten once they expire (they hold query codes).
    scheduler.register(
        jobs.purge_idempotency_keys, queue, interval=every.purge_idempotency_keys, job_timeout=600,
        result_ttl=300, name="purge-idempotency-keys",
    )
