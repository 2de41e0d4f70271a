"""Who sees what: the one place that decides which petitions a user may see, and how much of them.

- A handler or leader sees their own unit's petitions, and — for the superior unit — the
  petitions whose review (复查/复核) it was asked for. Nothing else: other records are "not found".
- Intake officers (the bureau) see every petition: they route and re-route.
- Supervisors and administrators see everything and change no content.
- A citizen sees their own petitions (logged in, or holding the query code), minus internal notes.
- Contact phone numbers are masked (138****1234) for staff who do not need them; the identity of
  whoever filed a report (检举控告) is shown only to the discipline office and the bureau.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, exists, false, or_, select

from petitions.domain import workflow as wf
from petitions.domain.validation import mask_phone
from petitions.extensions import db
from petitions.models import (
    CategoryKind,
    ExtensionRequest,
    ExtensionStatus,
    Petition,
    Reply,
    ReviewRequest,
    Role,
    Unit,
    UnitKind,
    User,
)

SEE_ALL = {Role.INTAKE.value, Role.SUPERVISOR.value, Role.ADMIN.value}
UNIT_ROLES = {Role.HANDLER.value, Role.LEADER.value}
# Units that may know who filed a report: the discipline office handles it, the bureau registers it.
REPORTER_UNIT_KINDS = {UnitKind.DISCIPLINE.value, UnitKind.BUREAU.value}


@dataclass(frozen=True)
class CodeHolder:
    """Whoever showed a petition's tracking number with its query code: that petition's citizen."""

    petition_id: int
    role: str = Role.CITIZEN.value
    id: int | None = None
    unit_id: int | None = None
    is_staff: bool = False


Actor = User | CodeHolder


def code_holder(tracking_no: str, code: str) -> tuple[Petition, CodeHolder]:
    """The petition and its citizen for a tracking number + query code (NotFound if either is wrong)."""
    from petitions.services.filing import find_for_citizen

    petition = find_for_citizen(tracking_no, code)
    return petition, CodeHolder(petition.id)


# ---------------------------------------------------------------- the bonds between actor and petition


def reviewer_unit(petition: Petition) -> Unit | None:
    """The superior unit that reviews the handling unit's reply (the county government for all units)."""
    unit = petition.unit
    if unit is None:
        return None
    return unit.parent or unit


def reviewing_unit_id(petition: Petition) -> int | None:
    """The unit a review or re-review was asked of, if any (the latest request's)."""
    return db.session.scalar(
        select(ReviewRequest.unit_id)
        .where(ReviewRequest.petition_id == petition.id)
        .order_by(ReviewRequest.id.desc())
        .limit(1)
    )


def _reviewed_by(unit_id: int):
    return exists().where(ReviewRequest.petition_id == Petition.id, ReviewRequest.unit_id == unit_id)


def scopes(actor: Actor | None, petition: Petition) -> set[str]:
    """The workflow scopes that bind `actor` to `petition` (workflow.ANY / OWN / REVIEWER / OWNER)."""
    if actor is None:
        return set()
    if isinstance(actor, CodeHolder):
        return {wf.OWNER} if actor.petition_id == petition.id else set()
    if actor.role == Role.CITIZEN:
        return {wf.OWNER} if petition.citizen_id == actor.id else set()
    found = {wf.ANY}
    if actor.unit_id is not None and actor.unit_id == petition.unit_id:
        found.add(wf.OWN)
    if actor.unit_id is not None and actor.unit_id == reviewing_unit_id(petition):
        found.add(wf.REVIEWER)
    return found


def can_view(actor: Actor | None, petition: Petition) -> bool:
    if actor is None:
        return False
    if isinstance(actor, CodeHolder) or actor.role == Role.CITIZEN:
        return wf.OWNER in scopes(actor, petition)
    if not actor.active:
        return False
    if actor.role in SEE_ALL:
        return True
    if actor.role in UNIT_ROLES:
        return bool({wf.OWN, wf.REVIEWER} & scopes(actor, petition))
    return False


