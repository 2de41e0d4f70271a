"""What each audience may see of a petition, as plain data for templates and the API alike.

Labels and texts come from the domain's tables (event types, statuses, clock kinds), so a
page, the API and the SMS say the same thing. The staff view reads a petition in a fixed
number of statements, whatever the length of its history.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from flask import has_request_context, request
from flask_babel import get_locale
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from petitions.domain import clocks as clock_rules
from petitions.domain import workflow as wf
from petitions.domain.events import EVENT_TYPES, event_type
from petitions.extensions import db
from petitions.i18n import gettext, lazy_gettext
from petitions.i18n import lazy_gettext as _l
from petitions.models import (
    Channel,
    Event,
    ExtensionRequest,
    Petition,
    Reply,
    Role,
    Unit,
    User,
)
from petitions.services import access, clocks, duplicates, records, reference
from petitions.services.records import Record

T = TypeVar("T")


def _lazy(labels: dict[str, str]) -> dict[str, Any]:
    """The domain's msgids, translated when shown (in the language of the request)."""
    return {key: lazy_gettext(msgid) for key, msgid in labels.items()}


STATUS_LABELS = _lazy(wf.STATUS_LABELS)
LEVEL_LABELS = _lazy(clock_rules.LEVEL_LABELS)
CLOCK_LABELS = _lazy({name: kind.label for name, kind in clock_rules.KINDS.items()})
EVENT_LABELS = _lazy({name: t.label for name, t in EVENT_TYPES.items()})
# How a petition came in, in words (the staff page, exports).
CHANNEL_NAMES = {
    Channel.WEB.value: _l("Web"),
    Channel.LETTER.value: _l("Letter"),
    Channel.PHONE.value: _l("Phone call"),
    Channel.VISIT.value: _l("Visit in person"),
    Channel.API.value: _l("Mobile app or another system (API)"),
    Channel.OPEN311.value: _l("Open311 client"),
}

# Who moves a petition on (petitions.domain.workflow.NEXT_STEPS), in words.
WHO_LABELS = {
    wf.INTAKE: _l("the intake office"),
    wf.HANDLER: _l("the handler"),
    wf.LEADER: _l("the unit's leader"),
    wf.CITIZEN: _l("the citizen"),
}


def next_step(user: User, petition: Petition, state: wf.State, record: Record | None = None) -> dict[str, Any]:
    """What happens next and who does it, for staff: the people by name where the petition
    names them, and whether it is this user's to do."""
    step = wf.next_step(state)
    reviewing = state.status in (wf.UNDER_REVIEW, wf.REVIEW_REPLIED)
    unit = access.reviewer_unit(petition) if reviewing else petition.unit
    who = []
    for role in step.who:
        if role == wf.HANDLER and petition.handler is not None and not reviewing:
            who.append(gettext("%(who)s %(name)s", who=WHO_LABELS[role], name=petition.handler.name))
        elif role in (wf.HANDLER, wf.LEADER) and unit is not None:
            who.append(gettext("%(who)s (%(unit)s)", who=WHO_LABELS[role], unit=local_name(unit)))
        else:
            who.append(str(WHO_LABELS[role]))
    mine = set(wf.allowed_actions(user.role, access.scopes(user, petition, record), state)) & set(step.actions)
    return {
        "text": gettext(step.staff),
        "who": who,
        "roles": list(step.who),
        "actions": list(step.actions),
        "yours": bool(mine),
    }


def local_name(thing: Any) -> str:
    """A unit's or a category's name in the reader's language: its English name when the page
    is in English and one is given, its Chinese name otherwise (a model or a dict of one)."""
    if thing is None:
        return ""
    if isinstance(thing, dict):
        name, name_en = thing.get("name") or "", thing.get("name_en")
    else:
        name, name_en = thing.name or "", getattr(thing, "name_en", None)
    if name_en and _in_english():
        return name_en
    return name


def per_request(key: str, make: Callable[[], T]) -> T:
    """`make()` once per request, kept on the request itself (not on `g`, which an application
    context held across requests, as in the tests, would share between them)."""
    if not has_request_context():
        return make()
    kept = request.environ.setdefault("petitions.per_request", {})
    if key not in kept:
        kept[key] = make()
    return kept[key]


def _in_english() -> bool:
    """Whether the page is in English (asked once per request: a page names many things)."""
    return per_request("in_english", lambda: str(get_locale() or "").startswith("en"))


def possible_duplicates(petition: Petition) -> list[Petition]:
    """The earlier petitions this one may repeat (duplicates.find_possible_duplicates), read
    once per request however many parts of a page show them."""
    return per_request(f"duplicates-{petition.id}", lambda: duplicates.find_possible_duplicates(petition))


