"""The measures of a unit's work (考核指标), as set-based SQL.

Periods are a month `YYYY-MM`, a quarter `YYYY-Qn` or a year `YYYY` of local time
(config TIMEZONE, Asia/Shanghai); stored times are UTC, so a period is the half-open UTC
interval [start, end) of its local days. A period that has not begun is refused. For the
period now running, "as of" is now; for a past period it is the period's end.

For a unit U and a period P (domain.md, "Measures"), precisely:

received (收件)
    Petitions routed to U in P: distinct petitions with a `routed` event whose unit is U
    and whose time is in P. A petition routed to two units counts for each; routed to U
    twice in P, once.
accepted / not_accepted (受理 / 不予受理)
    Distinct petitions with an `accepted` / `declined` event by U's staff in P.
acceptance_rate (受理率)
    accepted / (accepted + not_accepted).
response_rate (响应率)
    Of the received, the share where a member of U's staff (handler or leader) recorded
    any event on the petition (accept, decline, return, assign, note, reply, ...) between
    the (first, in P) routing to U and the end of the next working day after the routing's
    local day (the working-day calendar of petitions.domain.calendar, with holidays and 调休).
    The due time is worked out in Python once per local day of P (at most 366) and joined
    in SQL by the routing's local day number, computed from the zone's UTC offset at the
    start of P (exact for zones without daylight saving, as China's).
closed (办结)
    Petitions with status closed and closed_at in P whose responsible unit is U.
on_time_closure_rate (按期办结率)
    Of the closed, the share where none of U's own clocks on the petition (acceptance
    decision, handling, on-the-spot, review) stopped after its due time: the reply came
    before its (committed, extended) due time. / closed.
overdue (超期件)
    Closed late (closed in P, not on time as above) + open past due: petitions with a
    clock of U still running at "as of" whose due time had passed by then.
avg_handling_days (平均办理天数)
    Mean, over U's handling clocks (which run from acceptance to the reply) that stopped
    in P, of the days between start and stop.
speedup_rate (提速率)
    Mean, over the same clocks, of (allowed − used) / allowed, where allowed is the
    statutory limit (statutory_due_at − started_at) and used is stopped_at − started_at;
    negative for a reply after the statutory limit. Measured against the statutory limit
    so that it compares with the committed speed-up, as the published figures do.
committed_speedup_rate (承诺提速率)
    Mean, over the leaf categories that routing rules send to U, of
    (statutory − committed) / statutory, with acceptance and handling limits added
    (category limits, or the configured defaults). A property of the published
    catalogue, the same in every period.
yellow_cards / red_cards (黄牌 / 红牌)
    Cards given to U's clocks in P (the `cards` table; an urging, 督办, is neither).
replied, rated, participation_rate (参评率)
    replied: replies U issued in P (`replied`, `review_replied`, `rereview_replied`
    events). rated: those of them the citizen has rated (by "as of"). rated / replied.
satisfaction_rate / dissatisfaction_rate (满意率 / 不满意率)
    (satisfied + basically satisfied) / rated, and unsatisfied / rated, over the same
    ratings.

Where the figures come from. Nothing here groups the events: every counted step is a row
of `measure_facts` (petitions.measures.facts), kept with the change that makes it, and carries the
time of the pair's previous step of its kind, so "once per period" is a filter. A month
whose facts can no longer change (MEASURES_SETTLE_DAYS after its end: its replies' rating
window and its routings' response days are over) is added up once by `settle` (hourly, from
`rq cron`) into `measure_months`, keyed so that every filter above stays exact: a year
reads the sums of its settled months and groups only the facts of the months still open.
Open overdue is the one figure of a moment, read from the running clocks.

Every rate is a fraction rounded to 4 places, or None when its denominator is 0 (shown
as "—", never 0% or an error); days are rounded to 2 places. The figures for all units
together add numerators and denominators over the units (not an average of rates).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    column,
    func,
    literal,
    or_,
    select,
    union_all,
    values,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from petitions.domain.calendar import WORKING, WorkCalendar
from petitions.domain.clocks import MEASURED, Limit, as_utc, due_at, now
from petitions.domain.errors import NotFound, ValidationFailed
from petitions.extensions import db, settings
from petitions.i18n import lazy_gettext as _l
from petitions.models import (
    Card,
    Category,
    Clock,
    FactKind,
    MeasureFact,
    MeasureMonth,
    RoutingRule,
    Score,
    SettledMonth,
    Unit,
)
from petitions.services import clocks
from petitions.types import UTCDateTime

MEASURES: tuple[str, ...] = (
    "received",
    "accepted",
    "not_accepted",
    "acceptance_rate",
    "response_rate",
    "closed",
    "on_time_closure_rate",
    "overdue",
    "avg_handling_days",
    "speedup_rate",
    "committed_speedup_rate",
    "yellow_cards",
    "red_cards",
    "rated",
    "participation_rate",
    "satisfaction_rate",
    "dissatisfaction_rate",
)
# The acceptance decisions among the facts (受理, 不予受理).
DECISION_KINDS = (FactKind.ACCEPTED.value, FactKind.DECLINED.value)
RATE_MEASURES = frozenset(m for m in MEASURES if m.endswith("_rate"))
# For rankings: where a higher figure is worse.
LOWER_IS_BETTER = frozenset(
    {"overdue", "avg_handling_days", "yellow_cards", "red_cards", "dissatisfaction_rate"}
)

LABELS = {
    "received": _l("Received"),
    "accepted": _l("Accepted"),
    "not_accepted": _l("Not accepted"),
    "acceptance_rate": _l("Acceptance rate"),
    "response_rate": _l("Response rate"),
    "closed": _l("Closed"),
    "on_time_closure_rate": _l("On-time closure rate"),
    "overdue": _l("Overdue"),
    "avg_handling_days": _l("Average handling days"),
    "speedup_rate": _l("Speed-up rate"),
    "committed_speedup_rate": _l("Committed speed-up rate"),
    "yellow_cards": _l("Yellow cards"),
    "red_cards": _l("Red cards"),
    "rated": _l("Rated"),
    "participation_rate": _l("Participation rate"),
    "satisfaction_rate": _l("Satisfaction rate"),
    "dissatisfaction_rate": _l("Dissatisfaction rate"),
}


# ---------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    """A month, quarter or year of local days: [first, last] locally, [start, end) in UTC."""

    kind: str  # "month", "quarter", "year"
    label: str  # "2026-10", "2026-Q3", "2026"
    first: date
    last: date
    tz: ZoneInfo

    @property
    def start(self) -> datetime:
        return as_utc(datetime.combine(self.first, time.min, tzinfo=self.tz))

    @property
    def end(self) -> datetime:
        return as_utc(datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=self.tz))

    def previous(self) -> Period:
        return _period_ending(self.kind, self.first - timedelta(days=1), self.tz)

    def months(self) -> list[Period]:
        result, day = [], self.first
        while day <= self.last:
            month = _period_ending("month", day, self.tz)
            result.append(month)
            day = month.last + timedelta(days=1)
        return result

    def as_of(self, moment: datetime) -> datetime:
        return min(self.end, moment)

    def __str__(self) -> str:
        return self.label


# A month, quarter or year: ASCII digits, the whole string (no space or line break around it).
# The API's document gives this very pattern for `period` (petitions.web.api.stats).
PERIOD_PATTERN = r"^(199[0-9]|2[0-9]{3})(?:-(?:(0[1-9]|1[0-2])|Q([1-4])))?$"
_PERIOD_RE = re.compile(PERIOD_PATTERN)


def _month_last(year: int, month: int) -> date:
    return (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)


def _period_ending(kind: str, day: date, tz: ZoneInfo) -> Period:
    """The period of `kind` that contains `day`."""
    if kind == "year":
        return Period("year", f"{day.year}", date(day.year, 1, 1), date(day.year, 12, 31), tz)
    if kind == "quarter":
        q = (day.month - 1) // 3 + 1
        first = date(day.year, 3 * q - 2, 1)
        return Period("quarter", f"{day.year}-Q{q}", first, _month_last(day.year, 3 * q), tz)
    return Period(
        "month",
        f"{day.year}-{day.month:02d}",
        date(day.year, day.month, 1),
        _month_last(day.year, day.month),
        tz,
    )


def _tz() -> ZoneInfo:
    return ZoneInfo(settings().timezone)


def parse_period(text: str | None, *, moment: datetime | None = None, tz: ZoneInfo | None = None) -> Period:
    """`YYYY-MM`, `YYYY-Qn` or `YYYY` → Period; ValidationFailed when malformed or in the future."""
    tz = tz or _tz()
    match = _PERIOD_RE.fullmatch(text or "")
    if not match:
        raise ValidationFailed(
            _l("The period must be a month (2026-10), a quarter (2026-Q3) or a year (2026)."),
            {"period": _l("Use YYYY-MM, YYYY-Qn or YYYY.")},
        )
    year = int(match.group(1))
    month, quarter = match.group(2), match.group(3)
    if year < 1990:
        raise ValidationFailed(_l("There is no such period."), {"period": _l("There is no such period.")})
    moment = moment or now()
    if year > as_utc(moment).astimezone(tz).year:
        # Before any date is made of it: a year such as 9999 has no end that a date can hold.
        raise ValidationFailed(
            _l("That period has not begun yet."), {"period": _l("That period has not begun yet.")}
        )
    if month is not None:
        period = _period_ending("month", date(year, int(month), 1), tz)
    elif quarter is not None:
        period = _period_ending("quarter", date(year, 3 * int(quarter) - 2, 1), tz)
    else:
        period = _period_ending("year", date(year, 1, 1), tz)
    if period.start > moment:
        raise ValidationFailed(
            _l("That period has not begun yet."), {"period": _l("That period has not begun yet.")}
        )
    return period


def current_period(kind: str = "month", moment: datetime | None = None) -> Period:
    tz = _tz()
    return _period_ending(kind, as_utc(moment or now()).astimezone(tz).date(), tz)


def recent_months(count: int, moment: datetime | None = None) -> list[Period]:
    """The last `count` months, oldest first, ending with the current one."""
    month = current_period("month", moment)
    result = [month]
    for _ in range(count - 1):
        month = month.previous()
        result.append(month)
    return list(reversed(result))


# ---------------------------------------------------------------- SQL helpers


class local_day(FunctionElement):
    """Whole days since 1970-01-01 of a UTC timestamp shifted by a fixed offset (seconds)."""

    type = Integer()
    inherit_cache = True


@compiles(local_day, "postgresql")
def _local_day_pg(element, compiler, **kw):
    col, offset = list(element.clauses)
    return (
        f"CAST(floor((date_part('epoch', {compiler.process(col, **kw)}) + {compiler.process(offset, **kw)})"
        f" / 86400) AS INTEGER)"
    )


@compiles(local_day)
def _local_day_default(element, compiler, **kw):
    # SQLite keeps naive UTC text; strftime('%s') is its epoch second.
    col, offset = list(element.clauses)
    return (
        f"((CAST(strftime('%s', {compiler.process(col, **kw)}) AS INTEGER) + {compiler.process(offset, **kw)})"
        f" / 86400)"
    )


def _day_no(day: date) -> int:
    return (day - date(1970, 1, 1)).days


class local_month(FunctionElement):
    """The local month (year × 12 + month − 1) of a UTC timestamp shifted by a fixed offset."""

    type = Integer()
    inherit_cache = True


@compiles(local_month, "postgresql")
def _local_month_pg(element, compiler, **kw):
    col, offset = (compiler.process(c, **kw) for c in element.clauses)
    # AT TIME ZONE 'UTC' first: the session's own time zone must not move the month.
    shifted = f"(({col}) AT TIME ZONE 'UTC' + ({offset}) * INTERVAL '1 second')"
    return f"CAST(date_part('year', {shifted}) * 12 + date_part('month', {shifted}) - 1 AS INTEGER)"


@compiles(local_month)
def _local_month_default(element, compiler, **kw):
    col, offset = (compiler.process(c, **kw) for c in element.clauses)
    shifted = f"{col}, '+' || ({offset}) || ' seconds'"
    return (
        f"(CAST(strftime('%Y', {shifted}) AS INTEGER) * 12 + CAST(strftime('%m', {shifted}) AS INTEGER) - 1)"
    )


def month_no(day: date) -> int:
    """The number of `day`'s month (year × 12 + month − 1), as measure_months keeps it."""
    return day.year * 12 + day.month - 1


