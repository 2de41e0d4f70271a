"""Satisfaction (满意度): the citizen's rating of a reply, follow-ups, and closing replies left
unrated.

The rating itself is the workflow's `rate` action (petitions.services.actions.rate: once per
reply, by the petition's citizen, with its event); this module adds what surrounds it:

- the window: a reply can be rated for `rating_window_days` (30) after it was issued, the
  same 30 days in which the citizen may ask for review; after that it is refused;
- the SMS link: a signed token (petitions.services.messages.rating_token: [tracking
  number, reply number]) that expires with the window and names the reply it invites a
  rating for; a forged, expired or superseded token is refused;
- ratings are never changed or deleted once written, by anyone (a mapper guard);
- follow-ups (回访) recorded by the unit, the workflow's `follow-up` action, which never
  touch the rating;
- `close_unrated(now)`: a reply left unrated when its days pass closes on its own (the
  workflow's system `close`, run by the periodic job).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired
from sqlalchemy import case, event, exists, select
from sqlalchemy.orm import aliased

from petitions.domain import workflow as wf
from petitions.domain.clocks import now
from petitions.domain.errors import Conflict, NotFound, ValidationFailed
from petitions.extensions import db, settings
from petitions.i18n import lazy_gettext as _l
from petitions.models import FollowUp, Petition, Rating, Reply, Score, Status
from petitions.services import actions, messages, records
from petitions.services.access import Actor, CodeHolder, scopes
from petitions.services.records import REPLY_NO

CLOSABLE = (Status.REPLIED.value, Status.REVIEW_REPLIED.value)


class RatingIsFinal(RuntimeError):
    pass


@event.listens_for(Rating, "before_update")
def _no_update(mapper, connection, target) -> None:  # pragma: no cover - guarded path
    raise RatingIsFinal("a rating is never changed")


@event.listens_for(Rating, "before_delete")
def _no_delete(mapper, connection, target) -> None:  # pragma: no cover - guarded path
    raise RatingIsFinal("a rating is never deleted")


def window_days() -> int:
    return settings().rating_window_days


def rateable_reply(petition: Petition, reply_no: int | None = None) -> records.ReplyRow:
    """The reply the citizen may rate now, or Conflict saying why not (nothing is written)."""
    record = records.of(petition)
    reply = record.latest_issued
    if reply is None:
        raise Conflict(_l("There is no reply to rate yet."), code="not_allowed")
    if reply_no is not None and reply.number != reply_no:
        raise Conflict(
            _l("This link is for an earlier reply; a newer one has been given."), code="not_allowed"
        )
    if record.rating_of(reply) is not None:
        raise Conflict(_l("This reply has already been rated."), code="not_allowed")
    if now() >= records.rating_deadline(reply):
        raise Conflict(
            _l("The %(days)s days for rating this reply have passed.", days=window_days()), code="not_allowed"
        )
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
    if len(comment or "") > settings().content_max:
        raise ValidationFailed(
            _l("Some fields need correcting."), {"comment": _l("The comment is too long.")}
        )
    if not isinstance(actor, CodeHolder) and wf.OWNER not in scopes(actor, petition):
        raise NotFound(_l("No such petition."))
    rateable_reply(petition, reply_no)
    return actions.rate(petition, score, comment or "", actor=actor, channel=channel)


# ---------------------------------------------------------------- the SMS link


def _serializer():
    return messages.rating_serializer()


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


# ---------------------------------------------------------------- follow-ups (回访)


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
    """Close every petition whose latest reply has gone unrated for its days; returns how many.

    Each closes in its own unit of work through the workflow's system rule; one that changed
    meanwhile (rated, reviewed) is refused by the rule and left alone.
    """
    moment = moment or now()
    return sum(actions.close_unrated(petition_id) for petition_id in unrated_due_ids(moment, batch))