def visible_petitions_query(user: User | None) -> Select:
    """SELECT of the petitions `user` may see (for queues and lists; add filters and paging)."""
    stmt = select(Petition)
    if user is None or not user.active:
        return stmt.where(false())
    if user.role in SEE_ALL:
        return stmt
    if user.role == Role.CITIZEN:
        return stmt.where(Petition.citizen_id == user.id)
    if user.role in UNIT_ROLES and user.unit_id is not None:
        return stmt.where(or_(Petition.unit_id == user.unit_id, _reviewed_by(user.unit_id)))
    return stmt.where(false())


@dataclass
class LeaderInbox:
    """What waits for a unit leader: reply drafts to sign and extension requests to decide."""

    drafts: list[Petition]
    extensions: list[Petition]


def leader_inbox(user: User) -> LeaderInbox:
    """The leader's inbox (their unit's drafts, and review drafts when their unit is the reviewer)."""
    if user.role != Role.LEADER or user.unit_id is None:
        return LeaderInbox([], [])
    from petitions.services import actions

    candidates = db.session.scalars(
        select(Petition)
        .where(
            Petition.status.in_([wf.IN_PROGRESS, wf.UNDER_REVIEW]),
            exists().where(
                Reply.petition_id == Petition.id, Reply.issued_at.is_(None), Reply.unit_id == user.unit_id
            ),
        )
        .order_by(Petition.due_at.is_(None), Petition.due_at, Petition.id)
    ).all()
    drafts = [
        p
        for p in candidates
        if (draft := actions.pending_draft(p)) is not None and draft.unit_id == user.unit_id
    ]
    extensions = db.session.scalars(
        select(Petition)
        .where(
            Petition.unit_id == user.unit_id,
            exists().where(
                ExtensionRequest.petition_id == Petition.id,
                ExtensionRequest.status == ExtensionStatus.PENDING,
            ),
        )
        .order_by(Petition.due_at.is_(None), Petition.due_at, Petition.id)
    ).all()
    return LeaderInbox(drafts, list(extensions))


# ---------------------------------------------------------------- personal data


def sees_reporter(user: User, petition: Petition) -> bool:
    """A report's filer is known only to the discipline office and the bureau, never to a unit."""
    if petition.category.kind != CategoryKind.REPORT:
        return True
    return user.unit is not None and user.unit.kind in REPORTER_UNIT_KINDS


def sees_full_phone(user: User, petition: Petition) -> bool:
    """Intake, the bureau's own staff and the handling unit's leader and handler call the citizen back."""
    if not sees_reporter(user, petition):
        return False
    if user.role == Role.INTAKE:
        return True
    if user.role in UNIT_ROLES:
        if user.unit_id is not None and user.unit_id == petition.unit_id:
            return True
        return user.unit is not None and user.unit.kind == UnitKind.BUREAU
    return False


def contact_view(user: User, petition: Petition) -> dict[str, Any]:
    if petition.anonymous and not (petition.contact_name or petition.contact_phone):
        return {"name": None, "phone": None, "hidden": False, "anonymous": True}
    if not sees_reporter(user, petition):
        return {"name": None, "phone": None, "hidden": True, "anonymous": petition.anonymous}
    phone = petition.contact_phone if sees_full_phone(user, petition) else mask_phone(petition.contact_phone)
    return {
        "name": petition.contact_name,
        "phone": phone or None,
        "hidden": False,
        "anonymous": petition.anonymous,
    }


# ---------------------------------------------------------------- the staff view


def _user_ref(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"username": user.username, "name": user.name, "role": user.role}


def _unit_ref(unit: Unit | None) -> dict[str, Any] | None:
    if unit is None:
        return None
    return {"code": unit.code, "name": unit.name, "name_en": unit.name_en, "kind": unit.kind}


