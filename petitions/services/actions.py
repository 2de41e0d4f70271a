"""The service layer of handling: `perform` takes any action on a petition, for every face.

A page, an API view, a CLI command or a job calls `perform(petition, action, actor, version,
**fields)`. It checks, in this order: that the actor may see the petition (else NotFound,
so nothing leaks), that the version is the one the actor saw (else Conflict: someone
else changed it), what petitions.domain.workflow says (Forbidden for an action that is not the
actor's, Conflict for one the state does not allow), and the fields (ValidationFailed).
Only then does it change the petition, its clocks and its records, write one event, and
commit — or, on any refusal, change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from config.limits import MAX_EXTENSION_DAYS
from petitions.domain import workflow as wf
from petitions.domain.clocks import as_utc, now
from petitions.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from petitions.extensions import db
from petitions.models import (
    Category,
    CategoryKind,
    Clock,
    ExtensionRequest,
    ExtensionStatus,
    Petition,
    Rating,
    Reply,
    ReplyKind,
    ReviewRequest,
    Role,
    Score,
    Unit,
    UnitKind,
    User,
)
from petitions.services import clocks, history
from petitions.services.access import Actor, CodeHolder, can_view, reviewer_unit, scopes
from petitions.web.presenters import status_label

STALE = _l("Someone else changed this petition — reload it and try again.")
REQUIRED = _l("This field is required.")
KIND_BY_ROUND = {
    wf.FIRST_REPLY: ReplyKind.REPLY.value,
    wf.REVIEW: ReplyKind.REVIEW.value,
    wf.REREVIEW: ReplyKind.REREVIEW.value,
}
REPLY_NO = {ReplyKind.REPLY.value: 1, ReplyKind.REVIEW.value: 2, ReplyKind.REREVIEW.value: 3}
CITIZEN_WINDOWS = ("review_request", "rereview_request")
SATISFIED = {Score.SATISFIED.value, Score.BASICALLY_SATISFIED.value}
PLACE_KINDS = {UnitKind.TOWNSHIP.value, UnitKind.COMMITTEE.value}


# ---------------------------------------------------------------- reading the sub-state


def _replies(petition: Petition) -> list[Reply]:
    return list(db.session.scalars(select(Reply).where(Reply.petition_id == petition.id).order_by(Reply.id)))


def review_round(petition: Petition) -> int:
    n = len(
        db.session.scalars(select(ReviewRequest.id).where(ReviewRequest.petition_id == petition.id)).all()
    )
    return min(n, wf.REREVIEW)


def pending_draft(petition: Petition) -> Reply | None:
    """The reply draft of the current round that waits for the leader, if any."""
    kind = KIND_BY_ROUND[review_round(petition)]
    latest = next((r for r in reversed(_replies(petition)) if r.kind == kind), None)
    return latest if latest is not None and latest.issued_at is None else None


def latest_issued(petition: Petition) -> Reply | None:
    return next((r for r in reversed(_replies(petition)) if r.issued_at is not None), None)


def rating_for(petition: Petition, reply: Reply | None) -> Rating | None:
    if reply is None:
        return None
    return db.session.scalar(
        select(Rating).where(Rating.petition_id == petition.id, Rating.reply_no == REPLY_NO[reply.kind])
    )


def _extension(petition: Petition) -> str:
    statuses = db.session.scalars(
        select(ExtensionRequest.status).where(ExtensionRequest.petition_id == petition.id)
    ).all()
    if ExtensionStatus.APPROVED in statuses:
        return wf.EXT_APPROVED
    if ExtensionStatus.PENDING in statuses:
        return wf.EXT_PENDING
    return wf.EXT_NONE


def window_clock(petition: Petition) -> Clock | None:
    """The citizen's open review or re-review request window, if one runs."""
    clock = petition.open_clock
    return clock if clock is not None and clock.kind in CITIZEN_WINDOWS else None


def rating_window_days() -> int:
    return int(current_app.config.get("RATING_WINDOW_DAYS", 30))


