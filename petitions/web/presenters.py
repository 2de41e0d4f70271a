"""What each audience may see of a petition, as plain data for templates and the API alike."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from petitions.models import Channel, Event, Petition, Status

STATUS_LABELS = {
    Status.REGISTERED.value: _l("Registered, waiting to be routed"),
    Status.ROUTED.value: _l("Sent to the responsible unit"),
    Status.ACCEPTED.value: _l("Accepted"),
    Status.IN_PROGRESS.value: _l("Being handled"),
    Status.REPLIED.value: _l("Replied"),
    Status.NOT_ACCEPTED.value: _l("Not accepted"),
    Status.UNDER_REVIEW.value: _l("Under review"),
    Status.REVIEW_REPLIED.value: _l("Review opinion given"),
    Status.CLOSED.value: _l("Closed"),
}

# How a petition came in, in words (the staff page, exports).
CHANNEL_NAMES = {
    Channel.WEB.value: _l("Web"),
    Channel.LETTER.value: _l("Letter"),
    Channel.PHONE.value: _l("Phone call"),
    Channel.VISIT.value: _l("Visit in person"),
    Channel.API.value: _l("Mobile app or another system (API)"),
    Channel.OPEN311.value: _l("Open311 client"),
}

# What the citizen reads for each kind of event. Types not listed here fall back to a
# generic text; internal events (public=False) are never shown to the citizen.
EVENT_TEXTS = {
    "registered": _l("Your petition was registered."),
    "routed": _l("Your petition was sent to %(unit)s."),
    "returned": _l("The unit returned your petition to the petition bureau for re-routing."),
    "accepted": _l("%(unit)s accepted your petition."),
    "declined": _l("%(unit)s did not accept your petition."),
    "assigned": _l("A handler at %(unit)s is working on your petition."),
    "replied": _l("%(unit)s replied in writing."),
    "extension_approved": _l("The time limit was extended."),
    "closed": _l("Your petition was closed."),
    "answered_on_spot": _l("Your petition was answered on the spot."),
    "review_requested": _l("You asked for a review."),
    "review_replied": _l("The review opinion was given."),
    "rated": _l("You rated the reply."),
    "urged": _l("The supervision office urged the unit to handle your petition."),
    "merged": _l("Your petition repeats an earlier one and is handled with it:"),
    "rereview_requested": _l("You asked for a re-review."),
    "rereview_replied": _l("The re-review opinion was given."),
}


# Events whose text (a reason, a reply) the citizen is meant to read.
CITIZEN_READS_TEXT = {
    "declined",
    "returned",
    "extension_approved",
    "replied",
    "review_replied",
    "rereview_replied",
    "answered_on_spot",
    "merged",
    "review_requested",
    "rereview_requested",
}


def local_name(thing: Any) -> str:
    """A unit's or a category's name in the reader's language: its English name when the page
    is in English and one is given, its Chinese name otherwise (a model or a dict of one)."""
    from flask_babel import get_locale

    if thing is None:
        return ""
    if isinstance(thing, dict):
        name, name_en = thing.get("name") or "", thing.get("name_en")
    else:
        name, name_en = thing.name or "", getattr(thing, "name_en", None)
    if name_en and str(get_locale() or "").startswith("en"):
        return name_en
    return name


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def event_text(event: Event) -> str:
    unit = local_name(event.unit)
    template = EVENT_TEXTS.get(event.type)
    if template is None:
        return event.text or event.type
    text = str(template) % {"unit": unit} if "%(unit)s" in str(template) else str(template)
    # Reasons and replies that the citizen is meant to read travel in the event text.
    if event.text and event.type in CITIZEN_READS_TEXT:
        text = f"{text} {event.text}"
    channel = (event.data or {}).get("channel") if event.type == "declined" else None
    if channel:
        proper = _l("Proper channel: %(channel)s", channel=channel)
        text = f"{text} {proper}"
    return text


def public_timeline(petition: Petition) -> list[dict[str, Any]]:
    """The events the citizen may read, oldest first (internal notes left out)."""
    return [{"at": ev.at, "type": ev.type, "text": event_text(ev)} for ev in petition.events if ev.public]


def unit_ref(unit) -> dict[str, str] | None:
    if unit is None:
        return None
    return {"code": unit.code, "name": unit.name, "name_en": unit.name_en, "kind": unit.kind}


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
    """The citizen's view: status, unit, deadlines, public timeline, the latest reply and rating state."""
    from petitions.domain import workflow as wf
    from petitions.services import actions

    reply = actions.latest_issued(petition)
    rating = actions.rating_for(petition, reply)
    state = actions.state_of(petition)
    owner = {wf.OWNER}
    window = actions.window_clock(petition)
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
        "timeline": public_timeline(petition),
        "reply": {
            "at": reply.issued_at,
            "text": reply.text,
            "kind": reply.kind,
            "unit": unit_ref(reply.unit),
            "signed_by": reply.signed_by.name if reply.signed_by else None,
        }
        if reply
        else None,
        "rating": {"score": rating.score, "comment": rating.comment, "at": rating.created_at}
        if rating
        else None,
        "can_rate": wf.decide("rate", wf.CITIZEN, owner, state).allowed,
        "can_request_review": wf.decide("review-request", wf.CITIZEN, owner, state).allowed
        or wf.decide("rereview-request", wf.CITIZEN, owner, state).allowed,
        "review_due_at": window.due_at if window is not None and state.window_open else None,
    }
