"""RQ job functions. Each loads ids and calls one service function.

They run inside the app that the worker built once at start-up (`flask worker`,
notifications.worker), never building one themselves; in the worker each job ends with a
fresh database session.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, has_app_context

from notifications import outbox
from notifications import sweep as sweeping
from petitions.extensions import db
from petitions.measures import shared, stats
from petitions.services import idempotency, ratings

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


class DeliveryDeferred(Exception):
    """A transient provider failure: RQ retries the job after the configured backoff."""


def job(fn: F) -> F:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        if not has_app_context():
            raise RuntimeError("jobs run in the app's worker: start it with `flask worker`")
        try:
            return fn(*args, **kwargs)
        finally:
            if current_app.extensions.get("job_worker"):
                db.session.remove()

    return run  # type: ignore[return-value]


@job
def sweep() -> dict[str, int]:
    """The periodic sweep (every minute from `flask cron`)."""
    return sweeping.run()


@job
def check_clock(clock_id: int) -> dict[str, int]:
    """A clock's own crossing moment (scheduled with RQ's scheduler when it starts or moves,
    and by each check for the next)."""
    return sweeping.check_clock(clock_id)


@job
def deliver(outbox_id: int) -> str:
    """Deliver one outbox row; raises DeliveryDeferred so that RQ retries a transient failure."""
    result = outbox.deliver(outbox_id)
    if result == "retry":
        raise DeliveryDeferred(f"outbox row {outbox_id}: provider unavailable, retrying")
    return result


@job
def close_unrated() -> int:
    """Close the petitions whose reply went unrated for its days (petitions.services.ratings)."""
    return ratings.close_unrated()


@job
def settle_measures() -> list[str]:
    """Add up the months whose measures can no longer change (petitions.measures.stats.settle)."""
    return stats.settle()


@job
def refresh_public_measures() -> list[str]:
    """Compute the public figures anew in Redis, before visitors need them (petitions.measures.shared)."""
    return shared.refresh_hot()


@job
def purge_idempotency_keys() -> int:
    """Forget the stored answers of Idempotency-Keys past their time (they hold query codes)."""
    return idempotency.purge_expired()
