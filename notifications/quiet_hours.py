"""Quiet hours: no text to staff at night; a message written then waits for the morning. Pure."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from petitions.domain.clocks import as_utc


def parse_hm(value: str) -> time:
    """"21:00" → time(21, 0)."""
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def in_quiet_hours(moment: datetime, tz: ZoneInfo, start: time, end: time) -> bool:
    """Whether local `moment` falls in the quiet hours [start, end), which may span midnight."""
    local = as_utc(moment).astimezone(tz).time()
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def after_quiet_hours(moment: datetime, tz: ZoneInfo, start: time, end: time) -> datetime:
    """`moment` itself, or the end of the quiet hours it falls in (UTC)."""
    if not in_quiet_hours(moment, tz, start, end):
        return as_utc(moment)
    local = as_utc(moment).astimezone(tz)
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    return as_utc(datetime.combine(day, end, tzinfo=tz))
