"""The public figures, computed once and shared by every process through Redis.

The public page and the stats API read the measures from here. A value is kept in Redis
with the moment it stops being fresh; the scheduled job (`refresh_public_measures`, every
`Settings.schedule.refresh_public_measures` seconds, and `flask refresh-public-measures`)
computes the hot ones anew before that moment, so a visitor reads a stored value and never
waits for a computation:

- fresh: served as it is;
- stale (the job is late, or the period is not one the job refreshes): served as it is, and
  the one process that takes the key's lock computes it anew meanwhile;
- missing (an empty Redis, a period nobody asked for yet): the one process that takes the
  lock computes it; the others wait for its answer up to `public_wait_seconds` (then
  compute it themselves); no stampede.

Each process keeps what it read for `public_cache_seconds`, a short layer over Redis. Redis
is never the source of truth: without it, each process computes for itself.
"""

from __future__ import annotations

import logging
import pickle
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from redis import Redis
from redis.exceptions import RedisError

from petitions.extensions import settings
from petitions.measures import stats

log = logging.getLogger(__name__)

T = TypeVar("T")
PREFIX = "xf:public:"
LOCK_SUFFIX = ":lock"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"

_local: dict[str, tuple[float, Any]] = {}
_local_lock = threading.Lock()
_connections: dict[str, Redis] = {}


def _redis() -> Redis:
    url = settings().redis_url
    client = _connections.get(url)
    if client is None:
        client = _connections[url] = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    return client


def _key(name: str) -> str:
    return PREFIX + name


def _fresh_for() -> int:
    s = settings()
    # Twice the job's interval: a value the job keeps up never goes stale.
    return 2 * s.schedule.refresh_public_measures


def _remember(name: str, value: Any) -> None:
    ttl = settings().public_cache_seconds
    if ttl <= 0:
        return
    with _local_lock:
        if len(_local) > 500:  # bounded: the names are periods, pages and languages
            _local.clear()
        _local[name] = (time.monotonic() + ttl, value)


def _store(client: Redis, name: str, value: Any) -> None:
    payload = pickle.dumps((time.time() + _fresh_for(), value), protocol=pickle.HIGHEST_PROTOCOL)
    client.set(_key(name), payload, ex=settings().public_shared_seconds)


def _read(client: Redis, name: str) -> tuple[float, Any] | None:
    raw = client.get(_key(name))
    if raw is None:
        return None
    return pickle.loads(raw)  # written by this module only, in a Redis of our own


def _locked(client: Redis, name: str, compute: Callable[[], T]) -> tuple[bool, T | None]:
    """Compute and store the value if this process takes the key's lock: (taken, value)."""
    token = uuid.uuid4().hex
    lock = _key(name) + LOCK_SUFFIX
    if not client.set(lock, token, nx=True, px=int(settings().public_lock_seconds * 1000)):
        return False, None
    try:
        value = compute()
        _store(client, name, value)
        return True, value
    finally:
        try:
            client.eval(_RELEASE, 1, lock, token)
        except RedisError:
            log.warning("could not release the lock of %s", name)


def cached(name: str, compute: Callable[[], T]) -> T:
    """The shared value under `name`, computed by `compute` once when missing."""
    with _local_lock:
        hit = _local.get(name)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    try:
        client = _redis()
        found = _read(client, name)
        if found is not None:
            fresh_until, value = found
            if fresh_until < time.time():
                # Stale: whoever takes the lock computes it anew; everyone else reads this one.
                taken, newer = _locked(client, name, compute)
                if taken:
                    value = newer
            _remember(name, value)
            return value
        taken, value = _locked(client, name, compute)
        if not taken:
            value = _wait_for(client, name)
        if value is None and not taken:
            value = compute()
    except RedisError as exc:
        log.warning("public figures without Redis (%s): computed here", exc)
        value = compute()
    _remember(name, value)
    return value  # type: ignore[return-value]


def _wait_for(client: Redis, name: str) -> Any:
    """The value another process is computing, once it is there (None if it did not come)."""
    deadline = time.monotonic() + settings().public_wait_seconds
    pause = 0.02
    lock = _key(name) + LOCK_SUFFIX
    while time.monotonic() < deadline:
        time.sleep(pause)
        pause = min(pause * 2, 0.25)
        found = _read(client, name)
        if found is not None:
            return found[1]
        if not client.exists(lock):
            # Its computation failed or its process died: one more look, then give up waiting.
            found = _read(client, name)
            return found[1] if found is not None else None
    return None


def refresh(name: str, compute: Callable[[], T]) -> bool:
    """Compute the value anew and store it (the scheduled job); False if another process
    holds the key's lock (it is computing it right now)."""
    taken, _value = _locked(_redis(), name, compute)
    if taken:
        with _local_lock:
            _local.pop(name, None)
    return taken


def invalidate() -> int:
    """Forget every shared value (and this process's copies); the next reader computes it."""
    clear_local()
    client = _redis()
    keys = [k for k in client.scan_iter(match=PREFIX + "*", count=500) if not k.endswith(LOCK_SUFFIX.encode())]
    if keys:
        client.delete(*keys)
    return len(keys)


def clear_local() -> None:
    with _local_lock:
        _local.clear()


# ---------------------------------------------------------------- the measures


TREND_MONTHS = 12


def measures(period: stats.Period) -> dict[str, Any]:
    """stats.unit_measures(period) for every unit, shared."""
    return cached(f"measures:{period.label}", lambda: stats.unit_measures(period))


def unit_measures(period: stats.Period, unit_code: str | None = None) -> dict[str, Any]:
    """As stats.unit_measures: the shared figures, the list filtered to the unit asked for
    (NotFound for an unknown code); `total` stays all units together."""
    data = measures(period)
    if unit_code is None:
        return data
    codes = {u.code for u in stats.units_in_scope(unit_code)}
    return {**data, "units": [row for row in data["units"] if row["unit"]["code"] in codes]}


def trend(months: int = TREND_MONTHS) -> dict[str, Any]:
    """All units' totals for each of the last `months` months, oldest first."""
    periods = stats.recent_months(months)

    def compute() -> dict[str, Any]:
        return {"labels": [m.label for m in periods], "totals": [measures(m)["total"] for m in periods]}

    return cached(f"trend:{months}:{periods[-1].label}", compute)


def hot_periods() -> list[stats.Period]:
    """What the public page and the usual stats calls ask for: the last months, this quarter,
    the last quarter, this year."""
    quarter = stats.current_period("quarter")
    return [*stats.recent_months(TREND_MONTHS), quarter, quarter.previous(), stats.current_period("year")]


def refresh_hot() -> list[str]:
    """Compute the hot figures anew (the scheduled job): the periods, then the trend over them."""
    done = []
    for period in hot_periods():
        if refresh(f"measures:{period.label}", lambda p=period: stats.unit_measures(p)):
            done.append(period.label)
    clear_local()
    periods = stats.recent_months(TREND_MONTHS)
    refresh(
        f"trend:{TREND_MONTHS}:{periods[-1].label}",
        lambda: {"labels": [m.label for m in periods], "totals": [measures(m)["total"] for m in periods]},
    )
    return done