def rating_deadline(reply: Reply) -> datetime:
    """When the citizen's days for rating a reply end (满意度评价, RATING_WINDOW_DAYS after it)."""
    assert reply.issued_at is not None
    return as_utc(reply.issued_at) + timedelta(days=rating_window_days())


def state_of(petition: Petition) -> wf.State:
    """The petition as petitions.domain.workflow sees it: status plus the sub-states its rules read."""
    reply = latest_issued(petition)
    rating = rating_for(petition, reply)
    window = window_clock(petition)
    return wf.State(
        status=petition.status,
        draft_pending=pending_draft(petition) is not None,
        extension=_extension(petition),
        review_round=review_round(petition),
        window_open=window is not None and now() < window.due_at,
        has_reply=reply is not None,
        rated=rating is not None,
        satisfied=rating is not None and rating.score in SATISFIED,
        rating_open=reply is None or reply.issued_at is None or now() < rating_deadline(reply),
        is_report=petition.category.kind == CategoryKind.REPORT,
    )


# ---------------------------------------------------------------- performing


@dataclass
class Change:
    """What an effect adds to the event it writes."""

    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    unit_id: int | None = None
    days: int = 0
    # Start(…, "petition") clocks belong to this unit (the new one, when routing).
    clock_unit: Unit | None = None


def load(petition_or_tracking_no: Petition | str, *, lock: bool = True) -> Petition:
    """The petition, re-read from the database (and row-locked on PostgreSQL while we act)."""
    if isinstance(petition_or_tracking_no, Petition):
        where = Petition.id == petition_or_tracking_no.id
    else:
        where = Petition.tracking_no == (petition_or_tracking_no or "").strip()
    stmt = select(Petition).where(where).execution_options(populate_existing=True)
    if lock:
        stmt = stmt.with_for_update(of=Petition)
    petition = db.session.scalar(stmt)
    if petition is None:
        raise NotFound(_l("No such petition."))
    return petition


def perform(
    petition_or_tracking_no: Petition | str,
    action: str,
    actor: Actor,
    version: int | None,
    **fields: Any,
) -> Petition:
    """Take `action` on a petition as `actor`, who saw it at `version`; commit. See the module doc."""
    try:
        petition = load(petition_or_tracking_no)
        result = _perform(petition, action, actor, version, fields)
        db.session.commit()
        return result
    except StaleDataError:
        # Another transaction changed the row between our read and our write.
        db.session.rollback()
        raise Conflict(STALE, code="stale") from None
    except IntegrityError:
        # A unique rule caught a concurrent twin (a second rating of the same reply, ...).
        db.session.rollback()
        raise Conflict(STALE, code="stale") from None
    except BaseException:
        db.session.rollback()
        raise


