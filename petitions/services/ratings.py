"""Satisfaction (满意度): the citizen's rating of a reply, phone follow-ups, and closing
replies left unrated.

The rating itself is the workflow's `rate` action (petitions.services.actions.rate: once per reply,
by the petition's citizen, with its event); this module adds what surrounds it:

- the window: a reply can be rated for RATING_WINDOW_DAYS (30) after it was issued, the
  same 30 days in which the citizen may ask for review; after that it is refused;
- the SMS link: a signed token (notifications.outbox.rating_token: [tracking number,
  reply number], itsdangerous) that expires with the window and names the reply it
  invites a rating for; a forged, expired or superseded token is refused;
- ratings are never changed or deleted once written, by anyone (a mapper guard);
- phone follow-ups (电话回访) recorded by the unit, which never touch the rating;
- `close_unrated(now)`: a reply left unrated when its 30 days pass closes on its own
  (called by the periodic sweep).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired
from sqlalchemy import case, event, exists, select
from sqlalchemy.orm import aliased
from sqlalchemy.orm.exc import StaleDataError

from petitions.domain import workflow as wf
from petitions.domain.clocks import now
from petitions.domain.errors import Conflict, NotFound, ValidationFailed
from petitions.extensions import db
from petitions.models import FollowUp, Petition, Rating, Reply, Role, Score, Status, User
from petitions.services import actions, clocks, history
from petitions.services.access import Actor, CodeHolder, scopes

OUTCOMES = ("reached", "unreachable", "declined")
REPLY_NO = actions.REPLY_NO
CLOSABLE = (Status.REPLIED.value, Status.REVIEW_REPLIED.value)


class RatingIsFinal(RuntimeError):
    pass


@event.listens_for(Rating, "before_update")
def _no_update(mapper, connection, target) -> None:  # pragma: no cover - guarded path
    raise RatingIsFinal("a rating is never changed")


@event.listens_for(Rating, "before_delete")
def _no_delete(mapper, connection, target) -> None:  # pragma: no cover - guarded path
    raise RatingIsFinal("a rating is never deleted")


window_days = actions.rating_window_days
rating_deadline = actions.rating_deadline


def rateable_reply(petition: Petition, reply_no: int | None = None) -> Reply:
    """The reply the citizen may rate now, or Conflict saying why not (nothing is written)."""
    reply = actions.latest_issued(petition)
    if reply is None:
        raise Conflict(_l("There is no reply to rate yet."), code="not_allowed")
    if reply_no is not None and REPLY_NO[reply.kind] != reply_no:
        raise Conflict(
            _l("This link is for an earlier reply; a newer one has been given."), code="not_allowed"
        )
    if actions.rating_for(petition, reply) is not None:
        raise Conflict(_l("This reply has already been rated."), code="not_allowed")
    if now() >= rating_deadline(reply):
        raise Conflict(_l("The 30 days for rating this reply have passed."), code="not_allowed")
    return reply


def rate(
    petition: Petition,
    score: str,
    comment: str = "",
    *,
    actor: Actor,
    channel: str = "web",
    reply_no: int | None = None,
) -> Petition:
    """Rate the latest reply as `actor` (the citizen, logged in or holding the code or link)."""
    if score not in Score.values():
        raise ValidationFailed(
            _l("Some fields need correcting."),
            {"score": _l("Must be one of: %(expected)s.", expected=", ".join(Score.values()))},
        )
    if len(comment or "") > current_app.config.get("CONTENT_MAX", 5000):
        raise ValidationFailed(
            _l("Some fields need correcting."), {"comment": _l("The comment is too long.")}
        )
    if not isinstance(actor, CodeHolder) and wf.OWNER not in scopes(actor, petition):
        raise NotFound(_l("No such petition."))
    rateable_reply(petition, reply_no)
    return actions.rate(petition, score, comment or "", actor=actor, channel=channel)


# ---------------------------------------------------------------- the SMS link


def _serializer():
    from notifications.outbox import rating_serializer

    return rating_serializer()


def petition_for_token(token: str) -> tuple[Petition, int]:
    """The petition and reply number a rating link names; refused when forged or expired."""
    try:
        tracking_no, reply_no = _serializer().loads(token, max_age=window_days() * 86400)
    except SignatureExpired:
        raise Conflict(_l("This rating link has expired."), code="expired") from None
    except (BadSignature, ValueError, TypeError):
        raise NotFound(_l("This rating link is not valid.")) from None
    if not isinstance(tracking_no, str) or not isinstance(reply_no, int):
        raise NotFound(_l("This rating link is not valid."))
    petition = db.session.scalar(select(Petition).where(Petition.tracking_no == tracking_no))
    if petition is None:
        raise NotFound(_l("This rating link is not valid."))
    return petition, reply_no


def link_token(petition: Petition) -> str | None:
    """The signed token of the SMS link (rate, or ask for review) for the petition's latest reply."""
    reply = actions.latest_issued(petition)
    if reply is None:
        return None
    return _serializer().dumps([petition.tracking_no, REPLY_NO[reply.kind]])


