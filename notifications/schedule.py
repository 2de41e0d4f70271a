"""What runs when: the periodic sweep, registered with `rq cron`.

    rq cron notifications/schedule.py          (with --url or RQ_REDIS_URL for the Redis)

Per-clock reminders are not listed here: they are scheduled one by one with RQ's own
scheduler (`queue.enqueue_at`) when a clock starts or its due time moves, and the sweep
repairs whatever Redis lost. Run workers with `rq worker --with-scheduler`.
"""

from __future__ import annotations

from rq import cron

from config.settings import Config
from notifications import jobs

# Every minute: levels, cards, reminders owed, and outbox rows without a job.
SWEEP_INTERVAL_SECONDS = 60

cron.register(
    jobs.sweep,
    Config.RQ_QUEUE,
    interval=SWEEP_INTERVAL_SECONDS,
    job_timeout=600,
    result_ttl=300,
    # A sweep that waited longer than its interval is superseded by the next one.
    ttl=SWEEP_INTERVAL_SECONDS,
    name="sweep",
)

# Every ten minutes: replies left unrated for 30 days close on their own (domain.md).
cron.register(
    jobs.close_unrated, Config.RQ_QUEUE, interval=600, job_timeout=600, result_ttl=300, name="close-unrated"
)

# Every hour: the months whose measures can no longer change are added up (petitions.measures.stats).
cron.register(
    jobs.settle_measures,
    Config.RQ_QUEUE,
    interval=3600,
    job_timeout=1800,
    result_ttl=3600,
    name="settle-measures",
)
