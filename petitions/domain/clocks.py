"""Clocks (时限): server time, the kinds of clock, their due times and their warning levels. Pure.

Every time limit of a petition runs on a clock of one kind (the table `KINDS`): whose duty
it is, whether it is supervised (levels, cards, reminders) and what the unit is measured
on. Its due time comes from its limit (statutory and committed days, calendar or working
days) counted on the working calendar (petitions.domain.calendar). Its level (green,
yellow card, red card, urged) comes from one table of crossings (`CROSSINGS`), which
gives both the Python answer (`level_at`) and the SQL one (`cutoffs`, turned into a
predicate or a CASE by petitions.models.Clock), so a queue, the sweep, the API and the
SMS all agree on what "yellow" means.

Time is always the server's: `now()` is the only source of the current time. Tests (and
only tests) move it with `set_clock`; nothing else can supply a time, so back-dating is
impossible.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from petitions.domain.calendar import CALENDAR, WORKING, WorkCalendar, add_days, end_of_day


def N_(message: str) -> str:
    """Mark a message for translation without translating it here (gettext_noop)."""
    return message


# ---------------------------------------------------------------- server time

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


def as_utc(value: datetime) -> datetime:
    """Aware UTC datetime from an aware or naive-UTC one."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# ---------------------------------------------------------------- the kinds of clock

# Whose duty a clock is.
BUREAU = "bureau"  # the petition bureau's intake officers (routing)
UNIT = "unit"  # the unit handling or reviewing the petition
CITIZEN = "citizen"  # the citizen's own window (asking for review): nobody is late on it


@dataclass(frozen=True)
class ClockKind:
    name: str
    label: str  # N_ msgid, as pages name it
    term: str  # the term of the rules, as texts (SMS) and notices say it
    duty: str
    # A category may carry its own limits for this clock (受理, 办理).
    per_category: bool = False
    # An approved extension (延期) moves it.
    extendable: bool = False

    @property
    def supervised(self) -> bool:
        """Levels, cards and reminders: every clock that is somebody's duty."""
        return self.duty != CITIZEN

    @property
    def measured(self) -> bool:
        """Counted against the unit in the measures (a late closure, overdue)."""
        return self.duty == UNIT


# fmt: off
KINDS: dict[str, ClockKind] = {k.name: k for k in (
    ClockKind("route", N_("Sending to the responsible unit"), "转送", BUREAU),            # 转送/交办
    ClockKind("accept", N_("Decision whether to accept"), "受理", UNIT, per_category=True),  # 是否受理
    ClockKind("handle", N_("Handling and written reply"), "办理", UNIT, per_category=True, extendable=True),
    ClockKind("on_spot", N_("Answer on the spot"), "即办", UNIT),                         # 即办件
    ClockKind("review", N_("Review opinion"), "复查", UNIT),                              # 复查意见
    ClockKind("rereview", N_("Re-review opinion"), "复核", UNIT),                         # 复核意见
    ClockKind("review_request", N_("Time to ask for a review"), "复查申请", CITIZEN),
    ClockKind("rereview_request", N_("Time to ask for a re-review"), "复核申请", CITIZEN),
)}
# fmt: on

SUPERVISED: tuple[str, ...] = tuple(k for k, kind in KINDS.items() if kind.supervised)
MEASURED: tuple[str, ...] = tuple(k for k, kind in KINDS.items() if kind.measured)
CITIZEN_WINDOWS: tuple[str, ...] = tuple(k for k, kind in KINDS.items() if kind.duty == CITIZEN)


@dataclass(frozen=True)
class Limit:
    """A clock's limit: the statutory days (法定时限), the unit's committed days (承诺时限,
    on which deadlines run) and the day unit (自然日 or 工作日)."""

    statutory: int
    committed: int
    unit: str = CALENDAR

    def __post_init__(self) -> None:
        if self.unit not in (CALENDAR, WORKING):
            raise ValueError(f"unknown day unit {self.unit!r}")
        if self.statutory < 0 or self.committed < 0:
            raise ValueError("a limit cannot be negative")

    def with_days(self, statutory: int | None, committed: int | None) -> Limit:
        """This limit with a category's own days (never a committed limit beyond the statutory one)."""
        s = statutory or self.statutory
        return Limit(s, min(committed or self.committed, s), self.unit)


# ---------------------------------------------------------------- due times


def due_at(
    started_at: datetime, days: int, unit: str, calendar: WorkCalendar, tz: ZoneInfo, *, roll: bool = True
) -> datetime:
    """The instant (UTC) a limit runs out: the end of its last local day.

    A zero-day limit (即办件) is due at the end of the day it started.
    """
    local_start = as_utc(started_at).astimezone(tz).date()
    return end_of_day(add_days(local_start, days, unit, calendar, roll=roll), tz)