def _perform(petition: Petition, action: str, actor: Actor, version: int | None, fields: dict) -> Petition:
    if not can_view(actor, petition):
        raise NotFound(_l("No such petition."))
    if action not in wf.ACTIONS:
        raise NotFound(_l("Unknown action."))
    if version is None and not isinstance(actor, CodeHolder) and actor.role != Role.CITIZEN:
        raise ValidationFailed(_l("Some fields need correcting."), {"version": REQUIRED})
    if version is not None and version != petition.version:
        raise Conflict(STALE, code="stale")

    state = state_of(petition)
    decision = wf.decide(action, actor.role, scopes(actor, petition), state)
    if decision.outcome == wf.FORBIDDEN:
        raise Forbidden(gettext(decision.reason))
    if not decision.allowed:
        params = dict(decision.params)
        if "status" in params:
            params["status"] = status_label(params["status"])
        raise Conflict(gettext(decision.reason, **params), code="not_allowed")
    rule = decision.rule
    assert rule is not None

    fields = {k: (v.strip() if isinstance(v, str) else v) for k, v in fields.items()}
    missing = wf.missing_fields(rule, fields)
    if missing:
        raise ValidationFailed(_l("Some fields need correcting."), {name: REQUIRED for name in missing})

    # One UPDATE of the petition per action: no flush half-way (each would move the version on).
    with db.session.no_autoflush:
        at = now()
        from_status = petition.status
        effect = EFFECTS.get(rule.effect or "", _plain)
        change = effect(petition, actor, rule, fields, at)

        if rule.target is not None:
            petition.status = rule.target
        for op in rule.clocks:
            if isinstance(op, wf.Stop):
                clocks.stop_all(petition, at)
            elif isinstance(op, wf.Start):
                unit = None
                if op.unit == "petition":
                    unit = change.clock_unit or petition.unit
                elif op.unit == "reviewer":
                    unit = reviewer_unit(petition)
                clocks.start(petition, op.kind, unit, at)
            elif isinstance(op, wf.Extend):
                clock = next((c for c in petition.clocks if c.stopped_at is None and c.kind == op.kind), None)
                if clock is None:
                    raise Conflict(_l("No time limit is running that could be extended."), code="not_allowed")
                clocks.extend(clock, change.days)
                change.data["due_at"] = clock.due_at.isoformat()
        if rule.target == wf.CLOSED:
            petition.closed_at = at

        user = actor if isinstance(actor, User) else None
        data = {"action": action, **change.data}
        if isinstance(actor, CodeHolder):
            data["by"] = "query_code"
        history.record(
            petition,
            rule.event,
            actor=user,
            from_status=from_status,
            to_status=petition.status,
            text=change.text,
            public=rule.public,
            unit_id=change.unit_id if change.unit_id is not None else (user.unit_id if user else None),
            data=data,
        )
        # Every action moves the version on, also those that change no column (notes, urging).
        petition.updated_at = at
        flag_modified(petition, "updated_at")
    db.session.flush()
    return petition


# ---------------------------------------------------------------- field checks


def _invalid(name: str, why: object) -> ValidationFailed:
    return ValidationFailed(_l("Some fields need correcting."), {name: why})


def _text(fields: dict, name: str, *, required: bool = True) -> str:
    value = fields.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _invalid(name, _l("Must be text."))
    if required and not value:
        raise _invalid(name, REQUIRED)
    limit = current_app.config["CONTENT_MAX"]
    if len(value) > limit:
        raise _invalid(name, _l("At most %(n)s characters.", n=limit))
    return value


def _unit_by_code(code: object) -> Unit | None:
    if not isinstance(code, str) or not code:
        return None
    return db.session.scalar(select(Unit).where(Unit.code == code))


# ---------------------------------------------------------------- effects (one per kind of action)

Effect = Callable[[Petition, Actor, wf.Rule, dict, Any], Change]


def _plain(petition: Petition, actor: Actor, rule: wf.Rule, fields: dict, at) -> Change:
    """note, urge, close: the text is the event's."""
    name = "text" if "text" in rule.required + rule.optional else None
    return Change(text=_text(fields, name, required=name in rule.required) if name else "")


def _register(petition: Petition, actor: Actor, rule: wf.Rule, fields: dict, at) -> Change:
    changes: dict[str, Any] = {}
    code = fields.get("category")
    if code:
        category = db.session.scalar(select(Category).where(Category.code == code))
        if category is None or not category.active or not category.selectable:
            raise _invalid("category", _l("Unknown category."))
        if category.id != petition.category_id:
            changes["category"] = [petition.category.code, category.code]
            petition.category = category
    code = fields.get("township")
    if code:
        township = _unit_by_code(code)
        if township is None or not township.active or township.kind not in PLACE_KINDS:
            raise _invalid("township", _l("Unknown township or area."))
        if township.id != petition.township_id:
            changes["township"] = [petition.township.code if petition.township else None, township.code]
            petition.township = township
    if petition.anonymous and not petition.category.allows_anonymous:
        raise _invalid("category", _l("Only reports of misconduct may be filed anonymously."))
    return Change(data={"changes": changes})


