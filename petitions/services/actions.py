"""Handling a petition: `perform` takes any action of the workflow, for every face and the system.

A page, an API view, a CLI command or a job calls `perform(petition, action, actor, version,
**fields)`. It checks, in this order: that the actor may see the petition (else NotFound,
so nothing leaks), that the version is the one the actor saw (else Conflict: someone
else changed it), what petitions.domain.workflow says (Forbidden for an action that is
not the actor's, Conflict for one the state does not allow), and the fields
(ValidationFailed). Only then does it change the petition, its clocks and its records,
record one event, and commit the unit of work (petitions.services.uow), whose effects
table does what follows; on any refusal it changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from petitions.domain import workflow as wf
from petitions.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from petitions.extensions import db, settings
from petitions.i18n import gettext
from petitions.i18n import lazy_gettext as _l
from petitions.models import (
    Category,
    CategoryKind,
    ExtensionRequest,
    ExtensionStatus,
    FollowUp,
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
from petitions.services import clocks, records
from petitions.services.access import SYSTEM, Actor, CodeHolder, can_view, reviewer_unit, scopes
from petitions.services.records import KIND_BY_ROUND, Record
from petitions.services.uow import UnitOfWork

STALE = _l("Someone else changed this petition — reload it and try again.")
REQUIRED = _l("This field is required.")
PLACE_KINDS = {UnitKind.TOWNSHIP.value, UnitKind.COMMITTEE.value}
FOLLOW_UP_OUTCOMES = ("reached", "unreachable", "declined")


def status_label(status: str) -> str:
    return gettext(wf.STATUS_LABELS.get(status, status))


# ---------------------------------------------------------------- loading


def load(petition_or_tracking_no: Petition | str, *, lock: bool = True) -> Petition:
    """The petition with its clocks, category and unit, re-read from the database (and
    row-locked on PostgreSQL while we act)."""
    if isinstance(petition_or_tracking_no, Petition):
        where = Petition.id == petition_or_tracking_no.id
    else:
        where = Petition.tracking_no == (petition_or_tracking_no or "").strip()
    stmt = (
        select(Petition)
        .where(where)
        .options(
            joinedload(Petition.clocks),
            joinedload(Petition.category),
            joinedload(Petition.unit),
            joinedload(Petition.township),
        )
        .execution_options(populate_existing=True)
    )
    if lock:
        stmt = stmt.with_for_update(of=Petition)
    petition = db.session.scalars(stmt).unique().one_or_none()
    if petition is None:
        raise NotFound(_l("No such petition."))
    return petition


def state_of(petition: Petition, record: Record | None = None) -> wf.State:
    """The petition as the workflow sees it (its sub-records read now unless given)."""
    return records.state_of(petition, record if record is not None else records.of(petition))


def pending_draft(petition: Petition, record: Record | None = None) -> Reply | None:
    """The reply draft of the current round that waits for the leader, if any."""
    row = (record or records.of(petition)).pending_draft
    return db.session.get(Reply, row.id) if row is not None else None


def latest_issued(petition: Petition, record: Record | None = None) -> Reply | None:
    row = (record or records.of(petition)).latest_issued
    return db.session.get(Reply, row.id) if row is not None else None


# ---------------------------------------------------------------- performing


@dataclass
class Change:
    """What a change adds to the event it records."""

    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    unit_id: int | None = None
    days: int = 0
    # Start(…, "petition") clocks belong to this unit (the new one, when routing).
    clock_unit: Unit | None = None


@dataclass
class Context:
    """What a change may read: the unit of work, the actor, the rule, the fields, the record."""

    work: UnitOfWork
    actor: Actor
    rule: wf.Rule
    fields: dict[str, Any]
    record: Record

    @property
    def at(self) -> datetime:
        return self.work.at

    @property
    def user(self) -> User | None:
        return self.actor if isinstance(self.actor, User) else None


def perform(
    petition_or_tracking_no: Petition | str,
    action: str,
    actor: Actor,
    version: int | None,
    **fields: Any,
) -> Petition:
    """Take `action` on a petition as `actor`, who saw it at `version`; commit. See the module doc."""
    work = UnitOfWork()
    try:
        petition = load(petition_or_tracking_no)
        act(work, petition, action, actor, version, fields)
        work.commit()
        return petition
    except (StaleDataError, IntegrityError):
        # Another transaction changed the row between our read and our write, or a unique rule
        # caught a concurrent twin (a second rating of the same reply, ...).
        work.rollback()
        raise Conflict(STALE, code="stale") from None
    except BaseException:
        work.rollback()
        raise


def act(
    work: UnitOfWork, petition: Petition, action: str, actor: Actor, version: int | None, fields: dict
) -> Petition:
    """The action within the caller's unit of work (filing routes this way, in its own)."""
    record = records.of(petition) if petition.id is not None else Record()
    if not can_view(actor, petition, record):
        raise NotFound(_l("No such petition."))
    if action not in wf.ACTIONS:
        raise NotFound(_l("Unknown action."))
    user_actor = not isinstance(actor, CodeHolder) and actor.role not in (Role.CITIZEN.value, wf.SYSTEM)
    if version is None and user_actor:
        raise ValidationFailed(_l("Some fields need correcting."), {"version": REQUIRED})
    if version is not None and version != petition.version:
        raise Conflict(STALE, code="stale")

    state = records.state_of(petition, record, work.at)
    decision = wf.decide(action, actor.role, scopes(actor, petition, record), state)
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
        at = work.at
        from_status = petition.status
        ctx = Context(work, actor, rule, fields, record)
        change = CHANGES.get(rule.change or "", _plain)(petition, ctx)

        if rule.target is not None:
            petition.status = rule.target
        for op in rule.clocks:
            if isinstance(op, wf.Stop):
                clocks.stop_all(work, petition, at)
            elif isinstance(op, wf.Start):
                unit = None
                if op.unit == "petition":
                    unit = change.clock_unit or petition.unit
                elif op.unit == "reviewer":
                    unit = reviewer_unit(petition)
                clocks.start(work, petition, op.kind, unit, at)
            elif isinstance(op, wf.Extend):
                clock = next((c for c in petition.clocks if c.stopped_at is None and c.kind == op.kind), None)
                if clock is None:
                    raise Conflict(_l("No time limit is running that could be extended."), code="not_allowed")
                clocks.extend(work, clock, change.days)
                change.data["due_at"] = clock.due_at.isoformat()
        if rule.target == wf.CLOSED:
            petition.closed_at = at

        user = ctx.user
        data = {"action": action, **change.data}
        if isinstance(actor, CodeHolder):
            data["by"] = "query_code"
        work.record(
            petition,
            rule.event,
            actor=user,
            from_status=from_status,
            to_status=petition.status,
            text=change.text,
            unit_id=change.unit_id if change.unit_id is not None else (user.unit_id if user else None),
            data=data,
        )
        # Every action moves the version on, also those that change no column (notes, urging).
        petition.updated_at = at
        flag_modified(petition, "updated_at")
    return petition