def _merged_here(petition: Petition, record: Record) -> list[dict[str, str]]:
    """The later petitions merged into this one, by id: as its record read them
    (`records.of(..., merged=True)`), or read now for a record read without them."""
    merged = record.merged_here
    if merged is None:
        merged = [(r.tracking_no, r.title) for r in duplicates.merged_into(petition)]
    return [{"tracking_no": tracking_no, "title": title} for tracking_no, title in merged]


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def event_label(type_: str) -> str:
    return gettext(event_type(type_).label)


def event_text(event: Event) -> str:
    """What the citizen reads for an event (the staff label for types the citizen never reads)."""
    kind = event_type(event.type)
    if kind.citizen_text is None:
        return event.text or event.type
    template = gettext(kind.citizen_text)
    if "%(unit)s" in kind.citizen_text:
        template = template % {"unit": local_name(reference.unit_by_id(event.unit_id))}
    text = template
    # Reasons and replies that the citizen is meant to read travel in the event text.
    if event.text and kind.shows_text:
        text = f"{text} {event.text}"
    channel = (event.data or {}).get("channel") if event.type == "declined" else None
    if channel:
        text = f"{text} {_l('Proper channel: %(channel)s', channel=channel)}"
    return text


def public_timeline(record: Record) -> list[dict[str, Any]]:
    """The events the citizen may read, oldest first (internal notes left out), as the record
    read them (`records.of(..., public_events=True)`)."""
    assert record.public_events is not None, "a record read without its public events"
    return [{"at": ev.at, "type": ev.type, "text": event_text(ev)} for ev in record.public_events]


def unit_ref(unit: Unit | None) -> dict[str, str] | None:
    if unit is None:
        return None
    return {"code": unit.code, "name": unit.name, "name_en": unit.name_en, "kind": unit.kind}


def user_ref(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"username": user.username, "name": user.name, "role": user.role}


def deadlines(petition: Petition) -> list[dict[str, Any]]:
    """The clocks the citizen may know of: what is due, by when (committed and statutory)."""
    return [
        {
            "clock": c.kind,
            "started_at": c.started_at,
            "due_at": c.due_at,
            "statutory_due_at": c.statutory_due_at,
            "open": c.stopped_at is None,
        }
        for c in petition.clocks
    ]


def citizen_view(petition: Petition) -> dict[str, Any]:
    """The citizen's view: status, unit, deadlines, public timeline, the latest reply and rating
    state (its record and public events read in one statement)."""
    reference.attach([petition])
    record = records.of(petition, public_events=True)
    latest = record.latest_issued
    reply = db.session.get(Reply, latest.id) if latest is not None else None
    # The rating with its comment, as the record read it with its texts.
    rating = record.rating_of(latest)
    state = records.state_of(petition, record)
    owner = {wf.OWNER}
    window = records.window_clock(petition)
    return {
        "tracking_no": petition.tracking_no,
        "title": petition.title,
        "category": {
            "code": petition.category.code,
            "name": petition.category.name,
            "name_en": petition.category.name_en,
        },
        "township": unit_ref(petition.township),
        "status": petition.status,
        "status_label": status_label(petition.status),
        "unit": unit_ref(petition.unit),
        "created_at": petition.created_at,
        "deadlines": deadlines(petition),
        "timeline": public_timeline(record),
        "reply": {
            "at": reply.issued_at,
            "text": reply.text,
            "kind": reply.kind,
            "unit": unit_ref(reply.unit),
            "signed_by": reply.signed_by.name if reply.signed_by else None,
        }
        if reply
        else None,
        "rating": {"score": rating.score, "comment": rating.comment, "at": rating.at} if rating else None,
        "can_rate": wf.decide("rate", wf.CITIZEN, owner, state).allowed,
        "can_request_review": wf.decide("review-request", wf.CITIZEN, owner, state).allowed
        or wf.decide("rereview-request", wf.CITIZEN, owner, state).allowed,
        "review_due_at": window.due_at if window is not None and state.window_open else None,
        "next_step": gettext(wf.next_step(state).citizen),
    }


# ---------------------------------------------------------------- the staff view


@cache
def _for_staff():
    """A petition by tracking number (parameter `tracking_no`) with its handler, clocks and
    attachments (without their contents), built once."""
    return (
        select(Petition)
        .where(Petition.tracking_no == bindparam("tracking_no"))
        .options(joinedload(Petition.handler), joinedload(Petition.clocks), joinedload(Petition.attachments))
    )


@cache
def _staff_events():
    """A petition's events with their actors, oldest first (parameter `petition_id`), built once."""
    return (
        select(Event)
        .where(Event.petition_id == bindparam("petition_id"))
        .options(joinedload(Event.actor))
        .order_by(Event.at, Event.id)
    )


def load_for_staff(tracking_no: str) -> Petition | None:
    """The petition with what the staff view shows, in two statements (its handler, clocks and
    attachments joined to it; its events with their actors; its category, place and unit, and
    the units of its clocks and events, come from the reference cache). The events are read
    with a statement built once and given to the petition as its loaded collection: the ORM's
    own loader of a collection builds its statement, and its cache key, anew for each petition."""
    petition = db.session.scalars(_for_staff(), {"tracking_no": tracking_no}).unique().one_or_none()
    if petition is not None:
        found = {"petition_id": petition.id}
        set_committed_value(petition, "events", list(db.session.scalars(_staff_events(), found).unique()))
        reference.attach([petition])
        reference.attach_units([c.unit_id for c in petition.clocks] + [e.unit_id for e in petition.events])
    return petition


