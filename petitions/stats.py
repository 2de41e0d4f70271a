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
    local day (the working-day calendar of petitions.deadlines, with holidays and 调休).
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
    Cards given to U's clocks in P (`cards` table when present; otherwise clocks started
    in P whose level is yellow / red or urged).
replied, rated, participation_rate (参评率)
    replied: replies U issued in P (`replied`, `review_replied`, `rereview_replied`
    events). rated: those of them the citizen has rated (by "as of"). rated / replied.
satisfaction_rate / dissatisfaction_rate (满意率 / 不满意率)
    (satisfied + basically satisfied) / rated, and unsatisfied / rated, over the same
    ratings.

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

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    column,
    func,
    literal,
    or_,
    select,
    text,
    values,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from petitions import deadlines
from petitions.errors import NotFound, ValidationFailed
from petitions.extensions import db
from petitions.models import Category, Clock, Event, Petition, Rating, Role, RoutingRule, Score, Status, Unit
from petitions.timeutil import as_utc, now
from petitions.types import UTCDateTime

ROUTED = "routed"
ACCEPTED = "accepted"
DECLINED = "declined"
REPLY_TYPES = ("replied", "review_replied", "rereview_replied")
STAFF_ROLES = (Role.HANDLER.value, Role.LEADER.value)
# Clocks that run against the unit (the citizen's own windows, such as the 30 days to ask
# for review, are not the unit's to keep).
UNIT_CLOCKS = ("accept", "handle", "on_spot", "review", "rereview")
HANDLE_CLOCK = "handle"

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


_PERIOD_RE = re.compile(r"^(\d{4})(?:-(?:(\d{2})|Q([1-4])))?$")


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
    return ZoneInfo(current_app.config["TIMEZONE"])


def parse_period(text: str | None, *, moment: datetime | None = None, tz: ZoneInfo | None = None) -> Period:
    """`YYYY-MM`, `YYYY-Qn` or `YYYY` → Period; ValidationFailed when malformed or in the future."""
    tz = tz or _tz()
    raw = (text or "").strip()
    match = _PERIOD_RE.match(raw)
    if not match:
        raise ValidationFailed(
            _l("The period must be a month (2026-10), a quarter (2026-Q3) or a year (2026)."),
            {"period": _l("Use YYYY-MM, YYYY-Qn or YYYY.")},
        )
    year = int(match.group(1))
    month, quarter = match.group(2), match.group(3)
    if year < 1990 or (month is not None and not 1 <= int(month) <= 12):
        raise ValidationFailed(_l("There is no such period."), {"period": _l("There is no such period.")})
    if month is not None:
        period = _period_ending("month", date(year, int(month), 1), tz)
    elif quarter is not None:
        period = _period_ending("quarter", date(year, 3 * int(quarter) - 2, 1), tz)
    else:
        period = _period_ending("year", date(year, 1, 1), tz)
    moment = moment or now()
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


def _epoch_days(a: ColumnElement, b: ColumnElement) -> ColumnElement:
    """(a − b) in days, as a float, on either database."""
    if db.engine.dialect.name == "postgresql":
        # date_part gives a double; extract gives a numeric, several times slower to add up.
        return func.date_part("epoch", a - b) / 86400.0
    return func.julianday(a) - func.julianday(b)


def _in_period(col, period: Period) -> ColumnElement:
    return and_(col >= period.start, col < period.end)


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


def _response_due_table(period: Period):
    """(local day number, first-action due time) for every local day of the period, and the
    latest of those due times."""
    cal = _calendar()
    rows = []
    day = period.first
    while day <= period.last:
        start = datetime.combine(day, time(12), tzinfo=period.tz)
        rows.append((_day_no(day), deadlines.due_at(start, 1, deadlines.WORKING, cal, period.tz)))
        day += timedelta(days=1)
    # A CTE rather than a FROM-clause VALUES: SQLite accepts only the former.
    table = (
        values(column("day_no", Integer), column("due", UTCDateTime), name="days")
        .data(rows)
        .cte("response_due")
    )
    return table, max(due for _day, due in rows)


def _calendar() -> deadlines.WorkCalendar:
    from petitions import clocks

    return clocks.calendar()


