"""The outbox: a message is a row before it is a job.

Rows are written in the transaction of the change that causes them (an event recorded
through petitions.services.history, or the sweep), each with a unique key (petition, clock, level
or purpose, recipient, occurrence), so that a message is owed exactly once. Delivery
claims the row (queued → sending, counting the attempt) and commits before calling the
provider, and records the provider's id right after: the only moment a crash can cause a
second copy is between the provider accepting the message and that record.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import event as sa_event
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, attributes

from config import sms_templates
from notifications import sms
from petitions.domain import calendar as deadlines
from petitions.domain.clocks import as_utc, now
from petitions.extensions import db
from petitions.models import Card, Clock, Event, Outbox, OutboxStatus, Petition, Role, User

log = logging.getLogger(__name__)

# Events that text the citizen, and the template each uses.
CITIZEN_TEXTS: dict[str, str] = {
    "accepted": "citizen_accepted",
    "declined": "citizen_declined",
    "replied": "citizen_replied",
    "review_replied": "citizen_replied",
    "rereview_replied": "citizen_replied",
    "extension_approved": "citizen_extended",
}
# Replies that invite a rating, with their reply number (1 reply, 2 review, 3 re-review).
RATING_INVITES: dict[str, int] = {"replied": 1, "review_replied": 2, "rereview_replied": 3}
RATING_SALT = "rating-invitation"

# Forward order of statuses; a provider callback may only move a row forward.
STATUS_RANK = {
    OutboxStatus.QUEUED.value: 0,
    OutboxStatus.SENDING.value: 1,
    OutboxStatus.SENT.value: 2,
    OutboxStatus.DELIVERED.value: 3,
    OutboxStatus.FAILED.value: 3,
}
# Twilio's message statuses (https://www.twilio.com/docs/messaging/api/message-resource#message-status-values).
TWILIO_STATUSES = {
    "accepted": "sent",
    "scheduled": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}


def settings() -> dict:
    return current_app.config["NOTIFY"]


def _hm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def staff_send_time(at: datetime) -> datetime:
    """`at`, or the end of the quiet hours (no SMS to staff at night) it falls in."""
    cfg = settings()
    return deadlines.after_quiet_hours(at, tz(), _hm(cfg["quiet_start"]), _hm(cfg["quiet_end"]))


def base_url() -> str:
    return current_app.config["BASE_URL"].rstrip("/")


def staff_link(tracking_no: str) -> str:
    return f"{base_url()}/staff/petitions/{tracking_no}"


def citizen_link(tracking_no: str) -> str:
    return f"{base_url()}/track?no={tracking_no}"


def rating_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RATING_SALT)


def rating_token(tracking_no: str, reply_no: int) -> str:
    """A signed token naming the petition and the reply to rate; /rate/<token> checks it."""
    return rating_serializer().dumps([tracking_no, reply_no])


def rating_link(tracking_no: str, reply_no: int) -> str:
    return f"{base_url()}/rate/{rating_token(tracking_no, reply_no)}"


def render(purpose: str, **values: object) -> str:
    return sms_templates.SIGNATURE + sms_templates.TEMPLATES[purpose].format(**values)


# ---------------------------------------------------------------- writing rows


def for_event(ev: Event) -> list[Outbox]:
    """The messages an event causes, added to the session of the change (no flush, no commit)."""
    petition = ev.petition
    if petition is None:
        return []
    rows: list[Outbox] = []
    at = ev.at or now()
    purpose = CITIZEN_TEXTS.get(ev.type)
    phone = None if petition.anonymous else petition.contact_phone
    if purpose and phone:
        values = {"no": petition.tracking_no, "link": citizen_link(petition.tracking_no)}
        if purpose == "citizen_accepted":
            values["unit"] = petition.unit.name if petition.unit else ""
        if purpose == "citizen_extended":
            values["days"] = (ev.data or {}).get("days") or _extended_days(petition)
        rows.append(_citizen_row(ev, petition, purpose, phone, render(purpose, **values), at))
    if ev.type in RATING_INVITES and phone:
        reply_no = RATING_INVITES[ev.type]
        body = render(
            "citizen_rating", no=petition.tracking_no, link=rating_link(petition.tracking_no, reply_no)
        )
        rows.append(_citizen_row(ev, petition, "citizen_rating", phone, body, at))
    if ev.type == "urged":
        rows += _urge(ev, petition, at)
    for row in rows:
        db.session.add(row)
    return rows


def _extended_days(petition: Petition) -> int:
    clock = petition.open_clock
    return clock.extended_days if clock else 0


def _citizen_row(ev: Event, petition: Petition, purpose: str, phone: str, body: str, at: datetime) -> Outbox:
    return Outbox(
        purpose=purpose,
        petition=petition,
        event=ev,
        recipient_user_id=None,
        phone=phone,
        staff=False,
        body=body,
        status=OutboxStatus.QUEUED.value,
        attempts=0,
        next_attempt_at=at,
        created_at=at,
        updated_at=at,
    )


def _unit_leaders(unit_id: int | None) -> list[User]:
    if unit_id is None:
        return []
    with db.session.no_autoflush:
        return list(
            db.session.scalars(
                select(User).where(
                    User.unit_id == unit_id, User.role == Role.LEADER.value, User.active.is_(True)
                )
            )
        )


def _urge(ev: Event, petition: Petition, at: datetime) -> list[Outbox]:
    """A supervisor's formal urging (督办): a card on the running clock, and a text to the unit's leaders."""
    clock = petition.open_clock
    if clock is not None and clock.id is not None:
        with db.session.no_autoflush:
            given = db.session.scalar(
                select(func.count(Card.id)).where(Card.clock_id == clock.id, Card.level == "urged")
            )
        db.session.add(
            Card(
                petition=petition,
                clock=clock,
                level="urged",
                seq=(given or 0) + 1,
                unit_id=clock.unit_id,
                given_at=at,
                batch=f"urge{uuid.uuid4().hex}",
                given_by_id=ev.actor_id,
            )
        )
    body = render("staff_urge", no=petition.tracking_no, link=staff_link(petition.tracking_no))
    return [
        Outbox(
            purpose="staff_urge",
            petition=petition,
            event=ev,
            clock_id=clock.id if clock is not None else None,
            level="urged",
            recipient_user_id=leader.id,
            phone=leader.phone,
            staff=True,
            body=body,
            status=OutboxStatus.QUEUED.value,
            attempts=0,
            next_attempt_at=staff_send_time(at),
            created_at=at,
            updated_at=at,
        )
        for leader in _unit_leaders(petition.unit_id)
    ]


@sa_event.listens_for(Outbox, "before_insert")
def _key_from_event(mapper, connection, row: Outbox) -> None:
    """Rows written from an event take the event's id as their occurrence (one text per event)."""
    if row.key:
        return
    petition_id = (
        row.petition_id if row.petition_id is not None else (row.petition.id if row.petition else None)
    )
    event_id = row.event_id if row.event_id is not None else (row.event.id if row.event else None)
    recipient = f"u{row.recipient_user_id}" if row.recipient_user_id else f"p{row.phone}"
    row.occurrence = f"e{event_id}" if event_id is not None else (row.occurrence or "1")
    row.key = f"{petition_id}:{row.clock_id or '-'}:{row.purpose}:{recipient}:{row.occurrence}"