def rate_by_token(token: str, score: str, comment: str = "") -> Petition:
    petition, reply_no = petition_for_token(token)
    return rate(petition, score, comment, actor=CodeHolder(petition.id), channel="sms", reply_no=reply_no)


# ---------------------------------------------------------------- phone follow-ups (电话回访)


def record_follow_up(
    petition: Petition,
    actor: User,
    *,
    outcome: str,
    spoke_with: str = "",
    citizen_view: str | None = None,
    notes: str = "",
) -> FollowUp:
    """A unit records its phone call to the citizen. Commits; the rating is untouched."""
    unit_staff = actor.role in (Role.HANDLER.value, Role.LEADER.value) and bool(
        {wf.OWN, wf.REVIEWER} & scopes(actor, petition)
    )
    if not (unit_staff or actor.role == Role.INTAKE.value):
        raise NotFound(_l("No such petition."))
    fields = {}
    if outcome not in OUTCOMES:
        fields["outcome"] = _l("Must be one of: %(expected)s.", expected=", ".join(OUTCOMES))
    if citizen_view not in (None, "", *Score.values()):
        fields["citizen_view"] = _l("Must be one of: %(expected)s.", expected=", ".join(Score.values()))
    if len(spoke_with) > 64:
        fields["spoke_with"] = _l("At most %(max_length)s characters.", max_length=64)
    if len(notes) > 2000:
        fields["notes"] = _l("At most %(max_length)s characters.", max_length=2000)
    if fields:
        raise ValidationFailed(_l("Some fields need correcting."), fields)
    if actions.latest_issued(petition) is None:
        raise Conflict(_l("There is no reply to follow up yet."), code="not_allowed")
    at = now()
    row = FollowUp(
        petition=petition,
        unit_id=actor.unit_id,
        called_by_id=actor.id,
        spoke_with=spoke_with.strip(),
        outcome=outcome,
        citizen_view=citizen_view or None,
        notes=notes.strip(),
        at=at,
    )
    db.session.add(row)
    history.record(
        petition,
        "followed_up",
        actor=actor,
        from_status=petition.status,
        to_status=petition.status,
        public=False,
        data={"outcome": outcome, "citizen_view": citizen_view or None},
    )
    db.session.commit()
    return row


def follow_ups(petition: Petition) -> list[FollowUp]:
    return list(
        db.session.scalars(select(FollowUp).where(FollowUp.petition_id == petition.id).order_by(FollowUp.id))
    )


# ---------------------------------------------------------------- closing unrated replies


def unrated_due_ids(moment: datetime, limit: int = 1000) -> list[int]:
    """Petitions (replied or review replied) whose latest issued reply is 30 days old or
    more and unrated: one set-based query."""
    reply, newer = aliased(Reply), aliased(Reply)
    reply_no = case(*((reply.kind == kind, no) for kind, no in REPLY_NO.items()), else_=0)
    stmt = (
        select(Petition.id)
        .join(reply, reply.petition_id == Petition.id)
        .where(
            Petition.status.in_(CLOSABLE),
            reply.issued_at.is_not(None),
            reply.issued_at <= moment - timedelta(days=window_days()),
            ~exists().where(newer.petition_id == reply.petition_id, newer.issued_at > reply.issued_at),
            ~exists().where(Rating.petition_id == reply.petition_id, Rating.reply_no == reply_no),
        )
        .order_by(Petition.id)
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def close_unrated(moment: datetime | None = None, batch: int = 1000) -> int:
    """Close every petition whose latest reply has gone unrated for 30 days; returns how many.

    Each closes in its own transaction with its event (actor: the system); one that changed
    meanwhile (rated, reviewed) is left for the next run.
    """
    moment = moment or now()
    closed = 0
    for petition_id in unrated_due_ids(moment, batch):
        petition = db.session.get(Petition, petition_id)
        if petition is None or petition.status not in CLOSABLE:
            continue
        reply = actions.latest_issued(petition)
        if (
            reply is None
            or actions.rating_for(petition, reply) is not None
            or moment < rating_deadline(reply)
        ):
            continue
        before = petition.status
        try:
            clocks.stop_all(petition, moment)
            petition.status = Status.CLOSED.value
            petition.closed_at = moment
            petition.updated_at = moment
            history.record(
                petition,
                "closed",
                from_status=before,
                to_status=Status.CLOSED.value,
                unit_id=petition.unit_id,
                text=str(_l("Closed: the reply was not rated within 30 days.")),
                data={"reason": "unrated", "reply_no": REPLY_NO[reply.kind]},
            )
            db.session.commit()
            closed += 1
        except StaleDataError:
            db.session.rollback()
    return closed