def _route(petition: Petition, actor: Actor, rule: wf.Rule, fields: dict, at) -> Change:
    unit = _unit_by_code(fields.get("unit"))
    if unit is None or not unit.active:
        raise _invalid("unit", _l("Unknown or inactive unit."))
    # A unit never handles, or learns of, a report about itself: reports go to the discipline office.
    is_report = petition.category.kind == CategoryKind.REPORT
    if is_report and (unit.id == petition.township_id or unit.kind != UnitKind.DISCIPLINE):
        raise _invalid("unit", _l("Reports of misconduct are routed to the discipline office only."))
    if unit.id == petition.unit_id:
        raise _invalid("unit", _l("The petition is already with this unit."))
    previous = petition.unit.code if petition.unit else None
    petition.unit = unit
    petition.handler = None
    petition.routed_at = at
    return Change(
        unit_id=unit.id, clock_unit=unit, data={"unit": unit.code, "rule": "manual", "from": previous}
    )


def _return(petition: Petition, actor: Actor, rule: wf.Rule, fields: dict, at) -> Change:
    unit = petition.unit
    petition.unit = None
    petition.handler = None
    return Change(text=_text(fields, "reason"), unit_id=unit.id if unit else None, data={"unit": unit.code})


def _accept(petition: Petition, actor: Actor, rule: wf.Rule, fields: dict, at) -> Change:
    petition.accepted_at = at
    return Change(unit_id=petition.unit_id)


def _decline(petition: Petition, actor: Actor, rule: wf.Rule, fields: dict, at) -> Change:
    reason = _text(fields, "reason")
    channel = _text(fields, "channel")
    if len(channel) > 200:
        raise _invalid("channel", _l("At most %(n)s characters.", n=200))
    return Change(text=reason, unit_id=petition.unit_id, data={"channel": channel})


def _assign(petition: Petition, actor: Actor, rule: wf.Rule, fields: dict, at) -> Change:
    username = fields.get("handler")
    handler = (
        db.session.scalar(select(User).where(User.username == username))
        if isinstance(username, str)
        else None
    )
    if (
        handler is None
        or not handler.active
        or handler.role != Role.HANDLER
        or handler.unit_id is None
        or handler.unit_id != petition.unit_id
    ):
        raise _invalid("handler", _l("Choose a handler of this petition's unit."))
    petition.handler = handler
    return Change(unit_id=petition.unit_id, data={"handler": handler.username})


def _answer_unit(petition: Petition, rule: wf.Rule) -> Unit | None:
    return reviewer_unit(petition) if rule.scope == wf.REVIEWER else petition.unit


def _draft(petition: Petition, actor: Actor, rule: wf.Rule, fields: dict, at) -> Change:
    text = _text(fields, "text")
    kind = KIND_BY_ROUND[review_round(petition)]
    unit = _answer_unit(petition, rule)
    db.session.add(
        Reply(petition=petition, kind=kind, unit=unit, draft_text=text, drafted_by_id=actor.id, drafted_at=at)
    )
    return Change(text=text, unit_id=unit.id if unit else None, data={"kind": kind})


def _issued(petition: Petition, reply: Reply, at) -> None:
    if reply.kind == ReplyKind.REPLY:
        petition.replied_at = at


def _issue(petition: Petition, actor: Actor, rule: wf.Rule, fields: dict, at) -> Change:
    text = _text(fields, "text")
    kind = KIND_BY_ROUND[review_round(petition)]
    unit = _answer_unit(petition, rule)
    reply = Reply(
        petition=petition,
        kind=kind,
        unit=unit,
        draft_text=text,
        text=text,
        drafted_by_id=actor.id,
        drafted_at=at,
        signed_by_id=actor.id,
        issued_at=at,
    )
    db.session.add(reply)
    _issued(petition, reply, at)
    return Change(text=text, unit_id=unit.id if unit else None, data={"kind": kind})


