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

from sqlalchemy import Select, and_, bindparam, case, exists, false, func, or_, select, true, union_all
from sqlalchemy.orm import aliased

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
from petitions.services.records import Record

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


@dataclass(frozen=True)
class SystemActor:
    """The system itself, taking the workflow's system rules (routing at filing, closing an
    unrated reply, the sweep's cards). It has no account and no unit."""

    role: str = wf.SYSTEM
    id: int | None = None
    unit_id: int | None = None
    is_staff: bool = True
    active: bool = True


SYSTEM = SystemActor()
Actor = User | CodeHolder | SystemActor


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


def scopes(actor: Actor | None, petition: Petition, record: Record | None = None) -> set[str]:
    """The workflow scopes that bind `actor` to `petition` (workflow.ANY / OWN / REVIEWER / OWNER).

    `record` (petitions.services.records) answers who reviews it without another query."""
    if actor is None:
        return set()
    if isinstance(actor, CodeHolder):
        return {wf.OWNER} if actor.petition_id == petition.id else set()
    if actor.role == Role.CITIZEN:
        return {wf.OWNER} if petition.citizen_id == actor.id else set()
    found = {wf.ANY}
    if actor.unit_id is not None and actor.unit_id == petition.unit_id:
        found.add(wf.OWN)
    if actor.unit_id is not None and petition.id is not None:
        reviewer = record.reviewing_unit_id if record is not None else reviewing_unit_id(petition)
        if actor.unit_id == reviewer:
            found.add(wf.REVIEWER)
    return found


def can_view(actor: Actor | None, petition: Petition, record: Record | None = None) -> bool:
    if actor is None:
        return False
    if isinstance(actor, SystemActor):
        return True
    if isinstance(actor, CodeHolder) or actor.role == Role.CITIZEN:
        return wf.OWNER in scopes(actor, petition, record)
    if not actor.active:
        return False
    if actor.role in SEE_ALL:
        return True
    if actor.role in UNIT_ROLES:
        return bool({wf.OWN, wf.REVIEWER} & scopes(actor, petition, record))
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


def viewer(user: User | None) -> tuple[str, dict[str, Any]]:
    """What visible_branches depends on: the kind of its conditions ("none", "all", "citizen",
    "unit") and the values of their parameters (a list's statements can be kept per kind)."""
    if user is None or not user.active:
        return "none", {}
    if user.role in SEE_ALL:
        return "all", {}
    if user.role == Role.CITIZEN:
        return "citizen", {"viewer": user.id}
    if user.role in UNIT_ROLES and user.unit_id is not None:
        return "unit", {"viewer_unit": user.unit_id}
    return "none", {}


def visible_branches(user: User | None) -> list[Any]:
    """The same petitions as visible_petitions_query, as conditions that each select rows apart
    and together select them all, each answerable from one index (for keyset pages: a unit's
    own petitions walk (unit_id, due_at, id); the few it reviews come beside them). Their values
    are named parameters bound to the user's, as `viewer` names them."""
    kind, params = viewer(user)
    if kind == "all":
        return [true()]
    if kind == "citizen":
        return [Petition.citizen_id == bindparam("viewer", params["viewer"])]
    if kind == "unit":
        unit = bindparam("viewer_unit", params["viewer_unit"])
        reviewed = select(ReviewRequest.petition_id).where(ReviewRequest.unit_id == unit)
        return [
            Petition.unit_id == unit,
            and_(
                or_(Petition.unit_id != unit, Petition.unit_id.is_(None)),
                Petition.id.in_(reviewed),
            ),
        ]
    return [false()]


@dataclass
class LeaderInbox:
    """What waits for a unit leader: reply drafts to sign and extension requests to decide."""

    drafts: list[Petition]
    extensions: list[Petition]


def _draft_waits_for(unit_id: int):
    """A petition whose latest reply of its current round is an unsigned draft of `unit_id`'s
    (the round: a reply before any review request, a review opinion after one, a re-review
    opinion after two)."""
    reviews = (
        select(func.count(ReviewRequest.id)).where(ReviewRequest.petition_id == Petition.id).scalar_subquery()
    )
    kind = case((reviews == 0, "reply"), (reviews == 1, "review"), else_="rereview")
    newer = aliased(Reply)
    return exists().where(
        Reply.petition_id == Petition.id,
        Reply.kind == kind,
        Reply.issued_at.is_(None),
        Reply.unit_id == unit_id,
        ~exists().where(newer.petition_id == Reply.petition_id, newer.kind == Reply.kind, newer.id > Reply.id),
    )


def leader_inbox(user: User) -> LeaderInbox:
    """The leader's inbox (their unit's drafts, and review drafts when their unit is the reviewer)."""
    if user.role != Role.LEADER or user.unit_id is None:
        return LeaderInbox([], [])
    order = (Petition.due_at.is_(None), Petition.due_at, Petition.id)
    drafts = db.session.scalars(
        select(Petition)
        .where(Petition.status.in_([wf.IN_PROGRESS, wf.UNDER_REVIEW]), _draft_waits_for(user.unit_id))
        .order_by(*order)
    ).all()
    extensions = db.session.scalars(
        select(Petition)
        .where(
            Petition.unit_id == user.unit_id,
            exists().where(
                ExtensionRequest.petition_id == Petition.id,
                ExtensionRequest.status == ExtensionStatus.PENDING,
            ),
        )
        .order_by(*order)
    ).all()
    return LeaderInbox(list(drafts), list(extensions))


def leader_inbox_count(user: User) -> int:
    """How many things wait for the leader (one statement, for every staff page's header)."""
    if user.role != Role.LEADER or user.unit_id is None:
        return 0
    drafts = select(Petition.id).where(
        Petition.status.in_([wf.IN_PROGRESS, wf.UNDER_REVIEW]), _draft_waits_for(user.unit_id)
    )
    extensions = select(Petition.id).where(
        Petition.unit_id == user.unit_id,
        exists().where(
            ExtensionRequest.petition_id == Petition.id, ExtensionRequest.status == ExtensionStatus.PENDING
        ),
    )
    return db.session.scalar(
        select(func.count()).select_from(union_all(drafts, extensions).subquery())
    ) or 0


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
