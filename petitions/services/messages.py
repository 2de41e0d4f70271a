"""Where a message is born: outbox rows, written in the transaction of the change that owes them.

An event owes the texts its type's `hears` lists (petitions.domain.events): the citizen's
are written here with their body; the staff's (cards, urgings) are written set-based over
the cards given, with the body rendered at the first delivery attempt (the clock's due
date and days overdue then). Every row has a unique key, (petition, clock, purpose,
recipient, occurrence), so a message is owed exactly once whatever crashes or concurrent
sweeps happen; the rows reach RQ after the commit (Work.deliver_after_commit), and
notifications.outbox delivers them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import String, and_, cast, func, literal, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import ColumnElement, Select

from config import sms_templates
from petitions.domain import clocks as clock_rules
from petitions.domain import events as event_rules
from petitions.domain.clocks import as_utc, now
from petitions.extensions import db, settings
from petitions.models import Card, Clock, Event, Outbox, OutboxStatus, Petition, Role, Unit, User
from petitions.services.work import Work
from petitions.types import UTCDateTime

RATING_SALT = "rating-invitation"
# The reply number a rating invitation names (1 reply, 2 review, 3 re-review).
REPLY_NO_OF_EVENT = {"replied": 1, "review_replied": 2, "rereview_replied": 3}


# ---------------------------------------------------------------- texts and links


def render(purpose: str, **values: object) -> str:
    return sms_templates.SIGNATURE + sms_templates.TEMPLATES[purpose].format(**values)


def base_url() -> str:
    return settings().base_url.rstrip("/")


def staff_link(tracking_no: str) -> str:
    return f"{base_url()}/staff/petitions/{tracking_no}"


def citizen_link(tracking_no: str) -> str:
    return f"{base_url()}/track?no={tracking_no}"


class ServerTimeSigner(TimestampSigner):
    """Dates a link by the server clock (petitions.domain.clocks.now), not the wall clock, so that
    its age is counted on the same time as the rating window it opens."""

    def get_timestamp(self) -> int:
        return int(now().timestamp())


def rating_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings().secret_key, salt=RATING_SALT, signer=ServerTimeSigner)


def rating_token(tracking_no: str, reply_no: int) -> str:
    """A signed token naming the petition and the reply to rate; /rate/<token> checks it."""
    return rating_serializer().dumps([tracking_no, reply_no])


def rating_link(tracking_no: str, reply_no: int) -> str:
    return f"{base_url()}/rate/{rating_token(tracking_no, reply_no)}"


def tz() -> ZoneInfo:
    return ZoneInfo(settings().timezone)


def clock_name(kind: str) -> str:
    """A clock's name as the texts say it: the term of the rules (受理, 办理, ...)."""
    kind_row = clock_rules.KINDS.get(kind)
    return kind_row.term if kind_row is not None else kind


def staff_body(row: Outbox) -> str:
    """The text of a staff row written without one (the sweep writes them in bulk)."""
    petition = db.session.get(Petition, row.petition_id)
    clock = db.session.get(Clock, row.clock_id) if row.clock_id else None
    due = as_utc(clock.due_at) if clock else None
    local_due = (due - timedelta(microseconds=1)).astimezone(tz()) if due else None
    return render(
        row.purpose,
        no=petition.tracking_no,
        clock=clock_name(clock.kind) if clock else "",
        due=f"{local_due.month}月{local_due.day}日" if local_due else "",
        days=max(0, (now() - due).days) if due else 0,
        unit=petition.unit.name if petition.unit else "",
        link=staff_link(petition.tracking_no),
    )


def key(petition_id: int | None, clock_id: int | None, purpose: str, recipient: str, occurrence: str) -> str:
    return f"{petition_id}:{clock_id or '-'}:{purpose}:{recipient}:{occurrence}"


# ---------------------------------------------------------------- the effect: tell who hears of an event


def tell(work: Work, events: Sequence[Event]) -> None:
    """Write the texts these events owe (their type's `hears`), for delivery after the commit."""
    kind = events[0].type
    for t in event_rules.citizen_audience(kind):
        rows = [row for ev in events if (row := _citizen_row(ev, t.purpose)) is not None]
        db.session.add_all(rows)
        db.session.flush()
        work.deliver_after_commit((row.id, row.next_attempt_at) for row in rows)
    staff = event_rules.staff_audience(kind)
    if staff:
        card_ids = [cid for ev in events if (cid := ev.data.get("card_id") or work.card_of.get(ev.id))]
        if card_ids:
            cards = Card.__table__.c.id.in_(card_ids)
            for t in staff:
                work.deliver_after_commit(_owe_cards(t.purpose, t.audience, cards, work.at))