# ---------------------------------------------------------------- field checks


def _invalid(name: str, why: object) -> ValidationFailed:
    return ValidationFailed(_l("Some fields need correcting."), {name: why})


def _text(fields: dict, name: str, *, required: bool = True, limit: int | None = None) -> str:
    value = fields.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _invalid(name, _l("Must be text."))
    if required and not value:
        raise _invalid(name, REQUIRED)
    limit = limit or settings().content_max
    if len(value) > limit:
        raise _invalid(name, _l("At most %(n)s characters.", n=limit))
    return value


def _unit_by_code(code: object) -> Unit | None:
    if not isinstance(code, str) or not code:
        return None
    return db.session.scalar(select(Unit).where(Unit.code == code))


# ---------------------------------------------------------------- changes (one per kind of rule)

ChangeFn = Callable[[Petition, Context], Change]


def _plain(petition: Petition, ctx: Context) -> Change:
    """note, urge, close: the text is the event's."""
    rule = ctx.rule
    name = "text" if "text" in rule.required + rule.optional else None
    return Change(text=_text(ctx.fields, name, required=name in rule.required) if name else "")


def _register(petition: Petition, ctx: Context) -> Change:
    changes: dict[str, Any] = {}
    code = ctx.fields.get("category")
    if code:
        category = db.session.scalar(select(Category).where(Category.code == code))
        if category is None or not category.active or not category.selectable:
            raise _invalid("category", _l("Unknown category."))
        if category.id != petition.category_id:
            changes["category"] = [petition.category.code, category.code]
            petition.category = category
    code = ctx.fields.get("township")
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


