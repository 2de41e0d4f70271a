"""What each audience may see of a petition, as plain data for templates and the API alike."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from petitions.models import Event, Petition, Status

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
}


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def event_text(event: Event) -> str:
    unit = event.unit.name if event.unit is not None else ""
    template = EVENT_TEXTS.get(event.type)
    if template is None:
        return event.text or event.type
    text = str(template) % {"unit": unit} if "%(unit)s" in str(template) else str(template)
    # Reasons and replies that the citizen is meant to read travel in the event text.
    if event.text and event.type in ("declined", "returned", "extension_approved", "replied", "review_replied"):
        text = f"{text} {event.text}"
    return text


def public_timeline(petition: Petition) -> list[dict[str, Any]]:
    """The events the citizen may read, oldest first (internal notes left out)."""
    return [
        {"at": ev.at, "type": ev.type, "text": event_text(ev)}
        for ev in petition.events
        if ev.public
    ]


def unit_ref(unit) -> dict[str, str] | None:
    return {"code": unit.code, "name": unit.name, "kind": unit.kind} if unit is not None else None


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
    """The citizen's view: status, unit, deadlines, public timeline, reply and rating state.

    Reply, rating and review fields are filled by the handling and satisfaction parts of
    the system; until a reply exists they are empty and nothing can be rated.
    """
    reply = next((ev for ev in reversed(petition.events) if ev.type in ("replied", "review_replied")), None)
    return {
        "tracking_no": petition.tracking_no,
        "title": petition.title,
        "category": {"code": petition.category.code, "name": petition.category.name},
        "township": unit_ref(petition.township),
        "status": petition.status,
        "status_label": status_label(petition.status),
        "unit": unit_ref(petition.unit),
        "created_at": petition.created_at,
        "deadlines": deadlines(petition),
        "timeline": public_timeline(petition),
        "reply": {"at": reply.at, "text": reply.text} if reply else None,
        "rating": None,
        "can_rate": False,
        "can_request_review": False,
    }
