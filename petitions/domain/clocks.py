"""Server time. Every timestamp in the system comes from `now()`, never from input.

Tests (and only tests) may freeze or move the clock with `set_clock`; production
code has no way to supply a time of its own, so back-dating is impossible.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

_clock: Callable[[], datetime] | None = None


def now() -> datetime:
    """The current server time, timezone-aware, in UTC."""
    if _clock is not None:
        value = _clock()
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.now(UTC)


def set_clock(clock: Callable[[], datetime] | None) -> None:
    """Replace the clock (tests only); None restores the real one."""
    global _clock
    _clock = clock


def local_tz(name: str = "Asia/Shanghai") -> tzinfo:
    return ZoneInfo(name)


def as_utc(value: datetime) -> datetime:
    """Aware UTC datetime from an aware or naive-UTC one."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
