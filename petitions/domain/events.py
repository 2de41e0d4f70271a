"""The event types of a petition's history: one table, read by every face. Pure.

Each row says what staff call the event (`label`), whether the citizen reads it (`public`),
what the citizen reads (`citizen_text`, and whether the event's own text, a reason or a
reply, follows it), and who hears of it by SMS (`hears`: the message purpose and its
audience). What else follows an event (facts, cards, clocks) is the effects table,
petitions.services.effects.

Texts are English msgids marked with N_; the caller translates them. A citizen text may
name the unit with %(unit)s.
"""

from __future__ import annotations

from dataclasses import dataclass


def N_(message: str) -> str:
    """Mark a message for translation without translating it here (gettext_noop)."""
    return message


# What happens to a clock (not rows of the history: the events say why it happened).
CLOCK_STARTED = "clock.started"
CLOCK_MOVED = "clock.moved"
CLOCK_STOPPED = "clock.stopped"
# The first event of every petition: its filing.
REGISTERED = "registered"

# Who hears of an event (the outbox resolves each to people and phone numbers).
CITIZEN = "citizen"  # the petition's contact number, unless anonymous
HANDLER = "handler"  # the assigned handler; before one is assigned the unit's handlers; in intake, intake
LEADER = "leader"  # the unit's leaders (the bureau's while the petition waits in intake)
SUPERVISOR = "supervisor"  # every supervisor
AUDIENCES = (CITIZEN, HANDLER, LEADER, SUPERVISOR)


@dataclass(frozen=True)
class Tell:
    """One SMS an event owes: its template (config/sms_templates.py) and its audience."""

    purpose: str
    audience: str


@dataclass(frozen=True)
class EventType:
    name: str
    label: str
    public: bool
    citizen_text: str | None = None
    # The citizen reads the event's own text (a reason, a reply) after `citizen_text`.
    shows_text: bool = False
    hears: tuple[Tell, ...] = ()


def _e(name: str, label: str, public: bool, citizen_text: str | None = None, **kw) -> EventType:
    return EventType(name, label, public, citizen_text, **kw)


def _tell(*pairs: tuple[str, str]) -> tuple[Tell, ...]:
    return tuple(Tell(purpose, audience) for purpose, audience in pairs)


_REPLY_TEXTS = _tell(("citizen_replied", CITIZEN), ("citizen_rating", CITIZEN))

# fmt: off
EVENT_TYPES: dict[str, EventType] = {t.name: t for t in (
    _e(REGISTERED, N_("Registered"), True, N_("Your petition was registered.")),
    _e("triaged", N_("Category or place corrected"), False),
    _e("routed", N_("Routed"), True, N_("Your petition was sent to %(unit)s.")),
    _e("returned", N_("Returned to the petition bureau"), True,
       N_("The unit returned your petition to the petition bureau for re-routing."), shows_text=True),
    _e("accepted", N_("Accepted"), True, N_("%(unit)s accepted your petition."),
       hears=_tell(("citizen_accepted", CITIZEN))),
    _e("declined", N_("Not accepted"), True, N_("%(unit)s did not accept your petition."), shows_text=True,
       hears=_tell(("citizen_declined", CITIZEN))),
    _e("assigned", N_("Handler assigned"), True, N_("A handler at %(unit)s is working on your petition.")),
    _e("note", N_("Internal note"), False),
    _e("reply_drafted", N_("Reply drafted"), False),
    _e("replied", N_("Reply issued"), True, N_("%(unit)s replied in writing."), shows_text=True,
       hears=_REPLY_TEXTS),
    _e("review_drafted", N_("Review opinion drafted"), False),
    _e("review_replied", N_("Review opinion issued"), True, N_("The review opinion was given."),
       shows_text=True, hears=_REPLY_TEXTS),
    _e("rereview_drafted", N_("Re-review opinion drafted"), False),
    _e("rereview_replied", N_("Re-review opinion issued"), True, N_("The re-review opinion was given."),
       shows_text=True, hears=_REPLY_TEXTS),
    _e("extension_requested", N_("Extension requested"), False),
    _e("extension_approved", N_("Extension approved"), True, N_("The time limit was extended."),
       shows_text=True, hears=_tell(("citizen_extended", CITIZEN))),
    _e("extension_rejected", N_("Extension rejected"), False),
    _e("closed", N_("Closed"), True, N_("Your petition was closed.")),
    _e("urged", N_("Urged by supervision"), True,
       N_("The supervision office urged the unit to handle your petition."),
       hears=_tell(("staff_urge", LEADER))),
    _e("answered_on_spot", N_("Answered on the spot"), True, N_("Your petition was answered on the spot."),
       shows_text=True),
    _e("merged", N_("Merged into an earlier petition"), True,
       N_("Your petition repeats an earlier one and is handled with it:"), shows_text=True),
    # Written by earlier versions on the earlier petition of a merge; kept for their history.
    _e("duplicate_merged", N_("A later petition was merged into this one"), False),
    _e("rated", N_("Rated by the citizen"), True, N_("You rated the reply.")),
    _e("review_requested", N_("Review requested"), True, N_("You asked for a review."), shows_text=True),
    _e("rereview_requested", N_("Re-review requested"), True, N_("You asked for a re-review."),
       shows_text=True),
    _e("followed_up", N_("Phone follow-up"), False),
    # Electronic supervision: cards are staff facts; the citizen sees the deadlines themselves.
    _e("card_yellow", N_("Yellow card"), False, hears=_tell(("staff_yellow", HANDLER))),
    _e("card_red", N_("Red card"), False, hears=_tell(("staff_red", HANDLER), ("staff_red", LEADER))),
    _e("card_urged", N_("Urged (red for days)"), False,
       hears=_tell(("staff_urged", SUPERVISOR), ("staff_urged", LEADER))),
)}
# fmt: on


def event_type(name: str) -> EventType:
    """The row for `name`; an unknown type (never written by this code) reads as internal."""
    return EVENT_TYPES.get(name) or EventType(name, name, False)


def citizen_audience(name: str) -> tuple[Tell, ...]:
    return tuple(t for t in event_type(name).hears if t.audience == CITIZEN)


def staff_audience(name: str) -> tuple[Tell, ...]:
    return tuple(t for t in event_type(name).hears if t.audience != CITIZEN)
