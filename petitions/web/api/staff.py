"""The staff half of the JSON API: the queue, the staff view of a petition, and the actions.

Every rule lives in the domain: petitions.services.access decides what a caller sees, petitions.services.actions
(with petitions.domain.workflow) what they may do. These views parse, call one function, answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import and_, bindparam, or_, select

from petitions.domain import clocks as clock_rules
from petitions.domain import workflow as wf
from petitions.domain.clocks import now
from petitions.domain.errors import NotFound
from petitions.domain.validation import (
    CODE_PATTERN,
    QUERY_CODE_PATTERN,
    TRACKING_NO_PATTERN,
    USERNAME_PATTERN,
)
from petitions.extensions import settings
from petitions.i18n import lazy_gettext as _l
from petitions.models import Clock, Petition, Role, Status, Unit
from petitions.services import access, actions, clocks, duplicates, queues, reference
from petitions.web import presenters
from petitions.web.api.blueprint import bp
from petitions.web.api.routes import TRACKING_NO_RE, register_staff_view
from petitions.web.api.schemas import RULES, CitizenView, UnitRef
from petitions.web.api.spec import STAFF, ApiIn, ApiOut, ApiQuery, operation
from petitions.web.auth import bearer_user
from petitions.web.inputs import FILLED_TEXT_PATTERN
from petitions.web.presenters import citizen_view
from petitions.web.ratelimits import code_holder, lookup_limit

# The domain's limit on a text (a reply, a reason, a note).
TEXT_MAX = RULES.content_max


# ---------------------------------------------------------------- models


class UserRef(ApiOut):
    username: str | None
    name: str | None
    role: str


class CategoryOut(ApiOut):
    code: str
    name: str
    kind: str


class ContactOut(ApiOut):
    name: str | None = Field(description="null when hidden (a report's filer, outside the discipline office)")
    phone: str | None = Field(description="masked (138****1234) for staff who do not need the number")
    hidden: bool
    anonymous: bool


class EventOut(ApiOut):
    id: int
    at: datetime
    type: str
    text: str
    summary: str = Field(description="what the citizen reads for this event")
    actor: UserRef | None
    role: str | None
    unit: UnitRef | None
    from_status: str | None
    to_status: str | None
    public: bool = Field(description="false for internal notes and staff-only steps")


class ClockOut(ApiOut):
    kind: str
    unit: UnitRef | None
    started_at: datetime
    due_at: datetime
    statutory_due_at: datetime
    allowed_days: int
    extended_days: int
    stopped_at: datetime | None
    level: str


class DraftOut(ApiOut):
    kind: str
    text: str
    drafted_by: UserRef | None
    drafted_at: datetime


class ExtensionOut(ApiOut):
    days: int
    reason: str
    requested_by: UserRef | None
    requested_at: datetime


class IssuedReplyOut(ApiOut):
    kind: str
    text: str | None
    unit: UnitRef | None
    drafted_by: UserRef | None
    signed_by: UserRef | None
    issued_at: datetime | None


class AttachmentOut(ApiOut):
    id: int
    filename: str
    content_type: str
    size: int


class PetitionRef(ApiOut):
    tracking_no: str
    title: str


class DuplicateOut(ApiOut):
    tracking_no: str
    title: str
    created_at: datetime
    status: str


class NextStepOut(ApiOut):
    """What happens next to the petition and who does it"""

    text: str
    who: list[str] = Field(description="who moves it on, in words (by name where the petition names them)")
    roles: list[str] = Field(description="their roles: intake, handler, leader, citizen")
    actions: list[str] = Field(description="the actions that move it on")
    yours: bool = Field(description="whether the caller may take one of them now")


class StaffView(ApiOut):
    """The petition as a staff member may see it"""

    tracking_no: str
    version: int = Field(description="send it back with every action; a stale one answers 409")
    title: str
    content: str
    category: CategoryOut
    township: UnitRef | None = Field(description="null while the place is still to be registered")
    status: Status
    status_label: str
    unit: UnitRef | None
    handler: UserRef | None
    channel: str
    anonymous: bool
    public_consent: bool
    contact: ContactOut
    address: str | None
    created_at: datetime
    routed_at: datetime | None
    accepted_at: datetime | None
    replied_at: datetime | None
    closed_at: datetime | None
    due_at: datetime | None
    level: str | None
    duplicate_of: PetitionRef | None
    merged_here: list[PetitionRef] = Field(description="later petitions merged into this one")
    review_round: int = Field(description="0 before any review; 1 review (复查); 2 re-review (复核)")
    draft: DraftOut | None = Field(description="a reply draft waiting for the leader's signature")
    extension: ExtensionOut | None = Field(description="an extension request waiting for a decision")
    replies: list[IssuedReplyOut]
    events: list[EventOut] = Field(description="every event, internal notes included, oldest first")
    attachments: list[AttachmentOut]
    clocks: list[ClockOut]
    actions: list[str] = Field(description="the actions the caller may take now")
    next_step: NextStepOut
    possible_duplicates: list[DuplicateOut] = Field(
        description="for intake: earlier petitions this may repeat"
    )


def _action_doc() -> str:
    lines = ["The petition's `version` plus the action's fields:", ""]
    for action in wf.STAFF_ACTIONS:
        rules = wf.rules_for(action)
        required = sorted({f for r in rules for f in r.required})
        optional = sorted({f for r in rules for f in r.optional} - set(required))
        roles = sorted({role for r in rules for role in r.roles})
        parts = [f"`{action}` ({', '.join(roles)})"]
        if required:
            parts.append("requires " + ", ".join(f"`{f}`" for f in required))
        if optional:
            parts.append("may take " + ", ".join(f"`{f}`" for f in optional))
        lines.append("* " + "; ".join(parts))
    return "\n".join(lines)


class ActionIn(ApiIn):
    version: int = Field(description="the version the caller saw; 409 if the petition moved on")
    unit: str | None = Field(default=None, pattern=CODE_PATTERN, description="route: the unit code")
    reason: str | None = Field(default=None, max_length=TEXT_MAX)
    channel: str | None = Field(default=None, max_length=200, description="decline: the proper channel")
    handler: str | None = Field(
        default=None, pattern=USERNAME_PATTERN, description="assign: a handler's username"
    )
    text: str | None = Field(default=None, max_length=TEXT_MAX)
    days: int | None = Field(
        default=None, ge=1, le=RULES.max_extension_days,
        description=f"request-extension: 1 to {RULES.max_extension_days}",
    )
    duplicate_of: str | None = Field(
        default=None, pattern=TRACKING_NO_PATTERN, description="merge: the earlier tracking number"
    )
    category: str | None = Field(
        default=None, pattern=CODE_PATTERN, description="register: corrected category code"
    )
    township: str | None = Field(
        default=None, pattern=CODE_PATTERN, description="register: corrected place code"
    )


class QueueQuery(ApiQuery):
    status: Status | None = None
    level: Literal["green", "yellow", "red", "urged"] | None = Field(
        default=None, description="of the running time limit; red includes urged"
    )
    unit: str | None = Field(default=None, pattern=CODE_PATTERN, description="unit code")
    q: str | None = Field(
        default=None, max_length=100, description="text in the tracking number, title or content"
    )
    page: int = Field(
        default=1, ge=1, le=RULES.page_max,
        description=f"a numbered page within the first {RULES.queue_count_cap} rows (empty beyond); "
        "for the rows after them, follow `next`",
    )
    per_page: int = Field(default=20, ge=1, le=100)
    after: str | None = Field(
        default=None, pattern=queues.CURSOR_PATTERN,
        description="the `next` of the previous page: the page after it (then `page` is ignored)",
    )


class QueueItem(ApiOut):
    tracking_no: str
    title: str
    status: Status
    unit: UnitRef | None
    level: str | None
    due_at: datetime | None
    version: int
    created_at: datetime
    possible_duplicate_of: str | None = Field(
        description="for intake: the tracking number of an earlier petition this may repeat"
    )


class QueueOut(ApiOut):
    """A page of the caller's queue"""

    items: list[QueueItem]
    page: int = Field(description="the numbered page, 0 for a page reached by `after`")
    per_page: int
    total: int = Field(description="how many petitions the list holds, counted up to a limit")
    total_capped: bool = Field(description="true when there are more than `total`")
    more: bool = Field(description="whether a page follows this one")
    next: str | None = Field(description="pass it as `after` for the next page; null on the last")