# ---------------------------------------------------------------- after commit: hand new work to RQ


@sa_event.listens_for(Session, "after_flush")
def _collect(session: Session, flush_context) -> None:
    for obj in session.new:
        if isinstance(obj, Outbox):
            session.info.setdefault("xf_outbox", []).append((obj.id, obj.next_attempt_at))
        elif isinstance(obj, Clock):
            session.info.setdefault("xf_clocks", []).append(_moments(obj))
    for obj in session.dirty:
        if (
            isinstance(obj, Clock)
            and obj.stopped_at is None
            and attributes.get_history(obj, "due_at").has_changes()
        ):
            session.info.setdefault("xf_clocks", []).append(_moments(obj))


def _moments(clock: Clock) -> tuple[int, list[datetime | None]]:
    urge_days = current_app.config["WARNING"]["urge_after_days"]
    due = clock.due_at
    return clock.id, [clock.yellow_at, due, deadlines.urged_from(as_utc(due), urge_days) if due else None]


@sa_event.listens_for(Session, "after_commit")
def _dispatch(session: Session) -> None:
    rows = session.info.pop("xf_outbox", [])
    clocks = session.info.pop("xf_clocks", [])
    if not rows and not clocks:
        return
    from notifications import queueing

    if rows:
        queueing.enqueue_delivery(rows)
    for clock_id, moments in dict(clocks).items():
        queueing.schedule_clock(clock_id, moments)


@sa_event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop("xf_outbox", None)
    session.info.pop("xf_clocks", None)


# ---------------------------------------------------------------- delivering


