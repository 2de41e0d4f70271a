"""What happens after X: the one table of effects, read top to bottom.

When a unit of work commits (petitions.services.uow), every event it recorded, and every
clock it started, moved or stopped, runs the effects listed here for its type, in the
transaction of the change: the measures' facts, the texts owed (the event type's `hears`,
petitions.domain.events), the cards, and the clock checks handed to RQ after the commit.
An effect takes the unit of work and the run of same-type events it is for.

A new rule of practice is a row here and a row in the workflow's RULES, not a listener.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from petitions.domain.events import CLOCK_MOVED, CLOCK_STARTED, CLOCK_STOPPED
from petitions.services import clocks, facts, messages, supervision
from petitions.services.work import Work

Effect = Callable[[Work, Sequence[Any]], None]


def check_clocks(work: Work, signals: Sequence[Any]) -> None:
    """After the commit, RQ's scheduler checks the clock at the next moment it changes level
    (that check schedules the one after: notifications.sweep.check_clock)."""
    for signal in signals:
        if signal.clock.stopped_at is None:
            work.check_after_commit(signal.clock.id, clocks.next_crossing(signal.clock, work.at))


# fmt: off
ON_EVENT: dict[str, list[Effect]] = {
    # the flow
    "routed":             [facts.routed],
    "accepted":           [facts.decided, messages.tell],
    "declined":           [facts.decided, messages.tell],
    "replied":            [facts.replied, messages.tell],
    "review_replied":     [facts.replied, messages.tell],
    "rereview_replied":   [facts.replied, facts.closed, messages.tell],
    "extension_approved": [messages.tell],
    "rated":              [facts.rated],
    "closed":             [facts.closed],
    "answered_on_spot":   [facts.closed],
    "merged":             [facts.closed],
    # electronic supervision
    "urged":              [supervision.urge_card, messages.tell],
    "card_yellow":        [messages.tell],
    "card_red":           [messages.tell],
    "card_urged":         [messages.tell],
    # clocks
    CLOCK_STARTED:        [check_clocks],
    CLOCK_MOVED:          [check_clocks],
    CLOCK_STOPPED:        [facts.handled],
}
# Every event, whatever its type: the unit's first action after a routing (response rate).
ON_EVERY_EVENT: list[Effect] = [facts.first_action]
# fmt: on


def effects_for(type_: str) -> list[Effect]:
    if type_ in (CLOCK_STARTED, CLOCK_MOVED, CLOCK_STOPPED):
        return ON_EVENT[type_]
    return ON_EVERY_EVENT + ON_EVENT.get(type_, [])
