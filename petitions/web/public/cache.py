"""A small in-process cache with a time limit, for the public pages.

The public pages are read by anyone, often, and what is cheap to compute (the catalogue, a
page of published replies) is kept by each worker process for at most
`public_cache_seconds`. The measures, which are not cheap, are shared by every process
through Redis (petitions.measures.shared). Nothing here is a source of truth; losing it
costs one computation.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from datetime import timedelta
from typing import Any, TypeVar

from petitions.domain.clocks import now
from petitions.extensions import settings
from petitions.measures import shared

T = TypeVar("T")
DEFAULT_SECONDS = 30
_store: dict[Hashable, tuple[Any, Any]] = {}
_lock = threading.Lock()


def seconds() -> int:
    return settings().public_cache_seconds


def cached(key: Hashable, compute: Callable[[], T]) -> T:
    """The value under `key` if computed less than `seconds()` ago, else compute it now."""
    moment = now()
    ttl = seconds()
    with _lock:
        hit = _store.get(key)
    if ttl > 0 and hit is not None and hit[0] > moment:
        return hit[1]
    value = compute()
    with _lock:
        if len(_store) > 500:  # bounded: the keys are periods, pages and locales
            _store.clear()
        _store[key] = (moment + timedelta(seconds=ttl), value)
    return value


def clear() -> None:
    """Forget this process's values and the figures shared by every process."""
    with _lock:
        _store.clear()
    shared.invalidate()