def extended_due(
    due: datetime, days: int, unit: str, calendar: WorkCalendar, tz: ZoneInfo, *, roll: bool = True
) -> datetime:
    """The due time after an extension of `days` (延期), counted on from the last day of the old limit.

    The extension is added to the limit whether or not the clock is already overdue: an
    extension approved after the clock went red moves the due time from the old due date,
    not from the day of approval.
    """
    if days <= 0:
        raise ValueError("an extension is at least one day")
    last_day = (as_utc(due).astimezone(tz) - timedelta(microseconds=1)).date()
    return end_of_day(add_days(last_day, days, unit, calendar, roll=roll), tz)


# ---------------------------------------------------------------- levels

GREEN, YELLOW, RED, URGED = "green", "yellow", "red", "urged"
LEVELS: tuple[str, ...] = (GREEN, YELLOW, RED, URGED)
RANK: dict[str, int] = {level: i for i, level in enumerate(LEVELS)}
LEVEL_LABELS: dict[str, str] = {
    GREEN: N_("Green: on time"),
    YELLOW: N_("Yellow card: due soon"),
    RED: N_("Red card: overdue"),
    URGED: N_("Urged: overdue and urged"),
}
# What a queue's level filter selects: "red" is every overdue clock, urged ones included.
LEVEL_FILTERS: dict[str, tuple[str, ...]] = {
    GREEN: (GREEN,),
    YELLOW: (YELLOW,),
    RED: (RED, URGED),
    URGED: (URGED,),
}


@dataclass(frozen=True)
class Thresholds:
    """When a clock turns yellow and urged (settings; the defaults are the bureau's rule)."""

    # Yellow at this share of the time left ...
    yellow_fraction: float = 0.2
    # ... or this many days left, whichever comes first ...
    yellow_days: float = 3
    # ... but never before this share of the time has passed (a clock never starts yellow).
    min_elapsed_fraction: float = 0.5
    # Urged (督办) after being red this many days.
    urge_after_days: float = 3


def yellow_from(started_at: datetime, due: datetime, t: Thresholds) -> datetime:
    """When a clock turns yellow: at `yellow_fraction` of its time or `yellow_days` left,
    whichever comes first, but not before `min_elapsed_fraction` of its time has passed."""
    total = due - started_at
    by_fraction = due - total * t.yellow_fraction
    by_days = due - timedelta(days=t.yellow_days)
    return max(min(by_fraction, by_days), started_at + total * t.min_elapsed_fraction)


# The crossings, highest first: a clock is at `level` once its column is at or before
# `at - offset`. The column is one a clock row stores (yellow_at is kept with due_at).
CROSSINGS: tuple[tuple[str, str, str | None], ...] = (
    (URGED, "due_at", "urge_after_days"),
    (RED, "due_at", None),
    (YELLOW, "yellow_at", None),
)


def cutoffs(at: datetime, t: Thresholds) -> list[tuple[str, str, datetime]]:
    """(level, column, cut-off instant), highest level first: a clock whose `column` is at or
    before the cut-off has reached `level` at `at`. Python and SQL read levels from this."""
    result = []
    for level, column, offset in CROSSINGS:
        days = float(getattr(t, offset)) if offset else 0.0
        result.append((level, column, at - timedelta(days=days)))
    return result


def level_at(at: datetime, *, yellow_at: datetime | None, due_at: datetime, t: Thresholds) -> str:
    """green, yellow, red or urged for a clock at `at`."""
    values = {"yellow_at": yellow_at, "due_at": due_at}
    for level, column, cut in cutoffs(as_utc(at), t):
        value = values[column]
        if value is not None and as_utc(value) <= cut:
            return level
    return GREEN


def crossing_moments(yellow_at: datetime | None, due: datetime, t: Thresholds) -> list[datetime]:
    """The instants at which a clock changes level (a job checks it at each)."""
    values = {"yellow_at": yellow_at, "due_at": due}
    moments = []
    for _level, column, offset in reversed(CROSSINGS):
        value = values[column]
        if value is not None:
            moments.append(as_utc(value) + timedelta(days=float(getattr(t, offset)) if offset else 0))
    return moments


@dataclass(frozen=True)
class ClockStatus:
    """What a queue shows for a running clock: its kind, level and the time left (negative when overdue)."""

    kind: str
    level: str
    time_left: timedelta
    due_at: datetime

    @property
    def overdue(self) -> bool:
        return self.time_left < timedelta(0)


def status(
    kind: str,
    *,
    yellow_at: datetime | None,
    due: datetime,
    stopped_at: datetime | None,
    at: datetime,
    t: Thresholds,
) -> ClockStatus:
    """A clock's level and time left at `at` (a stopped clock keeps the level it had when it stopped)."""
    moment = as_utc(at)
    if stopped_at is not None:
        moment = min(moment, as_utc(stopped_at))
    return ClockStatus(
        kind=kind,
        level=level_at(moment, yellow_at=yellow_at, due_at=due, t=t),
        time_left=as_utc(due) - as_utc(at),
        due_at=as_utc(due),
    )