def _citizen_row(ev: Event, purpose: str) -> Outbox | None:
    petition = ev.petition
    phone = None if petition.anonymous else petition.contact_phone
    if not phone:
        return None
    no = petition.tracking_no
    if purpose == "citizen_rating":
        body = render(purpose, no=no, link=rating_link(no, REPLY_NO_OF_EVENT[ev.type]))
    else:
        values: dict[str, Any] = {"no": no, "link": citizen_link(no)}
        if purpose == "citizen_accepted":
            values["unit"] = petition.unit.name if petition.unit else ""
        if purpose == "citizen_extended":
            values["days"] = ev.data.get("days", 0)
        body = render(purpose, **values)
    recipient = f"p{phone}"
    occurrence = f"e{ev.id}"
    return Outbox(
        key=key(petition.id, None, purpose, recipient, occurrence),
        purpose=purpose,
        petition=petition,
        event_id=ev.id,
        occurrence=occurrence,
        recipient_user_id=None,
        phone=phone,
        staff=False,
        body=body,
        status=OutboxStatus.QUEUED.value,
        attempts=0,
        next_attempt_at=ev.at,
        created_at=ev.at,
        updated_at=ev.at,
    )


# ---------------------------------------------------------------- staff texts, set-based

k = Card.__table__
c = Clock.__table__
p = Petition.__table__
u = User.__table__
o = Outbox.__table__


def insert(table):
    """INSERT … ON CONFLICT DO NOTHING in the database's own dialect."""
    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"the outbox speaks PostgreSQL and SQLite, not {dialect}")


def ts(value: datetime) -> ColumnElement:
    return literal(as_utc(value), type_=UTCDateTime())


def _bureau_id() -> int | None:
    return db.session.scalar(select(Unit.id).where(Unit.kind == "bureau").order_by(Unit.id).limit(1))


def recipients(audience: str, occurrence, *, cards=None, clocks=None) -> list[Select]:
    """Selects of (petition_id, clock_id, user id, phone, occurrence) for an audience, over the
    cards matching `cards` or the clocks matching `clocks` (the daily reminder)."""
    if cards is not None:
        src, where, unit_col, clock_col = k, cards, k.c.unit_id, k.c.clock_id
    else:
        src, where, unit_col, clock_col = c, clocks, c.c.unit_id, c.c.id
    base = src.join(p, p.c.id == src.c.petition_id)
    cols = (src.c.petition_id, clock_col)
    tail = (u.c.id, u.c.phone, occurrence.label("occurrence"))
    active = u.c.active.is_(True)
    if audience == event_rules.HANDLER:
        return [
            # the handler assigned to the petition ...
            select(*cols, *tail).select_from(base.join(u, u.c.id == p.c.handler_id)).where(where, active),
            # ... or, before one is assigned, the unit's handlers ...
            select(*cols, *tail)
            .select_from(base.join(u, and_(u.c.unit_id == unit_col, u.c.role == Role.HANDLER.value)))
            .where(where, active, p.c.handler_id.is_(None)),
            # ... or, for a petition in the intake queue (no unit yet), the intake officers.
            select(*cols, *tail)
            .select_from(base.join(u, u.c.role == Role.INTAKE.value))
            .where(where, active, unit_col.is_(None), p.c.handler_id.is_(None)),
        ]
    if audience == event_rules.LEADER:
        bureau = _bureau_id()
        unit_of = func.coalesce(unit_col, bureau) if bureau is not None else unit_col
        return [
            select(*cols, *tail)
            .select_from(base.join(u, and_(u.c.unit_id == unit_of, u.c.role == Role.LEADER.value)))
            .where(where, active)
        ]
    if audience == event_rules.SUPERVISOR:
        return [
            select(*cols, *tail)
            .select_from(base.join(u, u.c.role == Role.SUPERVISOR.value))
            .where(where, active)
        ]
    raise ValueError(audience)


def owe(query: Select, purpose: str, level: str, *, at: datetime) -> list[tuple[int, datetime]]:
    """INSERT one outbox row per selected recipient, keyed (petition, clock, level, recipient,
    occurrence); a row owed already is not owed again. Returns the new rows (id, not before).
    Quiet hours are the delivery's to keep (notifications.outbox): the row says when it was owed."""
    sub = query.subquery()
    pid, cid, uid, phone, occ = list(sub.c)
    row_key = (
        cast(pid, String)
        + literal(":")
        + cast(cid, String)
        + literal(f":{level}:u")
        + cast(uid, String)
        + literal(":")
        + occ
    )
    rows = select(
        row_key,
        literal(purpose),
        pid,
        cid,
        literal(level),
        occ,
        uid,
        phone,
        true(),
        literal(""),
        literal(OutboxStatus.QUEUED.value),
        literal(0),
        ts(at),
        ts(at),
        ts(at),
    ).select_from(sub)
    stmt = insert(o).from_select(
        [
            "key",
            "purpose",
            "petition_id",
            "clock_id",
            "level",
            "occurrence",
            "recipient_user_id",
            "phone",
            "staff",
            "body",
            "status",
            "attempts",
            "next_attempt_at",
            "created_at",
            "updated_at",
        ],
        rows.where(true()),
    )
    result = db.session.execute(stmt.on_conflict_do_nothing().returning(o.c.id))
    return [(row_id, at) for row_id in result.scalars()]


def _owe_cards(purpose: str, audience: str, cards, at: datetime) -> list[tuple[int, datetime]]:
    """Rows for the people of `audience` about the cards matching `cards` (occurrence: the card's
    number on its clock, so a clock red again after an extension is told again)."""
    owed = []
    level = purpose.removeprefix("staff_")
    for query in recipients(audience, cast(k.c.seq, String), cards=cards):
        owed += owe(query, purpose, level, at=at)
    return owed
