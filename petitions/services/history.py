"""The append-only event log. Events are only ever added, in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event as sa_event

from petitions.domain.clocks import now
from petitions.extensions import db
from petitions.measures import facts
from petitions.models import Event, Petition, User


def record(
    petition: Petition,
    type_: str,
    *,
    actor: User | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    text: str = "",
    public: bool = True,
    unit_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    """Add one event row for `petition`; the caller commits it with the change."""
    ev = Event(
        petition=petition,
        type=type_,
        at=now(),
        actor_id=actor.id if actor else None,
        actor_role=actor.role if actor else None,
        unit_id=unit_id if unit_id is not None else (actor.unit_id if actor else None),
        from_status=from_status,
        to_status=to_status,
        text=text,
        public=public,
        data=data or {},
    )
    db.session.add(ev)
    # What the measures count, kept in the same transaction.
    facts.observe(ev, petition)
    # The texts this event owes (citizen notices, urgings), in the same transaction.
    from notifications import outbox

    outbox.for_event(ev)
    return ev


class HistoryIsAppendOnly(RuntimeError):
    pass


@sa_event.listens_for(Event, "before_update")
def _no_update(mapper, connection, target) -> None:  # pragma: no cover - guarded path
    raise HistoryIsAppendOnly("events are never edited")


@sa_event.listens_for(Event, "before_delete")
def _no_delete(mapper, connection, target) -> None:  # pragma: no cover - guarded path
    raise HistoryIsAppendOnly("events are never deleted")