def _route(petition: Petition, ctx: Context) -> Change:
    unit = ctx.fields.get("unit")
    if not isinstance(unit, Unit):
        unit = _unit_by_code(unit)
    if unit is None or not unit.active:
        raise _invalid("unit", _l("Unknown or inactive unit."))
    # A unit never handles, or learns of, a report about itself: reports go to the discipline office.
    is_report = petition.category.kind == CategoryKind.REPORT
    if is_report and (unit.id == petition.township_id or unit.kind != UnitKind.DISCIPLINE):
        raise _invalid("unit", _l("Reports of misconduct are routed to the discipline office only."))
    if unit.id is not None and unit.id == petition.unit_id:
        raise _invalid("unit", _l("The petition is already with this unit."))
    previous = petition.unit.code if petition.unit else None
    petition.unit = unit
    petition.handler = None
    petition.routed_at = ctx.at
    how = "automatic" if ctx.actor.role == wf.SYSTEM else "manual"
    return Change(unit_id=unit.id, clock_unit=unit, data={"unit": unit.code, "rule": how, "from": previous})


def _return(petition: Petition, ctx: Context) -> Change:
    unit = petition.unit
    petition.unit = None
    petition.handler = None
    return Change(
        text=_text(ctx.fields, "reason"), unit_id=unit.id if unit else None, data={"unit": unit.code}
    )


def _accept(petition: Petition, ctx: Context) -> Change:
    petition.accepted_at = ctx.at
    data: dict[str, Any] = {}
    # The handler who accepts handles it (the leader may assign another).
    if ctx.user is not None and ctx.user.role == Role.HANDLER.value:
        petition.handler = ctx.user
        data["handler"] = ctx.user.username
    return Change(unit_id=petition.unit_id, data=data)


def _decline(petition: Petition, ctx: Context) -> Change:
    reason = _text(ctx.fields, "reason")
    channel = _text(ctx.fields, "channel", limit=settings().channel_text_max)
    return Change(text=reason, unit_id=petition.unit_id, data={"channel": channel})


def _assign(petition: Petition, ctx: Context) -> Change:
    username = ctx.fields.get("handler")
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


def _draft(petition: Petition, ctx: Context) -> Change:
    text = _text(ctx.fields, "text")
    kind = KIND_BY_ROUND[ctx.record.review_round]
    unit = _answer_unit(petition, ctx.rule)
    db.session.add(
        Reply(
            petition=petition,
            kind=kind,
            unit=unit,
            draft_text=text,
            drafted_by_id=ctx.actor.id,
            drafted_at=ctx.at,
        )
    )
    return Change(text=text, unit_id=unit.id if unit else None, data={"kind": kind})


def _issue_now(petition: Petition, ctx: Context, kind: str, unit: Unit | None, text: str) -> None:
    """A reply written and signed by the same person at once (a leader's own reply, on the spot)."""
    reply = Reply(
        petition=petition,
        kind=kind,
        unit=unit,
        draft_text=text,
        text=text,
        drafted_by_id=ctx.actor.id,
        drafted_at=ctx.at,
        signed_by_id=ctx.actor.id,
        issued_at=ctx.at,
    )
    db.session.add(reply)
    _issued(petition, reply, ctx.at)