def staff_view(user: User, petition: Petition) -> dict[str, Any]:
    """Everything a staff member may know of a petition: events with internal notes, clocks, drafts.

    The caller has checked `can_view`. Citizens' own accounts never appear by name here;
    a report's filer does not appear at all outside the discipline office and the bureau.
    """
    from petitions.services import actions, duplicates, levels
    from petitions.web.presenters import event_text, status_label

    state = actions.state_of(petition)
    reporter_ok = sees_reporter(user, petition)
    events = []
    for ev in petition.events:
        actor = ev.actor
        if actor is not None and not actor.is_staff:
            actor_ref = {"username": None, "name": None, "role": Role.CITIZEN.value}
        else:
            actor_ref = _user_ref(actor)
        events.append(
            {
                "id": ev.id,
                "at": ev.at,
                "type": ev.type,
                "text": ev.text or "",
                "summary": event_text(ev),
                "actor": actor_ref,
                "role": ev.actor_role,
                "unit": _unit_ref(ev.unit),
                "from_status": ev.from_status,
                "to_status": ev.to_status,
                "public": ev.public,
            }
        )
    replies = db.session.scalars(
        select(Reply).where(Reply.petition_id == petition.id).order_by(Reply.id)
    ).all()
    pending_ext = db.session.scalar(
        select(ExtensionRequest)
        .where(
            ExtensionRequest.petition_id == petition.id, ExtensionRequest.status == ExtensionStatus.PENDING
        )
        .order_by(ExtensionRequest.id.desc())
        .limit(1)
    )
    draft = actions.pending_draft(petition) if state.draft_pending else None
    status = levels.clock_status(petition)
    view: dict[str, Any] = {
        "tracking_no": petition.tracking_no,
        "version": petition.version,
        "title": petition.title,
        "content": petition.content,
        "category": {
            "code": petition.category.code,
            "name": petition.category.name,
            "name_en": petition.category.name_en,
            "kind": petition.category.kind,
        },
        "township": _unit_ref(petition.township),
        "status": petition.status,
        "status_label": status_label(petition.status),
        "unit": _unit_ref(petition.unit),
        "handler": _user_ref(petition.handler),
        "channel": petition.channel,
        "anonymous": petition.anonymous,
        "public_consent": petition.public_consent,
        "contact": contact_view(user, petition),
        "address": petition.address if reporter_ok else None,
        "created_at": petition.created_at,
        "routed_at": petition.routed_at,
        "accepted_at": petition.accepted_at,
        "replied_at": petition.replied_at,
        "closed_at": petition.closed_at,
        "due_at": petition.due_at,
        "level": status.level if status else None,
        "duplicate_of": petition_ref(petition.duplicate_of_id),
        "review_round": state.review_round,
        "draft": {
            "kind": draft.kind,
            "text": draft.draft_text,
            "drafted_by": _user_ref(draft.drafted_by),
            "drafted_at": draft.drafted_at,
        }
        if draft
        else None,
        "extension": {
            "days": pending_ext.days,
            "reason": pending_ext.reason,
            "requested_by": _user_ref(pending_ext.requested_by),
            "requested_at": pending_ext.requested_at,
        }
        if pending_ext
        else None,
        "replies": [
            {
                "kind": r.kind,
                "text": r.text,
                "unit": _unit_ref(r.unit),
                "drafted_by": _user_ref(r.drafted_by),
                "signed_by": _user_ref(r.signed_by),
                "issued_at": r.issued_at,
            }
            for r in replies
            if r.issued_at is not None
        ],
        "events": events,
        "attachments": [
            {"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size}
            for a in petition.attachments
        ],
        "clocks": [
            {
                "kind": c.kind,
                "unit": _unit_ref(c.unit),
                "started_at": c.started_at,
                "due_at": c.due_at,
                "statutory_due_at": c.statutory_due_at,
                "allowed_days": c.allowed_days,
                "extended_days": c.extended_days or 0,
                "stopped_at": c.stopped_at,
                "level": levels.level_of(c),
            }
            for c in petition.clocks
        ],
        "actions": wf.allowed_actions(user.role, scopes(user, petition), state),
        "possible_duplicates": [],
    }
    if user.role == Role.INTAKE and petition.status in (wf.REGISTERED, wf.ROUTED):
        view["possible_duplicates"] = [
            {"tracking_no": p.tracking_no, "title": p.title, "created_at": p.created_at, "status": p.status}
            for p in duplicates.find_possible_duplicates(petition)
        ]
    return view


def petition_ref(petition_id: int | None) -> dict[str, Any] | None:
    if petition_id is None:
        return None
    other = db.session.get(Petition, petition_id)
    return {"tracking_no": other.tracking_no, "title": other.title} if other else None