class ReviewRequestIn(ApiIn):
    code: str = Field(pattern=QUERY_CODE_PATTERN, description="the query code given at filing")
    reason: str = Field(min_length=1, max_length=TEXT_MAX, pattern=FILLED_TEXT_PATTERN)


# ---------------------------------------------------------------- the staff view (GET /petitions/{no})


def _visible(tracking_no: str, user) -> Petition:
    number = tracking_no if TRACKING_NO_RE.match(tracking_no or "") else ""
    petition = presenters.load_for_staff(number)
    if petition is None or not access.can_view(user, petition):
        raise NotFound(_l("No such petition."))
    return petition


def staff_petition(tracking_no: str) -> StaffView:
    user = bearer_user()
    petition = _visible(tracking_no, user)
    return StaffView.model_validate(presenters.staff_view(user, petition))


register_staff_view(staff_petition, StaffView)


# ---------------------------------------------------------------- the queue


@operation(
    bp,
    "GET",
    "/queue",
    summary="The petitions the caller may see and act on, soonest due first",
    tags=["staff"],
    query=QueueQuery,
    responses={200: QueueOut},
    auth=STAFF,
)
def queue(query: QueueQuery):
    user = bearer_user()
    try:
        after = queues.Cursor.parse(query.after)
    except queues.BadCursor:  # the pattern already refuses what parse refuses
        after = None
    per_page = query.per_page
    if after is None and query.page > 1:
        # Numbered pages reach only the first rows (a short OFFSET); beyond, follow `next`.
        stmt, branches = _queue_statement(user, query)
        found = queues.numbered_page(stmt.where(or_(*branches)), Petition.due_at, query.page, per_page)
    else:
        shape, params = _queue_shape(user, query)
        found = queues.rows_page(
            shape, lambda: _queue_statement(user, query), params, Petition.due_at, per_page, after, nullable=True
        )
    running = queues.running_clocks([p.id for p in found.items])
    duplicate_of = (
        duplicates.first_duplicates([p for p in found.items if p.status in (wf.REGISTERED, wf.ROUTED)])
        if user.role == Role.INTAKE
        else {}
    )
    return QueueOut(
        items=[
            _queue_item(p, running.get(p.id), getattr(duplicate_of.get(p.id), "tracking_no", None))
            for p in found.items
        ],
        page=query.page if after is None else 0,
        per_page=per_page,
        total=found.count,
        total_capped=found.capped,
        more=found.next is not None,
        next=found.next,
    )


