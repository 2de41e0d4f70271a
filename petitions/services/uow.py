"""The unit of work: one use case, one transaction, its events, their effects, one commit.

    work = UnitOfWork()
    ... change rows; work.record(petition, "accepted", ...); clocks.start(work, ...)
    work.commit()

A use case changes rows and records what happened: petition events (one row each in the
history, `record`) and the clocks it started, moved or stopped (`signal`). `commit`
flushes, runs the effects registered for each of them in petitions.services.effects
(facts for the measures, outbox messages, cards, clock checks), commits once, and only
then hands the after-commit work to the dispatcher: the outbox rows to deliver and the
clocks to check at their crossing moments, which create_app() wires to RQ. Nothing else
listens to the session. A rollback (or an exception before the commit) forgets it all;
the dispatcher is only ever called for work that is in the database, and Redis losing it
costs nothing: the sweep finds due rows without a job and clocks past a crossing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from flask import Flask, current_app
from sqlalchemy.orm import Session, scoped_session

from petitions.domain.clocks import now
from petitions.domain.events import REGISTERED, event_type
from petitions.extensions import db
from petitions.models import Clock, Event, Petition, User
from petitions.services import inserts
from petitions.services.effects import effects_for
from petitions.services.work import Signal

log = logging.getLogger(__name__)

class Dispatcher(Protocol):
    """Where committed work goes (notifications.queueing.Dispatcher puts it on RQ)."""

    def hand_over(self, rows: list[tuple[int, datetime | None]], clocks: dict[int, list[datetime]]) -> int: ...


@dataclass
class UnitOfWork:
    session: Session = field(default_factory=lambda: db.session)
    # In the order they happened: Event rows (history) and Signals (clocks).
    happened: list[Event | Signal] = field(default_factory=list)
    # After the commit: outbox rows to deliver (id, not before) and clocks to check.
    deliveries: list[tuple[int, datetime | None]] = field(default_factory=list)
    clock_checks: dict[int, list[datetime]] = field(default_factory=dict)
    # Cards an effect gave for an event (event id → card id), for the texts about them.
    card_of: dict[int, int] = field(default_factory=dict)
    at: datetime = field(default_factory=now)

    # ---------------------------------------------------------------- what happened

    def record(
        self,
        petition: Petition,
        type_: str,
        *,
        actor: Any = None,
        from_status: str | None = None,
        to_status: str | None = None,
        text: str = "",
        unit_id: int | None = None,
        data: dict[str, Any] | None = None,
        public: bool | None = None,
    ) -> Event:
        """One row of the petition's append-only history, at server time; the caller's change
        and the effects commit with it. `public` defaults to the event type's own."""
        user = actor if isinstance(actor, User) else None
        role = getattr(actor, "role", None) if actor is not None else None
        ev = Event(
            petition=petition,
            type=type_,
            at=self.at,
            actor_id=user.id if user else None,
            actor_role=role if user is not None else None,
            unit_id=unit_id if unit_id is not None else (user.unit_id if user else None),
            from_status=from_status,
            to_status=to_status,
            text=text,
            public=event_type(type_).public if public is None else public,
            data=data or {},
        )
        self.session.add(ev)
        self.happened.append(ev)
        return ev

    def collect(self, events: Iterable[Event]) -> None:
        """Events written in bulk (the sweep's cards) whose effects run at the commit."""
        self.happened.extend(events)

    def signal(self, type_: str, clock: Clock) -> None:
        self.happened.append(Signal(type_, clock))

    def registered_here(self, petition_id: int | None) -> bool:
        """Whether the petition was registered (filed) in this unit of work: nothing of it was
        in the database before."""
        return petition_id is not None and any(
            isinstance(item, Event) and item.type == REGISTERED and item.petition_id == petition_id
            for item in self.happened
        )

    # ---------------------------------------------------------------- after the commit

    def deliver_after_commit(self, rows: Iterable[tuple[int, datetime | None]]) -> None:
        self.deliveries.extend(rows)

    def check_after_commit(self, clock_id: int, moments: list[datetime]) -> None:
        self.clock_checks[clock_id] = moments

    # ---------------------------------------------------------------- committing

    def run_effects(self) -> None:
        """Flush, then run each effect once per run of same-type events, in order."""
        self._flush()
        done = 0
        while done < len(self.happened):
            batch_type = _type_of(self.happened[done])
            end = done
            while end < len(self.happened) and _type_of(self.happened[end]) == batch_type:
                end += 1
            batch = self.happened[done:end]
            done = end
            for effect in effects_for(batch_type):
                effect(self, batch)
            self._flush()

    def _flush(self) -> None:
        """Write what changed: new rows alone with plain INSERTs (inserts.write_new), else the
        session's flush."""
        if not inserts.write_new(self.session):
            self.session.flush()

    def commit(self) -> None:
        """Run the effects, commit once, hand over. What the change wrote stays loaded: the
        caller answers from it without reading it back."""
        self.run_effects()
        real = self.session() if isinstance(self.session, scoped_session) else self.session
        keep = real.expire_on_commit
        real.expire_on_commit = False
        try:
            real.commit()
        finally:
            real.expire_on_commit = keep
        self._hand_over()

    def rollback(self) -> None:
        self.session.rollback()
        self.happened.clear()
        self.deliveries.clear()
        self.clock_checks.clear()

    def _hand_over(self) -> None:
        dispatcher: Dispatcher | None = current_app.extensions.get("dispatcher")
        deliveries, checks = list(self.deliveries), dict(self.clock_checks)
        self.happened.clear()
        self.deliveries.clear()
        self.clock_checks.clear()
        if dispatcher is not None and (deliveries or checks):
            dispatcher.hand_over(deliveries, checks)


def _type_of(item: Event | Signal) -> str:
    return item.type


def init_app(app: Flask, dispatcher: Dispatcher | None) -> None:
    """Wire the after-commit hand-off (create_app does, with RQ)."""
    app.extensions["dispatcher"] = dispatcher