def _offset_seconds(period: Period) -> int:
    offset = period.tz.utcoffset(datetime.combine(period.first, time(12)))
    return int(offset.total_seconds()) if offset else 0


def _receipts(period: Period, unit_ids: Sequence[int] | None) -> dict[int, tuple[int, int]]:
    """unit id → (received, responded within one working day)."""
    cond = [Event.type == ROUTED, Event.unit_id.is_not(None), _in_period(Event.at, period)]
    if unit_ids is not None:
        cond.append(Event.unit_id.in_(unit_ids))
    r = (
        select(Event.petition_id, Event.unit_id, func.min(Event.at).label("routed_at"))
        .where(*cond)
        .group_by(Event.petition_id, Event.unit_id)
        .cte("r")
    )
    due, last_due = _response_due_table(period)
    # The first staff action at or after each routing, by one join rather than a lookup per
    # routing: an action before the due time exists exactly when the first one is before it.
    # Actions after the last due time of the period cannot count, so they are not read.
    action = aliased_event()
    first = (
        select(r.c.petition_id, r.c.unit_id, r.c.routed_at, func.min(action.at).label("acted_at"))
        .select_from(
            r.outerjoin(
                action,
                and_(
                    action.petition_id == r.c.petition_id,
                    action.unit_id == r.c.unit_id,
                    action.actor_role.in_(STAFF_ROLES),
                    action.at >= r.c.routed_at,
                    action.at >= period.start,
                    action.at < last_due,
                ),
            )
        )
        .group_by(r.c.petition_id, r.c.unit_id, r.c.routed_at)
        .cte("first_action")
    )
    stmt = (
        select(first.c.unit_id, func.count(), func.sum(case((first.c.acted_at < due.c.due, 1), else_=0)))
        .select_from(
            first.join(due, due.c.day_no == local_day(first.c.routed_at, literal(_offset_seconds(period))))
        )
        .group_by(first.c.unit_id)
    )
    return {uid: (int(n), int(ok or 0)) for uid, n, ok in db.session.execute(stmt)}


def aliased_event():
    from sqlalchemy.orm import aliased

    return aliased(Event)


def _decisions(period: Period, unit_ids: Sequence[int] | None) -> dict[int, tuple[int, int]]:
    """unit id → (accepted, not accepted)."""
    cond = [Event.type.in_((ACCEPTED, DECLINED)), Event.unit_id.is_not(None), _in_period(Event.at, period)]
    if unit_ids is not None:
        cond.append(Event.unit_id.in_(unit_ids))
    # Distinct (unit, petition, decision) first: one hash pass, not a sort per unit.
    d = select(Event.unit_id, Event.petition_id, Event.type).where(*cond).distinct().subquery("d")
    stmt = select(
        d.c.unit_id,
        func.sum(case((d.c.type == ACCEPTED, 1), else_=0)),
        func.sum(case((d.c.type == DECLINED, 1), else_=0)),
    ).group_by(d.c.unit_id)
    return {uid: (int(a or 0), int(n or 0)) for uid, a, n in db.session.execute(stmt)}


def _closures(period: Period, unit_ids: Sequence[int] | None) -> dict[int, tuple[int, int]]:
    """unit id → (closed, closed late)."""
    cond = [
        Petition.status == Status.CLOSED.value,
        Petition.unit_id.is_not(None),
        _in_period(Petition.closed_at, period),
    ]
    if unit_ids is not None:
        cond.append(Petition.unit_id.in_(unit_ids))
    closed = {
        uid: int(n)
        for uid, n in db.session.execute(
            select(Petition.unit_id, func.count()).where(*cond).group_by(Petition.unit_id)
        )
    }
    # Late: a clock of the closing unit on the petition stopped (or ran on) past its due time.
    # A join with the petition's clocks, counted once per petition.
    late_ids = (
        select(Petition.id, Petition.unit_id)
        .join(Clock, and_(Clock.petition_id == Petition.id, Clock.unit_id == Petition.unit_id))
        .where(
            *cond,
            Clock.kind.in_(UNIT_CLOCKS),
            func.coalesce(Clock.stopped_at, Petition.closed_at) > Clock.due_at,
        )
        .distinct()
        .subquery("late")
    )
    late = {
        uid: int(n)
        for uid, n in db.session.execute(
            select(late_ids.c.unit_id, func.count()).group_by(late_ids.c.unit_id)
        )
    }
    return {uid: (n, late.get(uid, 0)) for uid, n in closed.items()}