def claim(outbox_id: int, at: datetime) -> bool:
    """Take the row for one attempt (queued → sending), committed before anything is sent."""
    result = db.session.execute(
        update(Outbox)
        .where(
            Outbox.id == outbox_id,
            Outbox.status == OutboxStatus.QUEUED.value,
            Outbox.next_attempt_at <= at + timedelta(seconds=5),
        )
        .values(status=OutboxStatus.SENDING.value, attempts=Outbox.attempts + 1, updated_at=at)
    )
    db.session.commit()
    return result.rowcount == 1


def _staff_body(row: Outbox) -> str:
    petition = db.session.get(Petition, row.petition_id)
    clock = db.session.get(Clock, row.clock_id) if row.clock_id else None
    kind = clock.kind if clock else ""
    due = clock.due_at if clock else None
    local_due = (as_utc(due) - timedelta(microseconds=1)).astimezone(tz()) if due else None
    overdue_days = max(0, (now() - as_utc(due)).days) if due else 0
    return render(
        row.purpose,
        no=petition.tracking_no,
        clock=sms_templates.CLOCK_NAMES.get(kind, kind),
        due=f"{local_due.month}月{local_due.day}日" if local_due else "",
        days=overdue_days,
        unit=petition.unit.name if petition.unit else "",
        link=staff_link(petition.tracking_no),
    )


def status_callback_url() -> str:
    return f"{base_url()}/webhooks/twilio/status"


def _provider_accepted(row_id: int, sent: sms.Sent) -> None:
    """Hook between the provider's acceptance and its record (tests crash here to show the window)."""


def deliver(outbox_id: int) -> str:
    """One delivery attempt: "sent", "failed", "retry" (a transient failure, try again later) or
    "skipped" (not ours to send: already sent, claimed by another worker, or not yet due)."""
    at = now()
    if not claim(outbox_id, at):
        return "skipped"
    row = db.session.get(Outbox, outbox_id)
    if not row.body:
        row.body = _staff_body(row)
        db.session.commit()
    recipient = db.session.get(User, row.recipient_user_id) if row.recipient_user_id else None
    phone = row.phone or (recipient.phone if recipient else None)
    label = recipient.username if recipient else ""
    sender = sms.sender_for(current_app.config)
    body = row.body
    db.session.commit()  # hold no transaction open while the provider answers
    try:
        sent = sender.send(phone, body, status_callback=status_callback_url(), label=label)
    except sms.PermanentFailure as exc:
        _finish(outbox_id, OutboxStatus.FAILED.value, error=str(exc))
        return "failed"
    except sms.TransientFailure as exc:
        attempts = db.session.scalar(select(Outbox.attempts).where(Outbox.id == outbox_id)) or 0
        backoff = [int(s) for s in settings()["backoff"]]
        if attempts >= int(settings()["max_attempts"]):
            _finish(outbox_id, OutboxStatus.FAILED.value, error=f"gave up after {attempts} attempts: {exc}")
            return "failed"
        wait = backoff[min(attempts, len(backoff)) - 1] if backoff else 60
        _finish(
            outbox_id,
            OutboxStatus.QUEUED.value,
            error=str(exc),
            next_attempt_at=now() + timedelta(seconds=wait),
        )
        return "retry"
    _provider_accepted(outbox_id, sent)
    _finish(outbox_id, OutboxStatus.SENT.value, provider_id=sent.provider_id, provider_status=sent.status)
    return "sent"


def _finish(outbox_id: int, status: str, *, error: str | None = None, **values) -> None:
    at = now()
    if status == OutboxStatus.SENT.value:
        values["sent_at"] = at
    if error is not None:
        values["last_error"] = error[:2000]
    db.session.execute(
        update(Outbox)
        .where(Outbox.id == outbox_id, Outbox.status == OutboxStatus.SENDING.value)
        .values(status=status, updated_at=at, **values)
    )
    db.session.commit()


def provider_update(provider_id: str, provider_status: str, error_code: str | None = None) -> bool:
    """A provider's status callback: moves the row forward only (a replay or a late callback changes nothing)."""
    target = TWILIO_STATUSES.get((provider_status or "").lower())
    if not provider_id or target is None:
        return False
    lower = [s for s, rank in STATUS_RANK.items() if rank < STATUS_RANK[target]]
    values: dict[str, object] = {"status": target, "provider_status": provider_status, "updated_at": now()}
    if target == OutboxStatus.FAILED.value:
        values["last_error"] = f"provider: {provider_status}" + (
            f" (error {error_code})" if error_code else ""
        )
    result = db.session.execute(
        update(Outbox)
        .where(Outbox.provider_id == provider_id, Outbox.status.in_(lower), Outbox.status != "sending")
        .values(**values)
    )
    db.session.commit()
    return result.rowcount == 1
