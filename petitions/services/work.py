"""What the code of a use case sees of its unit of work: the effects, the clocks and the sweep
take one of these (petitions.services.uow.UnitOfWork is the one there is)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from petitions.models import Clock, Event, Petition


@dataclass
class Signal:
    """What happened to a clock (started, moved, stopped): not a row of the history."""

    type: str
    clock: Clock


class Work(Protocol):
    at: datetime
    # Cards an effect gave for an event (event id → card id), for the texts about them.
    card_of: dict[int, int]

    def record(self, petition: Petition, type_: str, **details: Any) -> Event: ...

    def collect(self, events: Iterable[Event]) -> None: ...

    def signal(self, type_: str, clock: Clock) -> None: ...

    def deliver_after_commit(self, rows: Iterable[tuple[int, datetime | None]]) -> None: ...

    def check_after_commit(self, clock_id: int, moments: list[datetime]) -> None: ...

    def registered_here(self, petition_id: int | None) -> bool: ...