def _open_overdue(period: Period, as_of: datetime, unit_ids: Sequence[int] | None) -> dict[int, int]:
    """unit id → petitions with a clock of the unit running at `as_of` past its due time."""
    cond = [
        Clock.kind.in_(UNIT_CLOCKS),
        Clock.unit_id.is_not(None),
        Clock.started_at < as_of,
        or_(Clock.stopped_at.is_(None), Clock.stopped_at > as_of),
        Clock.due_at < as_of,
    ]
    if unit_ids is not None:
        cond.append(Clock.unit_id.in_(unit_ids))
    stmt = (
        select(Clock.unit_id, func.count(func.distinct(Clock.petition_id)))
        .where(*cond)
        .group_by(Clock.unit_id)
    )
    return {uid: int(n) for uid, n in db.session.execute(stmt)}


def _handling(period: Period, unit_ids: Sequence[int] | None) -> dict[int, tuple[int, float, float]]:
    """unit id → (handling clocks stopped in P, sum of days used, sum of speed-up fractions)."""
    cond = [Clock.kind == HANDLE_CLOCK, Clock.unit_id.is_not(None), _in_period(Clock.stopped_at, period)]
    if unit_ids is not None:
        cond.append(Clock.unit_id.in_(unit_ids))
    used = _epoch_days(Clock.stopped_at, Clock.started_at)
    allowed = _epoch_days(Clock.statutory_due_at, Clock.started_at)
    speed = case((allowed > 0, (allowed - used) / allowed), else_=0.0)
    stmt = (
        select(Clock.unit_id, func.count(), func.sum(used), func.sum(speed))
        .where(*cond)
        .group_by(Clock.unit_id)
    )
    return {uid: (int(n), float(d or 0), float(s or 0)) for uid, n, d, s in db.session.execute(stmt)}


def _satisfaction(
    period: Period, as_of: datetime, unit_ids: Sequence[int] | None
) -> dict[int, tuple[int, int, int, int]]:
    """unit id → (replies in P, rated, satisfied or basically, unsatisfied)."""
    cond = [Event.type.in_(REPLY_TYPES), Event.unit_id.is_not(None), _in_period(Event.at, period)]
    if unit_ids is not None:
        cond.append(Event.unit_id.in_(unit_ids))
    replies = (
        select(Event.petition_id, Event.unit_id)
        .where(*cond)
        .group_by(Event.petition_id, Event.unit_id)
        .subquery("replies")
    )
    # One rating per reply; the earliest (lowest id) by that unit counts. Its score rides in
    # the low bits of the minimum (id × 4 + score code), so no second look-up is needed.
    code = case(
        (Rating.score == Score.UNSATISFIED.value, 2),
        (Rating.score.in_((Score.SATISFIED.value, Score.BASICALLY_SATISFIED.value)), 1),
        else_=0,
    )
    per_reply = (
        select(
            replies.c.unit_id,
            func.min(cast(Rating.id, BigInteger) * 4 + code).label("first"),
        )
        .select_from(
            replies.outerjoin(
                Rating,
                and_(
                    Rating.petition_id == replies.c.petition_id,
                    Rating.unit_id == replies.c.unit_id,
                    Rating.created_at < as_of,
                ),
            )
        )
        .group_by(replies.c.unit_id, replies.c.petition_id)
        .subquery("per_reply")
    )
    score = per_reply.c.first % 4
    stmt = select(
        per_reply.c.unit_id,
        func.count(),
        func.count(per_reply.c.first),
        func.sum(case((score == 1, 1), else_=0)),
        func.sum(case((score == 2, 1), else_=0)),
    ).group_by(per_reply.c.unit_id)
    return {
        uid: (int(n), int(r or 0), int(g or 0), int(u or 0)) for uid, n, r, g, u in db.session.execute(stmt)
    }