def _issued(petition: Petition, reply: Reply, at: datetime) -> None:
    if reply.kind == ReplyKind.REPLY:
        petition.replied_at = at


def _issue(petition: Petition, ctx: Context) -> Change:
    text = _text(ctx.fields, "text")
    kind = KIND_BY_ROUND[ctx.record.review_round]
    unit = _answer_unit(petition, ctx.rule)
    _issue_now(petition, ctx, kind, unit, text)
    return Change(text=text, unit_id=unit.id if unit else None, data={"kind": kind})


def _sign(petition: Petition, ctx: Context) -> Change:
    draft = pending_draft(petition, ctx.record)
    assert draft is not None  # the workflow guard checked it
    edited = _text(ctx.fields, "text", required=False)
    draft.text = edited or draft.draft_text
    draft.signed_by_id = ctx.actor.id
    draft.issued_at = ctx.at
    _issued(petition, draft, ctx.at)
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
    most = settings().max_extension_days
    if not 1 <= days <= most:
        raise _invalid("days", _l("An extension is 1 to %(n)s days.", n=most))
    return days


def _extension_request(petition: Petition, ctx: Context) -> Change:
    days = _days(ctx.fields)
    reason = _text(ctx.fields, "reason")
    clock = petition.open_clock
    db.session.add(
        ExtensionRequest(
            petition=petition,
            clock_id=clock.id if clock else None,
            days=days,
            reason=reason,
            status=ExtensionStatus.PENDING,
            requested_by_id=ctx.actor.id,
            requested_at=ctx.at,
        )
    )
    return Change(text=reason, unit_id=petition.unit_id, data={"days": days})


def _pending_extension(ctx: Context) -> ExtensionRequest:
    request_id = ctx.record.pending_extension_id
    assert request_id is not None  # the workflow guard checked it
    return db.session.get(ExtensionRequest, request_id)


def _extension_approve(petition: Petition, ctx: Context) -> Change:
    req = _pending_extension(ctx)
    req.status = ExtensionStatus.APPROVED
    req.decided_by_id = ctx.actor.id
    req.decided_at = ctx.at
    # The reason is told to the citizen (domain.md: extension, reason told to the citizen).
    return Change(text=req.reason, unit_id=petition.unit_id, days=req.days, data={"days": req.days})


def _extension_reject(petition: Petition, ctx: Context) -> Change:
    req = _pending_extension(ctx)
    reason = _text(ctx.fields, "reason")
    req.status = ExtensionStatus.REJECTED
    req.decided_by_id = ctx.actor.id
    req.decided_at = ctx.at
    req.decision_reason = reason
    return Change(text=reason, unit_id=petition.unit_id, data={"days": req.days})


def _on_spot(petition: Petition, ctx: Context) -> Change:
    text = _text(ctx.fields, "text")
    unit = petition.unit or (ctx.user.unit if ctx.user else None)
    _issue_now(petition, ctx, ReplyKind.REPLY, unit, text)
    return Change(text=text, unit_id=unit.id if unit else None)


def _merge(petition: Petition, ctx: Context) -> Change:
    tracking_no = ctx.fields.get("duplicate_of")
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
    return Change(text=earlier.tracking_no, data={"duplicate_of": earlier.tracking_no})