# What a queue item shows and nothing more, read as rows: a few columns (its unit comes from the
# reference cache; the phone, category and time let intake's duplicates be found) and, in a
# second statement, the running clock.
QUEUE_COLUMNS = (
    Petition.id,
    Petition.tracking_no,
    Petition.title,
    Petition.status,
    Petition.unit_id,
    Petition.category_id,
    Petition.contact_phone,
    Petition.due_at,
    Petition.version,
    Petition.created_at,
)


def _queue_statement(user, query: QueueQuery):
    """The queue's rows for `query` as `user` sees them: a SELECT of QUEUE_COLUMNS with the
    query's filters, and the branches of what the user may see (values as named parameters:
    `_queue_shape`)."""
    stmt = select(*QUEUE_COLUMNS)
    if query.status is not None:
        stmt = stmt.where(Petition.status == bindparam("status", query.status))
    if query.unit:
        stmt = stmt.join(Unit, Unit.id == Petition.unit_id).where(Unit.code == bindparam("unit_code", query.unit))
    if query.q:
        stmt = queues.search(stmt, query.q)
    if query.level is not None:
        # The running staff clock (not the citizen's review window).
        stmt = stmt.join(
            Clock,
            and_(
                Clock.petition_id == Petition.id,
                Clock.stopped_at.is_(None),
                Clock.kind.in_(clock_rules.SUPERVISED),
                Clock.at_level(clock_rules.LEVEL_FILTERS[query.level], now(), settings().thresholds),
            ),
        )
    return stmt, access.visible_branches(user)


