"""The sweep: set-based repair of levels, cards, reminders and outbox jobs."""

from __future__ import annotations


def run() -> dict[str, int]:
    return {}
