"""Delivering the outbox: a message is a row before it is a job.

Rows are written in the transaction of the change that owes them (petitions.services.messages,
run by the unit of work's effects), each with a unique key, so that a message is owed exactly
once. Delivery claims the row (queued → sending, counting the attempt) and commits before
calling the provider, and records the provider's id right after: the only moment a crash can
cause a second copy is between the provider accepting the message and that record. A row
attempted before is therefore first looked for in the provider's own list of sent messages
(same number, same text, since it was owed): found there, it is recorded, not sent again.
Quiet hours are kept here: a staff text due at night waits for the morning.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from notifications import quiet_hours, sms
from petitions.domain.clocks import now
from petitions.extensions import db, settings
from petitions.models import Outbox, OutboxStatus, User
from petitions.services import messages

log = logging.getLogger(__name__)

# How far before a row was owed the provider's list is searched for it (clocks differ).
LIST_MARGIN = timedelta(minutes=10)

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


def staff_send_time(at: datetime) -> datetime:
    """`at`, or the end of the quiet hours (no SMS to staff at night) it falls in."""
    n = settings().notify
    return quiet_hours.after_quiet_hours(
        at,
        ZoneInfo(settings().timezone),
        quiet_hours.parse_hm(n.quiet_start),
        quiet_hours.parse_hm(n.quiet_end),
    )


def status_callback_url() -> str:
    return f"{messages.base_url()}/webhooks/twilio/status"


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


def defer_to_morning(outbox_id: int, at: datetime) -> datetime | None:
    """A staff row due in the quiet hours waits for their end (its time moves; nothing is sent)."""
    morning = staff_send_time(at)
    if morning <= at:
        return None
    result = db.session.execute(
        update(Outbox)
        .where(
            Outbox.id == outbox_id,
            Outbox.status == OutboxStatus.QUEUED.value,
            Outbox.staff.is_(True),
            Outbox.next_attempt_at < morning,
        )
        .values(next_attempt_at=morning, updated_at=at)
    )
    db.session.commit()
    return morning if result.rowcount == 1 else None


def deliver(outbox_id: int) -> str:
    """One delivery attempt: "sent", "failed", "retry" (a transient failure, try again later),
    "deferred" (a staff text in the quiet hours: it waits for the morning) or "skipped" (not
    ours to send: already sent, claimed by another worker, or not yet due)."""
    at = now()
    if defer_to_morning(outbox_id, at) is not None:
        return "deferred"
    if not claim(outbox_id, at):
        return "skipped"
    row = db.session.get(Outbox, outbox_id)
    if not row.body:
        row.body = messages.staff_body(row)
        db.session.commit()
    recipient = db.session.get(User, row.recipient_user_id) if row.recipient_user_id else None
    phone = row.phone or (recipient.phone if recipient else None)
    label = recipient.username if recipient else ""
    sender = sms.sender_for(settings())
    body = row.body
    earlier_attempt = row.attempts > 1
    owed_since = row.created_at
    db.session.commit()  # hold no transaction open while the provider answers
    try:
        sent = None
        if earlier_attempt:
            # An earlier attempt may have reached the provider and died before its record: ask
            # the provider first. What remains of the window is a message it accepted but does
            # not list yet.
            sent = sender.find_sent(phone, body, since=owed_since - LIST_MARGIN)
        if sent is None:
            sent = sender.send(phone, body, status_callback=status_callback_url(), label=label)
    except sms.PermanentFailure as exc:
        _finish(outbox_id, OutboxStatus.FAILED.value, error=str(exc))
        return "failed"
    except sms.TransientFailure as exc:
        attempts = db.session.scalar(select(Outbox.attempts).where(Outbox.id == outbox_id)) or 0
        backoff = list(settings().notify.backoff)
        if attempts >= settings().notify.max_attempts:
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