def _cards(period: Period, unit_ids: Sequence[int] | None) -> dict[int, tuple[int, int]]:
    """unit id → (yellow cards, red cards) given in P (an urging, 督办, is neither)."""
    card_table = db.metadata.tables.get("cards")
    if card_table is not None:
        return _cards_from_table(card_table, period, unit_ids)
    cond = [Clock.unit_id.is_not(None), _in_period(Clock.started_at, period)]
    if unit_ids is not None:
        cond.append(Clock.unit_id.in_(unit_ids))
    stmt = (
        select(
            Clock.unit_id,
            func.sum(case((Clock.level == "yellow", 1), else_=0)),
            func.sum(case((Clock.level.in_(("red", "urged")), 1), else_=0)),
        )
        .where(*cond)
        .group_by(Clock.unit_id)
    )
    return {uid: (int(y or 0), int(r or 0)) for uid, y, r in db.session.execute(stmt)}


def _cards_from_table(table, period: Period, unit_ids: Sequence[int] | None) -> dict[int, tuple[int, int]]:
    c = table.c
    when = c.given_at
    cond = [c.unit_id.is_not(None), _in_period(when, period)]
    if unit_ids is not None:
        cond.append(c.unit_id.in_(unit_ids))
    stmt = (
        select(
            c.unit_id,
            func.sum(case((c.level == "yellow", 1), else_=0)),
            func.sum(case((c.level == "red", 1), else_=0)),
        )
        .where(*cond)
        .group_by(c.unit_id)
    )
    return {uid: (int(y or 0), int(r or 0)) for uid, y, r in db.session.execute(stmt)}


def category_limits(category: Category) -> dict[str, tuple[int, int, str]]:
    """{"accept": (statutory, committed, day unit), "handle": (...)} for a category."""
    from petitions import clocks

    return {kind: clocks.limits_for(kind, category) for kind in ("accept", "handle")}


def committed_speedup(category: Category) -> float | None:
    """(statutory − committed) / statutory over the acceptance and handling limits."""
    limits = category_limits(category)
    statutory = sum(s for s, _c, _u in limits.values())
    committed = sum(c for _s, c, _u in limits.values())
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


def _sums(period: Period, unit_ids: Sequence[int] | None, moment: datetime) -> dict[int, _Sums]:
    as_of = period.as_of(moment)
    if db.engine.dialect.name == "postgresql":
        # Grouping a year's routings and replies per petition needs more than the default
        # 4 MB to stay in memory; for this transaction only.
        db.session.execute(text("SET LOCAL work_mem = '64MB'"))
    sums: dict[int, _Sums] = defaultdict(_Sums)
    for uid, (n, ok) in _receipts(period, unit_ids).items():
        sums[uid].received, sums[uid].responded = n, ok
    for uid, (a, d) in _decisions(period, unit_ids).items():
        sums[uid].accepted, sums[uid].not_accepted = a, d
    for uid, (n, late) in _closures(period, unit_ids).items():
        sums[uid].closed, sums[uid].closed_late, sums[uid].closed_on_time = n, late, n - late
    for uid, n in _open_overdue(period, as_of, unit_ids).items():
        sums[uid].open_overdue = n
    for uid, (n, days, speed) in _handling(period, unit_ids).items():
        sums[uid].handled, sums[uid].handled_days, sums[uid].speedup_sum = n, days, speed
    for uid, (total, n) in _committed(unit_ids).items():
        sums[uid].committed_sum, sums[uid].committed_n = total, n
    for uid, (y, r) in _cards(period, unit_ids).items():
        sums[uid].yellow_cards, sums[uid].red_cards = y, r
    for uid, (n, r, g, u) in _satisfaction(period, as_of, unit_ids).items():
        s = sums[uid]
        s.replied, s.rated, s.satisfied, s.unsatisfied = n, r, g, u
    return sums


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
    sums = _sums(period, None, moment)
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


def monthly_series(
    months: Iterable[Period], measure: str, unit_code: str | None = None, moment: datetime | None = None
) -> list[float | int | None]:
    """One figure of `measure` per month, for a unit or (None) all units."""
    if measure not in MEASURES:
        raise ValidationFailed(_l("Unknown measure."), {"measure": _l("Unknown measure.")})
    result = []
    for month in months:
        data = unit_measures(month, unit_code, moment)
        source = data["units"][0] if unit_code else data["total"]
        result.append(source[measure])
    return result


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