def _queue_shape(user, query: QueueQuery) -> tuple[tuple | None, dict[str, Any]]:
    """What the queue's statements look like for `query` and `user`, and the values of their
    parameters (the names of those say which filters the statements have); no shape (built
    for the one page) with a level filter, whose values are the time and the thresholds."""
    seen_as, params = access.viewer(user)
    params.update(queues.search_shape(query.q)[1])
    if query.status is not None:
        params["status"] = query.status
    if query.unit:
        params["unit_code"] = query.unit
    if query.level is not None:
        return None, params
    return ("api-queue", seen_as, *sorted(params)), params


def _queue_item(petition: Any, open_clock: Any, duplicate: str | None) -> QueueItem:
    """An item of a page of QUEUE_COLUMNS rows, with the row of the petition's open clock."""
    clock = clocks.supervised(open_clock)
    running = clocks.status(clock) if clock is not None else None
    unit = reference.unit_by_id(petition.unit_id)
    return QueueItem(
        tracking_no=petition.tracking_no,
        title=petition.title,
        status=petition.status,
        unit=UnitRef(code=unit.code, name=unit.name, kind=unit.kind) if unit else None,
        level=running.level if running else None,
        due_at=petition.due_at,
        version=petition.version,
        created_at=petition.created_at,
        possible_duplicate_of=duplicate,
    )


# ---------------------------------------------------------------- actions


@operation(
    bp,
    "POST",
    "/petitions/{tracking_no}/actions/{action}",
    summary="Take an action on a petition",
    description=_action_doc(),
    tags=["staff"],
    body=ActionIn,
    responses={200: StaffView},
    auth=STAFF,
    errors={
        403: "The petition is visible to the caller but the action is not theirs",
        409: "Stale version (someone else changed the petition), or the state does not allow the action",
    },
)
def petition_action(tracking_no: str, action: str, body: ActionIn):
    user = bearer_user()
    petition = _visible(tracking_no, user)
    if action not in wf.STAFF_ACTIONS:
        raise NotFound(_l("Unknown action."))
    fields: dict[str, Any] = body.model_dump(exclude={"version"}, exclude_none=True)
    petition = actions.perform(petition, action, user, body.version, **fields)
    return StaffView.model_validate(presenters.staff_view(user, petition))


# ---------------------------------------------------------------- the citizen's review request


@operation(
    bp,
    "POST",
    "/petitions/{tracking_no}/review-request",
    summary="Ask for review (复查) of the reply, or re-review (复核) of the review opinion",
    description="Within 30 days of the reply (or of the review opinion), by whoever holds the query code.",
    tags=["public"],
    body=ReviewRequestIn,
    responses={200: CitizenView},
    limits=[lookup_limit],
    errors={404: "No petition matches this tracking number and query code", 409: "Not allowed now"},
)
def review_request(tracking_no: str, body: ReviewRequestIn):
    number = tracking_no if TRACKING_NO_RE.match(tracking_no or "") else ""
    petition, holder = code_holder(number, body.code)
    petition = actions.request_review(petition, body.reason, actor=holder)
    return CitizenView.model_validate(citizen_view(petition))
