"""RQ job functions. Each creates its own app context, loads ids, calls one domain function, commits."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, has_app_context

log = logging.getLogger(__name__)

_app: Flask | None = None


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
        yield _app


def sweep() -> dict[str, int]:
    """The periodic sweep (every minute from `rq cron`)."""
    from notifications import sweep as sweeping

    with app_context():
        return sweeping.run()
