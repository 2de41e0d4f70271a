"""RQ job functions. Each creates its own app context, loads ids, calls one domain function, commits."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, has_app_context

log = logging.getLogger(__name__)

_app: Flask | None = None


class DeliveryDeferred(Exception):
    """A transient provider failure: RQ retries the job after the configured backoff."""


@contextmanager
def app_context() -> Iterator[Flask]:
    """The running app's context when there is one (tests, in-process workers), else our own."""
    global _app
    if has_app_context():
        yield current_app._get_current_object()  # type: ignore[attr-defined]
        return
    if _app is None:
        from app import create_app

        _app = create_app()
    with _app.app_context():
        try:
            yield _app
        finally:
            from petitions.extensions import db

            db.session.remove()


def sweep() -> dict[str, int]:
    """The periodic sweep (every minute from `rq cron`)."""
    from notifications import sweep as sweeping

    with app_context():
        return sweeping.run()


def check_clock(clock_id: int) -> dict[str, int]:
    """A clock's own crossing moment (scheduled with RQ's scheduler when it starts or moves)."""
    from notifications import sweep as sweeping

    with app_context():
        return sweeping.run(clock_ids=[clock_id])


def deliver(outbox_id: int) -> str:
    """Deliver one outbox row; raises DeliveryDeferred so that RQ retries a transient failure."""
    from notifications import outbox

    with app_context():
        result = outbox.deliver(outbox_id)
    if result == "retry":
        raise DeliveryDeferred(f"outbox row {outbox_id}: provider unavailable, retrying")
    return result


def close_unrated() -> int:
    """Close the petitions whose reply went unrated for 30 days (petitions.services.ratings)."""
    from petitions.services import ratings

    with app_context():
        return ratings.close_unrated()


def settle_measures() -> list[str]:
    """Add up the months whose measures can no longer change (petitions.measures.stats.settle)."""
    from petitions.measures import stats

    with app_context():
        return stats.settle()