def staff_view(user: User, petition: Petition, record: Record | None = None) -> dict[str, Any]:
    """Everything a staff member may know of a petition: events with internal notes, clocks, drafts.

    The caller has checked `can_view`. Citizens' own accounts never appear by name here;
    a report's filer does not appear at all outside the discipline office and the bureau.
    """
    record = record or records.of(petition, merged=True)
    state = records.state_of(petition, record)
    reporter_ok = access.sees_reporter(user, petition)
    events = []
    for ev in petition.events:
        actor = ev.actor
        if actor is not None and not actor.is_staff:
            actor_ref = {"username": None, "name": None, "role": Role.CITIZEN.value}
        else:
            actor_ref = user_ref(actor)
        events.append(
            {
                "id": ev.id,
                "at": ev.at,
                "type": ev.type,
                "text": ev.text or "",
                "summary": event_text(ev),
                "actor": actor_ref,
                "role": ev.actor_role,
                "unit": unit_ref(ev.unit),
                "from_status": ev.from_status,
                "to_status": ev.to_status,
                "public": ev.public,
            }
        )
    replies = (
        db.session.scalars(
            select(Reply)
            .where(Reply.petition_id == petition.id)
            .options(joinedload(Reply.unit), joinedload(Reply.drafted_by), joinedload(Reply.signed_by))
            .order_by(Reply.id)
        ).all()
        if record.replies
        else []
    )
    by_id = {r.id: r for r in replies}
    pending_ext = (
        db.session.scalars(
            select(ExtensionRequest)
            .where(ExtensionRequest.id == record.pending_extension_id)
            .options(joinedload(ExtensionRequest.requested_by))
        ).one()
        if record.pending_extension_id is not None
        else None
    )
    draft = by_id.get(record.pending_draft.id) if record.pending_draft is not None else None
    running = clocks.running_status(petition)
    alike = (
        possible_duplicates(petition)
        if user.role == Role.INTAKE and petition.status in (wf.REGISTERED, wf.ROUTED)
        else None
    )
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
        "township": unit_ref(petition.township),
        "status": petition.status,
        "status_label": status_label(petition.status),
        "unit": unit_ref(petition.unit),
        "handler": user_ref(petition.handler),
        "channel": petition.channel,
        "anonymous": petition.anonymous,
        "public_consent": petition.public_consent,
        "contact": access.contact_view(user, petition),
        "address": petition.address if reporter_ok else None,
        "created_at": petition.created_at,
        "routed_at": petition.routed_at,
        "accepted_at": petition.accepted_at,
        "replied_at": petition.replied_at,
        "closed_at": petition.closed_at,
        "due_at": petition.due_at,
        "level": running.level if running else None,
        "duplicate_of": petition_ref(petition.duplicate_of_id),
        # Later petitions merged into this one (their own record says so; this one did not change).
        "merged_here": _merged_here(petition, record),
        "review_round": state.review_round,
        "draft": {
            "kind": draft.kind,
            "text": draft.draft_text,
            "drafted_by": user_ref(draft.drafted_by),
            "drafted_at": draft.drafted_at,
        }
        if draft
        else None,
        "extension": {
            "days": pending_ext.days,
            "reason": pending_ext.reason,
            "requested_by": user_ref(pending_ext.requested_by),
            "requested_at": pending_ext.requested_at,
        }
        if pending_ext
        else None,
        "replies": [
            {
                "kind": r.kind,
                "text": r.text,
                "unit": unit_ref(r.unit),
                "drafted_by": user_ref(r.drafted_by),
                "signed_by": user_ref(r.signed_by),
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
                "unit": unit_ref(c.unit),
                "started_at": c.started_at,
                "due_at": c.due_at,
                "statutory_due_at": c.statutory_due_at,
                "allowed_days": c.allowed_days,
                "extended_days": c.extended_days or 0,
                "stopped_at": c.stopped_at,
                "level": clocks.level_of(c),
            }
            for c in petition.clocks
        ],
        "actions": wf.allowed_actions(user.role, access.scopes(user, petition, record), state),
        "next_step": next_step(user, petition, state, record),
        "possible_duplicates": [],
    }
    if alike is not None:
        view["possible_duplicates"] = [
            {"tracking_no": p.tracking_no, "title": p.title, "created_at": p.created_at, "status": p.status}
            for p in alike
        ]
    return view


def petition_ref(petition_id: int | None) -> dict[str, Any] | None:
    if petition_id is None:
        return None
    other = db.session.get(Petition, petition_id)
    return {"tracking_no": other.tracking_no, "title": other.title} if other else None