def _sign(petition: Petition, actor: Actor, rule: wf.Rule, fields: dict, at) -> Change:
    draft = pending_draft(petition)
    assert draft is not None  # the workflow guard checked it
    edited = _text(fields, "text", required=False)
    draft.text = edited or draft.draft_text
    draft.signed_by_id = actor.id
    draft.issued_at = at
    _issued(petition, draft, at)
    return Change(
        text=draft.text,
        unit_id=draft.unit_id,
        data={
            "kind": draft.kind,
            "edited": bool(edited and edited != draft.draft_text),
            "drafted_by": draft.drafted_by_id,
        },
    )


def _days(fields: dict) -> int:
    raw = fields.get("days")
    try:
        days = int(raw) if not isinstance(raw, bool) else None
    except (TypeError, ValueError):
        days = None
    if days is None or str(raw).strip() not in (str(days),):
        raise _invalid("days", _l("Must be a whole number."))
    if not 1 <= days <= MAX_EXTENSION_DAYS:
        raise _invalid("days", _l("An extension is 1 to %(n)s days.", n=MAX_EXTENSION_DAYS))
    return days


def _extension_request(petition: Petition, actor: Actor, rule: wf.Rule, fields: dict, at) -> Change:
    days = _days(fields)
    reason = _text(fields, "reason")
    clock = petition.open_clock
    db.session.add(
        ExtensionRequest(
            petition=petition,
            clock_id=clock.id if clock else None,
            days=days,
            reason=reason,
            status=ExtensionStatus.PENDING,
            requested_by_id=actor.id,
            requested_at=at,
        )
    )
    return Change(text=reason, unit_id=petition.unit_id, data={"days": days})


def _pending_extension(petition: Petition) -> ExtensionRequest:
    req = db.session.scalar(
        select(ExtensionRequest)
        .where(
            ExtensionRequest.petition_id == petition.id, ExtensionRequest.status == ExtensionStatus.PENDING
        )
        .order_by(ExtensionRequest.id.desc())
        .limit(1)
    )
    assert req is not None  # the workflow guard checked it
    return req


def _extension_approve(petition: Petition, actor: Actor, rule: wf.Rule, fields: dict, at) -> Change:
    req = _pending_extension(petition)
    req.status = ExtensionStatus.APPROVED
    req.decided_by_id = actor.id
    req.decided_at = at
    # The reason is told to the citizen (domain.md: extension, reason told to the citizen).
    return Change(text=req.reason, unit_id=petition.unit_id, days=req.days, data={"days": req.days})


def _extension_reject(petition: Petition, actor: Actor, rule: wf.Rule, fields: dict, at) -> Change:
    req = _pending_extension(petition)
    reason = _text(fields, "reason")
    req.status = ExtensionStatus.REJECTED
    req.decided_by_id = actor.id
    req.decided_at = at
    req.decision_reason = reason
    return Change(text=reason, unit_id=petition.unit_id, data={"days": req.days})


def _on_spot(petition: Petition, actor: Actor, rule: wf.Rule, fields: dict, at) -> Change:
    text = _text(fields, "text")
    unit = petition.unit or (actor.unit if isinstance(actor, User) else None)
    reply = Reply(
        petition=petition,
        kind=ReplyKind.REPLY,
        unit=unit,
        draft_text=text,
        text=text,
        drafted_by_id=actor.id,
        drafted_at=at,
        signed_by_id=actor.id,
        issued_at=at,
    )
    db.session.add(reply)
    _issued(petition, reply, at)
    return Change(text=text, unit_id=unit.id if unit else None)