def _month_of(number: int, tz: ZoneInfo) -> Period:
    return _period_ending("month", date(number // 12, number % 12 + 1, 1), tz)


# ---------------------------------------------------------------- the measures


@dataclass
class _Sums:
    """Numerators and denominators for one unit (or all): rates are made from these."""

    received: int = 0
    responded: int = 0
    accepted: int = 0
    not_accepted: int = 0
    closed: int = 0
    closed_on_time: int = 0
    closed_late: int = 0
    open_overdue: int = 0
    handled: int = 0
    handled_days: float = 0.0
    speedup_sum: float = 0.0
    committed_sum: float = 0.0
    committed_n: int = 0
    yellow_cards: int = 0
    red_cards: int = 0
    replied: int = 0
    rated: int = 0
    satisfied: int = 0
    unsatisfied: int = 0

    def add(self, other: _Sums) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def figures(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "accepted": self.accepted,
            "not_accepted": self.not_accepted,
            "acceptance_rate": _rate(self.accepted, self.accepted + self.not_accepted),
            "response_rate": _rate(self.responded, self.received),
            "closed": self.closed,
            "on_time_closure_rate": _rate(self.closed_on_time, self.closed),
            "overdue": self.closed_late + self.open_overdue,
            "avg_handling_days": None if not self.handled else round(self.handled_days / self.handled, 2),
            "speedup_rate": _rate(self.speedup_sum, self.handled),
            "committed_speedup_rate": _rate(self.committed_sum, self.committed_n),
            "yellow_cards": self.yellow_cards,
            "red_cards": self.red_cards,
            "rated": self.rated,
            "participation_rate": _rate(self.rated, self.replied),
            "satisfaction_rate": _rate(self.satisfied, self.rated),
            "dissatisfaction_rate": _rate(self.unsatisfied, self.rated),
        }


def _rate(numerator: float, denominator: float) -> float | None:
    if not denominator:
        return None
    return round(numerator / denominator, 4)


def _response_due_table(first: date, last: date, tz: ZoneInfo):
    """(local day number, first-action due time) for every local day from `first` to `last`."""
    cal = _calendar()
    rows = []
    day = first
    while day <= last:
        start = datetime.combine(day, time(12), tzinfo=tz)
        rows.append((_day_no(day), due_at(start, 1, WORKING, cal, tz)))
        day += timedelta(days=1)
    # A CTE rather than a FROM-clause VALUES: SQLite accepts only the former.
    return (
        values(column("day_no", Integer), column("due", UTCDateTime), name="days")
        .data(rows)
        .cte("response_due")
    )


def _calendar() -> WorkCalendar:
    return clocks.calendar()


def _offset_seconds(period: Period) -> int:
    offset = period.tz.utcoffset(datetime.combine(period.first, time(12)))
    return int(offset.total_seconds()) if offset else 0


# Month rows: (unit, kind, month, prev_month, rated_month, score, flag, n, days, speedup).
MonthRow = tuple[int, str, int, int | None, int | None, str | None, bool, int, float | None, float | None]
CARD_KINDS = {"yellow": "yellow_card", "red": "red_card"}
MONTH_COLUMNS = (
    "unit_id",
    "kind",
    "month",
    "prev_month",
    "rated_month",
    "score",
    "flag",
    "n",
    "days",
    "speedup",
)


def _month_rows_live(first: Period, last: Period) -> list[MonthRow]:
    """The facts (and cards) of the months `first`..`last`, added up by month and the keys the
    period filters need: one grouping, whatever the period asks of them later."""
    start, end = first.start, last.end
    offset = literal(_offset_seconds(first))
    f = MeasureFact
    month, prev = local_month(f.at, offset), local_month(f.prev_at, offset)
    due = _response_due_table(first.first, last.last, first.tz)
    # Routings: responded when the unit's first action came before the end of the next
    # working day (the due time of the routing's local day).
    routed = (
        select(
            f.unit_id.label("unit_id"),
            f.kind.label("kind"),
            month.label("month"),
            prev.label("prev_month"),
            literal(None, Integer).label("rated_month"),
            literal(None, f.score.type).label("score"),
            case((f.acted_at < due.c.due, True), else_=False).label("flag"),
            literal(None, f.days.type).label("days"),
            literal(None, f.speedup.type).label("speedup"),
        )
        .join(due, due.c.day_no == local_day(f.at, offset))
        .where(f.kind == FactKind.ROUTED.value, f.at >= start, f.at < end)
    )
    others = select(
        f.unit_id,
        f.kind,
        month,
        prev,
        local_month(f.rated_at, offset),
        f.score,
        f.late,
        f.days,
        f.speedup,
    ).where(f.kind.in_([k.value for k in FactKind if k is not FactKind.ROUTED]), f.at >= start, f.at < end)
    c = Card.__table__.c
    cards = select(
        c.unit_id,
        case(*((c.level == level, kind) for level, kind in CARD_KINDS.items())),
        local_month(c.given_at, offset),
        literal(None, Integer),
        literal(None, Integer),
        literal(None, f.score.type),
        literal(False),
        literal(None, f.days.type),
        literal(None, f.speedup.type),
    ).where(c.level.in_(tuple(CARD_KINDS)), c.unit_id.is_not(None), c.given_at >= start, c.given_at < end)
    rows = union_all(routed, others, cards).subquery("facts")
    keys = [rows.c.unit_id, rows.c.kind, rows.c.month, rows.c.prev_month, rows.c.rated_month, rows.c.score]
    stmt = select(*keys, rows.c.flag, func.count(), func.sum(rows.c.days), func.sum(rows.c.speedup)).group_by(
        *keys, rows.c.flag
    )
    return [
        (u, k, m, pm, rm, sc, bool(fl), int(n), d, sp)
        for u, k, m, pm, rm, sc, fl, n, d, sp in db.session.execute(stmt)
    ]


def _settled_rows(period: Period) -> tuple[list[MonthRow], list[Period]]:
    """The period's settled months as their kept rows, and the months that are not settled."""
    months = period.months()
    numbers = [month_no(m.first) for m in months]
    settled = set(
        db.session.scalars(
            select(SettledMonth.month).where(SettledMonth.month.between(numbers[0], numbers[-1]))
        )
    )
    rows: list[MonthRow] = []
    if settled:
        m = MeasureMonth
        rows = [
            tuple(row)  # type: ignore[misc]
            for row in db.session.execute(
                select(*(getattr(m, name) for name in MONTH_COLUMNS)).where(m.month.in_(settled))
            )
        ]
    return rows, [month for month, number in zip(months, numbers, strict=True) if number not in settled]


def _runs(months: list[Period]) -> list[tuple[Period, Period]]:
    """Consecutive months as (first, last) runs."""
    runs: list[tuple[Period, Period]] = []
    for month in months:
        if runs and runs[-1][1].end == month.start:
            runs[-1] = (runs[-1][0], month)
        else:
            runs.append((month, month))
    return runs


# ---------------------------------------------------------------- months not settled: the facts


@dataclass(frozen=True)
class _Window:
    """Facts of the months `first`..`last`, counted for a period that starts at `period_start`,
    as of `as_of`."""

    first: Period  # the window's first month (its zone offset and days)
    last: Period
    period_start: datetime
    as_of: datetime

    def at(self, col) -> list[ColumnElement]:
        return [col >= self.first.start, col < self.last.end]

    def once(self) -> list[ColumnElement]:
        """Each (petition, unit) pair once in the period: no fact of the kind earlier in it."""
        f = MeasureFact
        return [*self.at(f.at), or_(f.prev_at.is_(None), f.prev_at < self.period_start)]


def _receipts(w: _Window) -> dict[int, tuple[int, int]]:
    """unit id → (received, responded within one working day)."""
    due = _response_due_table(w.first.first, w.last.last, w.first.tz)
    f = MeasureFact
    stmt = (
        select(f.unit_id, func.count(), func.sum(case((f.acted_at < due.c.due, 1), else_=0)))
        .join(due, due.c.day_no == local_day(f.at, literal(_offset_seconds(w.first))))
        .where(f.kind == FactKind.ROUTED.value, *w.once())
        .group_by(f.unit_id)
    )
    return {uid: (int(n), int(ok or 0)) for uid, n, ok in db.session.execute(stmt)}


def _decisions(w: _Window) -> dict[int, tuple[int, int]]:
    """unit id → (accepted, not accepted)."""
    f = MeasureFact
    stmt = (
        select(
            f.unit_id,
            func.sum(case((f.kind == FactKind.ACCEPTED.value, 1), else_=0)),
            func.sum(case((f.kind == FactKind.DECLINED.value, 1), else_=0)),
        )
        .where(f.kind.in_(DECISION_KINDS), *w.once())
        .group_by(f.unit_id)
    )
    return {uid: (int(a or 0), int(n or 0)) for uid, a, n in db.session.execute(stmt)}


def _closures(w: _Window) -> dict[int, tuple[int, int]]:
    """unit id → (closed, closed late)."""
    f = MeasureFact
    stmt = (
        select(f.unit_id, func.count(), func.sum(case((f.late.is_(True), 1), else_=0)))
        .where(f.kind == FactKind.CLOSED.value, *w.at(f.at))
        .group_by(f.unit_id)
    )
    return {uid: (int(n), int(late or 0)) for uid, n, late in db.session.execute(stmt)}


def _handling(w: _Window) -> dict[int, tuple[int, float, float]]:
    """unit id → (handling clocks stopped, sum of days used, sum of speed-up fractions)."""
    f = MeasureFact
    stmt = (
        select(f.unit_id, func.count(), func.sum(f.days), func.sum(f.speedup))
        .where(f.kind == FactKind.HANDLED.value, *w.at(f.at))
        .group_by(f.unit_id)
    )
    return {uid: (int(n), float(d or 0), float(s or 0)) for uid, n, d, s in db.session.execute(stmt)}


def _satisfaction(w: _Window) -> dict[int, tuple[int, int, int, int]]:
    """unit id → (replies, rated by `as_of`, satisfied or basically, unsatisfied)."""
    f = MeasureFact
    rated = f.rated_at < w.as_of
    good = (Score.SATISFIED.value, Score.BASICALLY_SATISFIED.value)
    stmt = (
        select(
            f.unit_id,
            func.count(),
            func.sum(case((rated, 1), else_=0)),
            func.sum(case((and_(rated, f.score.in_(good)), 1), else_=0)),
            func.sum(case((and_(rated, f.score == Score.UNSATISFIED.value), 1), else_=0)),
        )
        .where(f.kind == FactKind.REPLIED.value, *w.once())
        .group_by(f.unit_id)
    )
    return {
        uid: (int(n), int(r or 0), int(g or 0), int(u or 0)) for uid, n, r, g, u in db.session.execute(stmt)
    }


def _cards(w: _Window) -> dict[int, tuple[int, int]]:
    """unit id → (yellow cards, red cards) given (an urging, 督办, is neither)."""
    c = Card.__table__.c
    stmt = (
        select(
            c.unit_id,
            func.sum(case((c.level == "yellow", 1), else_=0)),
            func.sum(case((c.level == "red", 1), else_=0)),
        )
        .where(c.unit_id.is_not(None), *w.at(c.given_at))
        .group_by(c.unit_id)
    )
    return {uid: (int(y or 0), int(r or 0)) for uid, y, r in db.session.execute(stmt)}


def _live_sums(w: _Window, sums: dict[int, _Sums]) -> None:
    """Add the window's facts to `sums`, measure by measure."""
    for uid, (n, ok) in _receipts(w).items():
        sums[uid].received += n
        sums[uid].responded += ok
    for uid, (a, d) in _decisions(w).items():
        sums[uid].accepted += a
        sums[uid].not_accepted += d
    for uid, (n, late) in _closures(w).items():
        sums[uid].closed += n
        sums[uid].closed_late += late
    for uid, (n, days, speed) in _handling(w).items():
        sums[uid].handled += n
        sums[uid].handled_days += days
        sums[uid].speedup_sum += speed
    for uid, (y, r) in _cards(w).items():
        sums[uid].yellow_cards += y
        sums[uid].red_cards += r
    for uid, (n, r, g, u) in _satisfaction(w).items():
        s = sums[uid]
        s.replied, s.rated, s.satisfied, s.unsatisfied = (
            s.replied + n,
            s.rated + r,
            s.satisfied + g,
            s.unsatisfied + u,
        )


def _add_up(rows: Iterable[MonthRow], period: Period, moment: datetime) -> dict[int, _Sums]:
    """The period's sums from its month rows: each pair once (no earlier fact in the period) and
    the ratings given by the period's end."""
    first = month_no(period.first)
    ended = moment >= period.end
    last_rated = month_no(period.last) if ended else None
    good = (Score.SATISFIED.value, Score.BASICALLY_SATISFIED.value)
    sums: dict[int, _Sums] = defaultdict(_Sums)
    for unit_id, kind, _month, prev_month, rated_month, score, flag, n, days, speedup in rows:
        s = sums[unit_id]
        once = prev_month is None or prev_month < first
        if kind == FactKind.ROUTED.value and once:
            s.received += n
            s.responded += n if flag else 0
        elif kind == FactKind.ACCEPTED.value and once:
            s.accepted += n
        elif kind == FactKind.DECLINED.value and once:
            s.not_accepted += n
        elif kind == FactKind.CLOSED.value:
            s.closed += n
            s.closed_late += n if flag else 0
        elif kind == FactKind.HANDLED.value:
            s.handled += n
            s.handled_days += days or 0.0
            s.speedup_sum += speedup or 0.0
        elif kind == FactKind.REPLIED.value and once:
            s.replied += n
            if rated_month is not None and (last_rated is None or rated_month <= last_rated):
                s.rated += n
                s.satisfied += n if score in good else 0
                s.unsatisfied += n if score == Score.UNSATISFIED.value else 0
        elif kind == CARD_KINDS["yellow"]:
            s.yellow_cards += n
        elif kind == CARD_KINDS["red"]:
            s.red_cards += n
    return sums


def _open_overdue(period: Period, as_of: datetime, unit_ids: Sequence[int] | None) -> dict[int, int]:
    """unit id → petitions with a clock of the unit running at `as_of` past its due time."""
    common = [
        Clock.kind.in_(MEASURED),
        Clock.unit_id.is_not(None),
        Clock.started_at < as_of,
        Clock.due_at < as_of,
    ]
    if unit_ids is not None:
        common.append(Clock.unit_id.in_(unit_ids))
    # Running now (one partial index), and, for a period that has ended, stopped since its end.
    running = select(Clock.unit_id, Clock.petition_id).where(Clock.stopped_at.is_(None), *common)
    stopped_since = select(Clock.unit_id, Clock.petition_id).where(Clock.stopped_at > as_of, *common)
    late = union_all(running, stopped_since).subquery("late")
    stmt = select(late.c.unit_id, func.count(func.distinct(late.c.petition_id))).group_by(late.c.unit_id)
    return {uid: int(n) for uid, n in db.session.execute(stmt)}


def category_limits(category: Category) -> dict[str, Limit]:
    """The acceptance and handling limits of a category."""
    return {kind: clocks.limit_for(kind, category) for kind in ("accept", "handle")}


def committed_speedup(category: Category) -> float | None:
    """(statutory − committed) / statutory over the acceptance and handling limits."""
    limits = category_limits(category)
    statutory = sum(limit.statutory for limit in limits.values())
    committed = sum(limit.committed for limit in limits.values())
    return None if statutory <= 0 else (statutory - committed) / statutory


def _committed(unit_ids: Sequence[int] | None) -> dict[int, tuple[float, int]]:
    """unit id → (sum of committed speed-ups, number of categories) from the routing rules."""
    stmt = (
        select(RoutingRule.unit_id, Category)
        .join(Category, Category.id == RoutingRule.category_id)
        .where(RoutingRule.active.is_(True), Category.active.is_(True), Category.parent_id.is_not(None))
        .distinct()
    )
    if unit_ids is not None:
        stmt = stmt.where(RoutingRule.unit_id.in_(unit_ids))
    result: dict[int, tuple[float, int]] = {}
    # A few dozen categories per county: the catalogue, not the petitions.
    for uid, category in db.session.execute(stmt):
        rate = committed_speedup(category)
        if rate is None:
            continue
        total, n = result.get(uid, (0.0, 0))
        result[uid] = (total + rate, n + 1)
    return result


def _sums(period: Period, moment: datetime) -> dict[int, _Sums]:
    as_of = period.as_of(moment)
    rows, open_months = _settled_rows(period)
    sums = _add_up(rows, period, moment)
    for first, last in _runs(open_months):
        _live_sums(_Window(first, last, period.start, as_of), sums)
    for s in sums.values():
        s.closed_on_time = s.closed - s.closed_late
    for uid, n in _open_overdue(period, as_of, None).items():
        sums[uid].open_overdue = n
    for uid, (total, n) in _committed(None).items():
        sums[uid].committed_sum, sums[uid].committed_n = total, n
    return sums


def settled_through(moment: datetime | None = None) -> int:
    """The last month whose facts can no longer change: its replies' rating window and its
    routings' response days are over (MEASURES_SETTLE_DAYS after the month's end)."""
    lag = timedelta(days=settings().measures_settle_days)
    last_day = (as_utc(moment or now()) - lag).astimezone(_tz()).date()
    return month_no(last_day) - 1


def settle(moment: datetime | None = None) -> list[str]:
    """Add up every settled month not added up yet (measure_months); the labels of those added.

    Run by `rq cron` once an hour; reads work without it (they add up those months from the
    facts). A month is added up in one transaction with its settled_months row, whose key
    keeps two runs at once from adding it twice.
    """
    tz = _tz()
    last = settled_through(moment)
    earliest = db.session.scalar(select(func.min(MeasureFact.at)))
    if earliest is None:
        return []
    done = set(db.session.scalars(select(SettledMonth.month)))
    added = []
    for number in range(month_no(as_utc(earliest).astimezone(tz).date()), last + 1):
        if number in done:
            continue
        month = _month_of(number, tz)
        rows = _month_rows_live(month, month)
        try:
            db.session.add(SettledMonth(month=number, settled_at=now(), rows=len(rows)))
            db.session.flush()
            if rows:
                db.session.execute(
                    MeasureMonth.__table__.insert(),
                    [dict(zip(MONTH_COLUMNS, row, strict=True)) for row in rows],
                )
            db.session.commit()
        except IntegrityError:  # another run added it first
            db.session.rollback()
            continue
        added.append(month.label)
    return added


def units_in_scope(unit_code: str | None = None) -> list[Unit]:
    """Every active unit, in the catalogue's order; or the one named (NotFound if unknown)."""
    stmt = select(Unit).order_by(Unit.sort_order, Unit.id)
    if unit_code is not None:
        unit = db.session.scalar(stmt.where(Unit.code == unit_code))
        if unit is None:
            raise NotFound(_l("There is no unit with this code."), {"unit": _l("Unknown unit.")})
        return [unit]
    return list(db.session.scalars(stmt.where(Unit.active.is_(True))))


def unit_measures(
    period: Period, unit_code: str | None = None, moment: datetime | None = None
) -> dict[str, Any]:
    """{"period", "kind", "start", "end", "units": [{unit, ...measures}], "total": {...}}.

    `total` is all units together, whatever `unit_code` filters the list to.
    """
    moment = moment or now()
    units = units_in_scope(unit_code)
    sums = _sums(period, moment)
    total = _Sums()
    for s in sums.values():
        total.add(s)
    rows = [{"unit": u.to_public(), **sums.get(u.id, _Sums()).figures()} for u in units]
    return {
        "period": period.label,
        "kind": period.kind,
        "start": period.first.isoformat(),
        "end": period.last.isoformat(),
        "units": rows,
        "total": total.figures(),
    }


def parse_measure(name: str | None, default: str = "on_time_closure_rate") -> str:
    if not name:
        return default
    if name not in MEASURES:
        raise ValidationFailed(_l("Unknown measure."), {"measure": _l("Unknown measure.")})
    return name


def ranking(period: Period, measure: str, moment: datetime | None = None) -> list[dict[str, Any]]:
    """Units ranked by `measure` in `period` (best first, None last), with the previous
    period's figure and the change."""
    moment = moment or now()
    current = unit_measures(period, None, moment)["units"]
    before = {row["unit"]["code"]: row for row in unit_measures(period.previous(), None, moment)["units"]}
    return rank_rows(current, before, measure)


def rank_rows(
    current: list[dict[str, Any]], before: dict[str, dict[str, Any]], measure: str
) -> list[dict[str, Any]]:
    """Rows of unit_measures ranked by `measure`; equal figures share a rank; None is unranked, last."""
    worse_high = measure in LOWER_IS_BETTER
    rows = []
    for row in current:
        value = row[measure]
        prev = before.get(row["unit"]["code"], {}).get(measure)
        change = None if value is None or prev is None else round(value - prev, 4)
        rows.append({"unit": row["unit"], "value": value, "previous": prev, "change": change, "row": row})
    rows.sort(
        key=lambda r: (
            r["value"] is None,
            0 if r["value"] is None else (r["value"] if worse_high else -r["value"]),
        )
    )
    rank = 0
    last: object = object()
    for i, r in enumerate(rows, start=1):
        if r["value"] is None:
            r["rank"] = None
            continue
        if r["value"] != last:
            rank, last = i, r["value"]
        r["rank"] = rank
    return rows