def _rate(petition: Petition, ctx: Context) -> Change:
    score = ctx.fields.get("score")
    if score not in Score.values():
        raise _invalid("score", _l("Must be one of: %(expected)s.", expected=", ".join(Score.values())))
    comment = _text(ctx.fields, "comment", required=False)
    reply = ctx.record.latest_issued
    assert reply is not None  # the workflow guard checked it
    channel = ctx.fields.get("channel") or "web"
    if not isinstance(channel, str) or len(channel) > 16:
        raise _invalid("channel", _l("Unknown channel."))
    db.session.add(
        Rating(
            petition=petition,
            reply_no=reply.number,
            score=score,
            comment=comment,
            channel=channel,
            unit_id=reply.unit_id,
            created_at=ctx.at,
        )
    )
    return Change(unit_id=reply.unit_id, data={"score": score, "reply_no": reply.number})


def _review_request(petition: Petition, ctx: Context) -> Change:
    reason = _text(ctx.fields, "reason")
    unit = reviewer_unit(petition)
    if unit is None:  # pragma: no cover - a replied petition always has a unit
        raise Conflict(_l("There is no unit to review this reply."), code="not_allowed")
    kind = "review" if petition.status == wf.REPLIED else "rereview"
    citizen_id = ctx.actor.id if isinstance(ctx.actor, User) else petition.citizen_id
    db.session.add(
        ReviewRequest(
            petition=petition,
            kind=kind,
            reason=reason,
            unit_id=unit.id,
            citizen_id=citizen_id,
            requested_at=ctx.at,
        )
    )
    return Change(text=reason, unit_id=unit.id, data={"kind": kind, "unit": unit.code})


def _unrated(petition: Petition, ctx: Context) -> Change:
    """The system closes a reply its citizen left unrated for the days allowed."""
    reply = ctx.record.latest_issued
    assert reply is not None  # the workflow guard checked it
    days = settings().rating_window_days
    return Change(
        text=gettext("Closed: the reply was not rated within %(days)s days.", days=days),
        unit_id=petition.unit_id,
        data={"reason": "unrated", "reply_no": reply.number},
    )


def _follow_up(petition: Petition, ctx: Context) -> Change:
    """回访: the unit's (or the bureau's) call, visit or letter to the citizen, with its outcome.
    It never changes the citizen's own rating."""
    fields = ctx.fields
    errors: dict[str, object] = {}
    outcome = fields.get("outcome")
    if outcome not in FOLLOW_UP_OUTCOMES:
        errors["outcome"] = _l("Must be one of: %(expected)s.", expected=", ".join(FOLLOW_UP_OUTCOMES))
    view = fields.get("citizen_view") or None
    if view not in (None, *Score.values()):
        errors["citizen_view"] = _l("Must be one of: %(expected)s.", expected=", ".join(Score.values()))
    spoke_with = fields.get("spoke_with") or ""
    notes = fields.get("notes") or ""
    s = settings()
    if not isinstance(spoke_with, str) or len(spoke_with) > s.name_max:
        errors["spoke_with"] = _l("At most %(max_length)s characters.", max_length=s.name_max)
    if not isinstance(notes, str) or len(notes) > s.follow_up_notes_max:
        errors["notes"] = _l("At most %(max_length)s characters.", max_length=s.follow_up_notes_max)
    if errors:
        raise ValidationFailed(_l("Some fields need correcting."), errors)
    user = ctx.user
    db.session.add(
        FollowUp(
            petition=petition,
            unit_id=user.unit_id if user else None,
            called_by_id=user.id if user else None,
            spoke_with=spoke_with.strip(),
            outcome=outcome,
            citizen_view=view,
            notes=notes.strip(),
            at=ctx.at,
        )
    )
    return Change(text=notes.strip(), data={"outcome": outcome, "citizen_view": view})


CHANGES: dict[str, ChangeFn] = {
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
    "unrated": _unrated,
    "follow_up": _follow_up,
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


def close_unrated(petition_id: int) -> bool:
    """The system closes one petition whose reply went unrated for its days; False when it need
    not (rated, reviewed or changed meanwhile)."""
    try:
        perform(load(db.session.get(Petition, petition_id)), "close", SYSTEM, None)
    except (Conflict, Forbidden, NotFound):
        db.session.rollback()
        return False
    return True