def _merge(petition: Petition, actor: Actor, rule: wf.Rule, fields: dict, at) -> Change:
    tracking_no = fields.get("duplicate_of")
    earlier = (
        db.session.scalar(select(Petition).where(Petition.tracking_no == tracking_no))
        if isinstance(tracking_no, str)
        else None
    )
    if earlier is None or earlier.id == petition.id:
        raise _invalid("duplicate_of", _l("Unknown petition."))
    # Always point at the original, never at another duplicate.
    while earlier.duplicate_of_id is not None:
        earlier = db.session.get(Petition, earlier.duplicate_of_id)
    if earlier.id == petition.id or earlier.created_at > petition.created_at:
        raise _invalid("duplicate_of", _l("A petition is merged into an earlier one."))
    petition.duplicate_of_id = earlier.id
    history.record(
        earlier,
        "duplicate_merged",
        actor=actor if isinstance(actor, User) else None,
        from_status=earlier.status,
        to_status=earlier.status,
        public=False,
        data={"duplicate": petition.tracking_no},
    )
    earlier.updated_at = at
    flag_modified(earlier, "updated_at")
    return Change(text=earlier.tracking_no, data={"duplicate_of": earlier.tracking_no})


def _rate(petition: Petition, actor: Actor, rule: wf.Rule, fields: dict, at) -> Change:
    score = fields.get("score")
    if score not in Score.values():
        raise _invalid("score", _l("Must be one of: %(expected)s.", expected=", ".join(Score.values())))
    comment = _text(fields, "comment", required=False)
    reply = latest_issued(petition)
    assert reply is not None  # the workflow guard checked it
    channel = fields.get("channel") or "web"
    if not isinstance(channel, str) or len(channel) > 16:
        raise _invalid("channel", _l("Unknown channel."))
    db.session.add(
        Rating(
            petition=petition,
            reply_no=REPLY_NO[reply.kind],
            score=score,
            comment=comment,
            channel=channel,
            unit_id=reply.unit_id,
            created_at=at,
        )
    )
    return Change(unit_id=reply.unit_id, data={"score": score, "reply_no": REPLY_NO[reply.kind]})


def _review_request(petition: Petition, actor: Actor, rule: wf.Rule, fields: dict, at) -> Change:
    reason = _text(fields, "reason")
    unit = reviewer_unit(petition)
    if unit is None:  # pragma: no cover - a replied petition always has a unit
        raise Conflict(_l("There is no unit to review this reply."), code="not_allowed")
    kind = "review" if petition.status == wf.REPLIED else "rereview"
    citizen_id = actor.id if isinstance(actor, User) else petition.citizen_id
    db.session.add(
        ReviewRequest(
            petition=petition,
            kind=kind,
            reason=reason,
            unit_id=unit.id,
            citizen_id=citizen_id,
            requested_at=at,
        )
    )
    return Change(text=reason, unit_id=unit.id, data={"kind": kind, "unit": unit.code})


EFFECTS: dict[str, Effect] = {
    "register": _register,
    "route": _route,
    "return": _return,
    "accept": _accept,
    "decline": _decline,
    "assign": _assign,
    "draft": _draft,
    "issue": _issue,
    "sign": _sign,
    "extension_request": _extension_request,
    "extension_approve": _extension_approve,
    "extension_reject": _extension_reject,
    "on_spot": _on_spot,
    "merge": _merge,
    "rate": _rate,
    "review_request": _review_request,
}


# ---------------------------------------------------------------- the citizen's side, by name


def rate(
    petition: Petition | str,
    score: str,
    comment: str = "",
    *,
    actor: Actor | None = None,
    channel: str = "web",
) -> Petition:
    """The citizen rates the latest reply (once per reply). `actor` defaults to the query-code holder."""
    p = petition if isinstance(petition, Petition) else load(petition, lock=False)
    return perform(p, "rate", actor or CodeHolder(p.id), None, score=score, comment=comment, channel=channel)


def request_review(petition: Petition | str, reason: str, *, actor: Actor | None = None) -> Petition:
    """The citizen asks for review (复查) of the reply, or re-review (复核) of the review opinion."""
    p = petition if isinstance(petition, Petition) else load(petition, lock=False)
    action = "rereview-request" if p.status == wf.REVIEW_REPLIED else "review-request"
    return perform(p, action, actor or CodeHolder(p.id), None, reason=reason)
