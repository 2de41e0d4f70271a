"""The state machine of a petition (信访事项办理): one table of rules. Pure: no Flask, no database.

Each `Rule` says who may take an action (roles and scope), from which statuses, under
which sub-state conditions (guards), with which fields, to which status, what it does
to the clocks, which event it writes and whether the citizen reads that event. An
action may have several rules (a handler's reply is a draft, a leader's is issued; a
signature issues a reply, a review opinion or a re-review opinion depending on the round).

Read the table against domain.md, "The flow and its clocks":

    registered --route--> routed --accept--> accepted --assign--> in_progress
    routed --decline--> not_accepted            routed --return--> registered
    registered/routed --answer-on-spot--> closed (即办件)
    in_progress --reply (leader, or a handler's draft signed by the leader)--> replied
    replied --review-request (citizen, <=30 days)--> under_review (复查, superior unit)
    under_review --review-reply--> review_replied --rereview-request--> under_review (复核)
    under_review (复核) --rereview-reply--> closed
    replied / review_replied --close (after a satisfied rating or when the 30 days pass)--> closed

Scopes: `any` (no unit bond: the bureau's intake officers, supervisors), `own` (the
actor's unit handles the petition now), `reviewer` (the actor's unit is the superior
unit reviewing the reply — the county government `gov` is the parent of every unit),
`citizen` (the petition's own citizen: logged in, or holding the query code).

Messages are English msgids marked with N_; the caller translates them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from petitions.domain.events import event_type


def N_(message: str) -> str:
    """Mark a message for translation without translating it here (gettext_noop)."""
    return message


# Roles (petitions.models.Role values; kept as strings so this module stays pure).
CITIZEN = "citizen"
INTAKE = "intake"
HANDLER = "handler"
LEADER = "leader"
SUPERVISOR = "supervisor"
ADMIN = "admin"
# The system itself: routing at filing, closing a reply left unrated, the sweep's cards.
SYSTEM = "system"
ROLES = (CITIZEN, INTAKE, HANDLER, LEADER, SUPERVISOR, ADMIN, SYSTEM)

# Statuses (api.md; petitions.models.Status values).
REGISTERED = "registered"
ROUTED = "routed"
ACCEPTED = "accepted"
IN_PROGRESS = "in_progress"
REPLIED = "replied"
NOT_ACCEPTED = "not_accepted"
UNDER_REVIEW = "under_review"
REVIEW_REPLIED = "review_replied"
CLOSED = "closed"
STATUSES = (
    REGISTERED,
    ROUTED,
    ACCEPTED,
    IN_PROGRESS,
    REPLIED,
    NOT_ACCEPTED,
    UNDER_REVIEW,
    REVIEW_REPLIED,
    CLOSED,
)
STATUS_LABELS: dict[str, str] = {
    REGISTERED: N_("Registered, waiting to be routed"),
    ROUTED: N_("Sent to the responsible unit"),
    ACCEPTED: N_("Accepted"),
    IN_PROGRESS: N_("Being handled"),
    REPLIED: N_("Replied"),
    NOT_ACCEPTED: N_("Not accepted"),
    UNDER_REVIEW: N_("Under review"),
    REVIEW_REPLIED: N_("Review opinion given"),
    CLOSED: N_("Closed"),
}
# Statuses in which a unit still owes the citizen something (what a supervisor may urge).
OPEN_STATUSES = frozenset({REGISTERED, ROUTED, ACCEPTED, IN_PROGRESS, UNDER_REVIEW})

# Scopes
ANY = "any"
OWN = "own"
REVIEWER = "reviewer"
OWNER = "citizen"
SCOPES = (ANY, OWN, REVIEWER, OWNER)

# Extension sub-state
EXT_NONE = "none"
EXT_PENDING = "pending"
EXT_APPROVED = "approved"

# Review rounds: 0 before any review request, 1 review (复查), 2 re-review (复核).
FIRST_REPLY, REVIEW, REREVIEW = 0, 1, 2


@dataclass(frozen=True)
class State:
    """A petition's status with the sub-states the rules look at (api.md: extra fields, not statuses)."""

    status: str
    # A reply draft of the current round waits for the leader's signature.
    draft_pending: bool = False
    extension: str = EXT_NONE
    review_round: int = FIRST_REPLY
    # The citizen's window for asking for review / re-review is still open.
    window_open: bool = False
    # An issued reply (or opinion) exists, and whether the citizen rated the latest one.
    has_reply: bool = False
    rated: bool = False
    # The latest rating is satisfied or basically satisfied.
    satisfied: bool = False
    # The latest reply may still be rated: its days for rating (30) have not passed.
    rating_open: bool = True
    is_report: bool = False


# ---------------------------------------------------------------- clock effects


@dataclass(frozen=True)
class Start:
    """Start a clock of `kind` (any running clock stops first). `unit`: whose clock it is."""

    kind: str
    unit: str | None = None  # "petition" (the unit handling it after the change), "reviewer", None


@dataclass(frozen=True)
class Stop:
    """Stop every running clock."""


@dataclass(frozen=True)
class Extend:
    """Move the running clock of `kind` by the approved extension's days."""

    kind: str


ClockOp = Start | Stop | Extend


# ---------------------------------------------------------------- guards (sub-state conditions)

Guard = Callable[[State], str | None]


def _no_extension(s: State) -> str | None:
    if s.extension == EXT_PENDING:
        return N_("An extension request is already waiting for the leader's decision.")
    if s.extension == EXT_APPROVED:
        return N_("The time limit has already been extended once; a second extension is not allowed.")
    return None


GUARDS: dict[str, Guard] = {
    "draft_pending": lambda s: (
        None if s.draft_pending else N_("There is no reply draft waiting for signature.")
    ),
    "no_extension": _no_extension,
    "extension_pending": lambda s: (
        None if s.extension == EXT_PENDING else N_("There is no extension request waiting for a decision.")
    ),
    "first_round": lambda s: (
        None
        if s.review_round == FIRST_REPLY
        else N_("A review has already been asked for; a second review is a re-review.")
    ),
    "review_round": lambda s: None if s.review_round == REVIEW else N_("This is not a review (复查)."),
    "rereview_round": lambda s: None if s.review_round == REREVIEW else N_("This is not a re-review (复核)."),
    "window_open": lambda s: (
        None if s.window_open else N_("The 30 days for asking for a review have passed.")
    ),
    "citizen_done": lambda s: (
        None
        if (s.satisfied or not s.window_open)
        else N_(
            "The citizen may still ask for a review: close after a satisfied rating or when the 30 days have passed."
        )
    ),
    "unrated_reply": lambda s: (
        None
        if (s.has_reply and not s.rated)
        else (
            N_("This reply has already been rated.") if s.has_reply else N_("There is no reply to rate yet.")
        )
    ),
    "rating_open": lambda s: None if s.rating_open else N_("The 30 days for rating this reply have passed."),
    "rating_over": lambda s: (
        None if not s.rating_open else N_("The citizen may still rate this reply.")
    ),
    "has_reply": lambda s: None if s.has_reply else N_("There is no reply to follow up yet."),
    "rating_pending": lambda s: (
        None if (s.has_reply and not s.rated and s.rating_open) else N_("There is no reply left to rate.")
    ),
    "not_report": lambda s: (
        None
        if not s.is_report
        else N_("Reports of misconduct go to the discipline office; they are not answered on the spot.")
    ),
}


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Rule:
    action: str
    roles: frozenset[str]
    scope: str
    sources: frozenset[str]
    target: str | None  # None: the status does not change
    event: str  # its type (petitions.domain.events: label, public, who hears of it)
    guards: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    clocks: tuple[ClockOp, ...] = ()
    # What else the service changes (petitions.services.actions.CHANGES): "draft" (store a
    # reply draft), "issue" (issue a reply now), "sign" (issue the pending draft),
    # "extension_request", "rate", "merge", "route", "assign", "return", ...
    change: str | None = None
    doc: str = ""

    @property
    def public(self) -> bool:
        """Whether the citizen reads the event this rule writes."""
        return event_type(self.event).public


def _r(
    action: str, roles: Iterable[str], scope: str, sources: Iterable[str], target: str | None, **kw
) -> Rule:
    return Rule(action, frozenset(roles), scope, frozenset(sources), target, **kw)


ALL = STATUSES
UNIT_STAFF = (HANDLER, LEADER)
# Statuses in which a reply (or opinion) may have been given.
AFTER_REPLY = (REPLIED, UNDER_REVIEW, REVIEW_REPLIED, CLOSED)

# fmt: off
RULES: tuple[Rule, ...] = (
    # 登记: the intake officer confirms a filed petition and may correct its category or place.
    _r("register", [INTAKE], ANY, [REGISTERED], None, event="triaged",
       optional=("category", "township"), change="register",
       doc="Intake checks the registration (category, place); the filing itself registers."),
    # 转送/交办, and re-routing before the unit has accepted it; at filing, the system routes
    # by the routing rules when one matches (otherwise the petition waits for intake).
    _r("route", [INTAKE], ANY, [REGISTERED, ROUTED], ROUTED, event="routed",
       required=("unit",), clocks=(Start("accept", "petition"),), change="route",
       doc="Route to an active unit; reports only to the discipline office, never to their township."),
    _r("route", [SYSTEM], ANY, [REGISTERED], ROUTED, event="routed",
       required=("unit",), clocks=(Start("accept", "petition"),), change="route",
       doc="Routing at filing, by the first routing rule that matches the category and place."),
    # Not our jurisdiction: back to the intake queue, with the reason.
    _r("return", UNIT_STAFF, OWN, [ROUTED], REGISTERED, event="returned",
       required=("reason",), clocks=(Start("route"),), change="return"),
    # 受理 / 不予受理 (with the reason and the proper channel, 诉访分离).
    # The handler who accepts handles it (the leader may assign another); a leader who
    # accepts assigns a handler next.
    _r("accept", [HANDLER], OWN, [ROUTED], IN_PROGRESS, event="accepted",
       clocks=(Start("handle", "petition"),), change="accept"),
    _r("accept", [LEADER], OWN, [ROUTED], ACCEPTED, event="accepted",
       clocks=(Start("handle", "petition"),), change="accept"),
    _r("decline", UNIT_STAFF, OWN, [ROUTED], NOT_ACCEPTED, event="declined",
       required=("reason", "channel"), clocks=(Stop(),), change="decline"),
    # The leader names the handler (and may name another later).
    _r("assign", [LEADER], OWN, [ACCEPTED, IN_PROGRESS], IN_PROGRESS, event="assigned",
       required=("handler",), change="assign"),
    # Internal notes: never shown to the citizen.
    _r("note", [INTAKE], ANY, ALL, None, event="note", required=("text",)),
    _r("note", UNIT_STAFF, OWN, ALL, None, event="note", required=("text",)),
    _r("note", UNIT_STAFF, REVIEWER, ALL, None, event="note", required=("text",)),
    # 答复意见书: a handler drafts, the leader signs; a leader's own reply is issued at once.
    _r("reply", [HANDLER], OWN, [IN_PROGRESS], None, event="reply_drafted",
       required=("text",), change="draft"),
    _r("reply", [LEADER], OWN, [IN_PROGRESS], REPLIED, event="replied",
       required=("text",), clocks=(Start("review_request"),), change="issue"),
    _r("sign-reply", [LEADER], OWN, [IN_PROGRESS], REPLIED, event="replied",
       guards=("draft_pending",), optional=("text",), clocks=(Start("review_request"),), change="sign"),
    _r("sign-reply", [LEADER], REVIEWER, [UNDER_REVIEW], REVIEW_REPLIED, event="review_replied",
       guards=("draft_pending", "review_round"), optional=("text",),
       clocks=(Start("rereview_request"),), change="sign"),
    _r("sign-reply", [LEADER], REVIEWER, [UNDER_REVIEW], CLOSED, event="rereview_replied",
       guards=("draft_pending", "rereview_round"), optional=("text",), clocks=(Stop(),), change="sign"),
    # 延期: at most once, at most MAX_EXTENSION_DAYS, decided by the leader, reason told to the citizen.
    _r("request-extension", UNIT_STAFF, OWN, [ACCEPTED, IN_PROGRESS], None, event="extension_requested",
       guards=("no_extension",), required=("days", "reason"), change="extension_request"),
    _r("approve-extension", [LEADER], OWN, [ACCEPTED, IN_PROGRESS], None, event="extension_approved",
       guards=("extension_pending",), clocks=(Extend("handle"),), change="extension_approve"),
    _r("reject-extension", [LEADER], OWN, [ACCEPTED, IN_PROGRESS], None, event="extension_rejected",
       guards=("extension_pending",), required=("reason",), change="extension_reject"),
    # 办结: after the citizen is done with the reply (satisfied, or the review window passed).
    _r("close", [INTAKE], ANY, [REPLIED, REVIEW_REPLIED], CLOSED, event="closed",
       guards=("citizen_done",), optional=("text",), clocks=(Stop(),)),
    _r("close", [LEADER], OWN, [REPLIED], CLOSED, event="closed",
       guards=("citizen_done",), optional=("text",), clocks=(Stop(),)),
    _r("close", [LEADER], REVIEWER, [REVIEW_REPLIED], CLOSED, event="closed",
       guards=("citizen_done",), optional=("text",), clocks=(Stop(),)),
    _r("close", [INTAKE], ANY, [NOT_ACCEPTED], CLOSED, event="closed",
       optional=("text",), clocks=(Stop(),)),
    _r("close", [LEADER], OWN, [NOT_ACCEPTED], CLOSED, event="closed",
       optional=("text",), clocks=(Stop(),)),
    # A reply left unrated when its days for rating pass closes by itself (满意度 window).
    _r("close", [SYSTEM], ANY, [REPLIED, REVIEW_REPLIED], CLOSED, event="closed",
       guards=("unrated_reply", "rating_over"), clocks=(Stop(),), change="unrated"),
    # 督办: supervisors urge; they change no content.
    _r("urge", [SUPERVISOR], ANY, OPEN_STATUSES, None, event="urged", required=("text",)),
    # 电子监察: the sweep gives a running clock its card when it crosses into yellow, red, urged.
    _r("card-yellow", [SYSTEM], ANY, OPEN_STATUSES, None, event="card_yellow"),
    _r("card-red", [SYSTEM], ANY, OPEN_STATUSES, None, event="card_red"),
    _r("card-urged", [SYSTEM], ANY, OPEN_STATUSES, None, event="card_urged"),
    # 即办件: answered and closed the same day.
    _r("answer-on-spot", [INTAKE], ANY, [REGISTERED], CLOSED, event="answered_on_spot",
       guards=("not_report",), required=("text",), clocks=(Stop(),), change="on_spot"),
    _r("answer-on-spot", [INTAKE, HANDLER, LEADER], OWN, [ROUTED], CLOSED, event="answered_on_spot",
       guards=("not_report",), required=("text",), clocks=(Stop(),), change="on_spot"),
    # Duplicates: the later petition closes, pointing at the earlier one.
    _r("merge", [INTAKE], ANY, [REGISTERED, ROUTED], CLOSED, event="merged",
       required=("duplicate_of",), clocks=(Stop(),), change="merge"),
    # The citizen's side: rating, review (复查) and re-review (复核) requests.
    _r("rate", [CITIZEN], OWNER, [REPLIED, REVIEW_REPLIED, CLOSED], None, event="rated",
       guards=("unrated_reply", "rating_open"), required=("score",), optional=("comment",), change="rate"),
    _r("review-request", [CITIZEN], OWNER, [REPLIED], UNDER_REVIEW, event="review_requested",
       guards=("first_round", "window_open"), required=("reason",), clocks=(Start("review", "reviewer"),),
       change="review_request"),
    _r("rereview-request", [CITIZEN], OWNER, [REVIEW_REPLIED], UNDER_REVIEW, event="rereview_requested",
       guards=("window_open",), required=("reason",), clocks=(Start("rereview", "reviewer"),),
       change="review_request"),
    # 回访: the unit (or the bureau) records a follow-up with the citizen after a reply.
    _r("follow-up", UNIT_STAFF, OWN, AFTER_REPLY, None, event="followed_up",
       guards=("has_reply",), required=("outcome",), optional=("spoke_with", "citizen_view", "notes"),
       change="follow_up"),
    _r("follow-up", UNIT_STAFF, REVIEWER, AFTER_REPLY, None, event="followed_up",
       guards=("has_reply",), required=("outcome",), optional=("spoke_with", "citizen_view", "notes"),
       change="follow_up"),
    _r("follow-up", [INTAKE], ANY, AFTER_REPLY, None, event="followed_up",
       guards=("has_reply",), required=("outcome",), optional=("spoke_with", "citizen_view", "notes"),
       change="follow_up"),
    # The superior unit's opinions: same shape as the reply (handler drafts, leader issues).
    _r("review-reply", [HANDLER], REVIEWER, [UNDER_REVIEW], None, event="review_drafted",
       guards=("review_round",), required=("text",), change="draft"),
    _r("review-reply", [LEADER], REVIEWER, [UNDER_REVIEW], REVIEW_REPLIED, event="review_replied",
       guards=("review_round",), required=("text",), clocks=(Start("rereview_request"),), change="issue"),
    _r("rereview-reply", [HANDLER], REVIEWER, [UNDER_REVIEW], None, event="rereview_drafted",
       guards=("rereview_round",), required=("text",), change="draft"),
    _r("rereview-reply", [LEADER], REVIEWER, [UNDER_REVIEW], CLOSED, event="rereview_replied",
       guards=("rereview_round",), required=("text",), clocks=(Stop(),), change="issue"),
)
# fmt: on

ACTIONS: tuple[str, ...] = tuple(dict.fromkeys(r.action for r in RULES))


_BY_ACTION: dict[str, tuple[Rule, ...]] = {a: tuple(r for r in RULES if r.action == a) for a in ACTIONS}


def rules_for(action: str) -> tuple[Rule, ...]:
    """The rules of an action, in table order (none for an unknown one)."""
    return _BY_ACTION.get(action, ())


STAFF_ROLES = (INTAKE, HANDLER, LEADER, SUPERVISOR, ADMIN)
# Actions staff take (the API's /actions/{action}), the citizen's own, and the system's alone.
STAFF_ACTIONS: tuple[str, ...] = tuple(
    a for a in ACTIONS if any(set(STAFF_ROLES) & r.roles for r in rules_for(a))
)
CITIZEN_ACTIONS: tuple[str, ...] = tuple(
    a for a in ACTIONS if any(CITIZEN in r.roles for r in rules_for(a))
)
SYSTEM_ACTIONS: tuple[str, ...] = tuple(
    a for a in ACTIONS if all(r.roles == {SYSTEM} for r in rules_for(a))
)


# ---------------------------------------------------------------- deciding

ALLOWED = "allowed"
FORBIDDEN = "forbidden"  # the role or scope may never do this here
NOT_NOW = "not_now"  # allowed for this actor, but not in this state
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Decision:
    outcome: str
    rule: Rule | None = None
    reason: str = ""
    params: dict[str, str] = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        return self.outcome == ALLOWED


def decide(action: str, role: str, scopes: Iterable[str], state: State) -> Decision:
    """May `role`, bound to the petition by `scopes`, take `action` in `state`? And by which rule."""
    rules = rules_for(action)
    if not rules:
        return Decision(UNKNOWN, reason=N_("Unknown action."))
    scopes = set(scopes)
    mine = [r for r in rules if role in r.roles and r.scope in scopes]
    if not mine:
        return Decision(FORBIDDEN, reason=N_("You may not do this on this petition."))
    in_state = [r for r in mine if state.status in r.sources]
    if not in_state:
        return Decision(
            NOT_NOW,
            reason=N_("This cannot be done while the petition's status is “%(status)s”."),
            params={"status": state.status},
        )
    first_failure = ""
    for rule in in_state:
        failures = [why for name in rule.guards if (why := GUARDS[name](state)) is not None]
        if not failures:
            return Decision(ALLOWED, rule=rule)
        first_failure = first_failure or failures[0]
    return Decision(NOT_NOW, reason=first_failure)


def allowed_actions(role: str, scopes: Iterable[str], state: State) -> list[str]:
    """The actions this actor may take now, in table order (what a page offers, nothing else)."""
    return list(_allowed(role, frozenset(scopes), state))


@lru_cache(maxsize=4096)
def _allowed(role: str, scopes: frozenset[str], state: State) -> tuple[str, ...]:
    """`allowed_actions`, kept: the answer depends on nothing but its arguments, and a list of
    petitions asks it again for each row in the same few states."""
    return tuple(a for a in ACTIONS if decide(a, role, scopes, state).allowed)


# ---------------------------------------------------------------- what happens next


@dataclass(frozen=True)
class NextStep:
    """Who moves a petition on from here, by which actions, said to staff and to the citizen.
    `when`: a guard name (GUARDS) the state must pass, or None; the first row that matches wins."""

    status: str
    who: tuple[str, ...]
    actions: tuple[str, ...]
    staff: str
    citizen: str
    when: str | None = None


# fmt: off
NEXT_STEPS: tuple[NextStep, ...] = (
    NextStep(REGISTERED, (INTAKE,), ("route", "answer-on-spot", "merge"),
             N_("The intake office sends it to the unit responsible, or answers it on the spot."),
             N_("The petition bureau is checking your petition and will send it to the office responsible.")),
    NextStep(ROUTED, (HANDLER, LEADER), ("accept", "decline", "return"),
             N_("The unit decides whether to accept it: its handler or leader accepts it, declines it "
                "with the proper channel, or returns it to the intake office if it is not the unit's."),
             N_("The office responsible is deciding whether to accept your petition.")),
    NextStep(ACCEPTED, (LEADER,), ("assign",),
             N_("The unit's leader names the handler."),
             N_("Your petition has been accepted and the office responsible is handling it.")),
    NextStep(IN_PROGRESS, (LEADER,), ("approve-extension", "reject-extension"),
             N_("The unit's leader decides on the request for more time."),
             N_("The office responsible is handling your petition and will reply in writing."),
             when="extension_pending"),
    NextStep(IN_PROGRESS, (LEADER,), ("sign-reply",),
             N_("The unit's leader signs the reply draft (or corrects it), and the reply goes to the citizen."),
             N_("The office responsible is handling your petition and will reply in writing."),
             when="draft_pending"),
    NextStep(IN_PROGRESS, (HANDLER, LEADER), ("reply",),
             N_("The handler writes the reply; the unit's leader signs it."),
             N_("The office responsible is handling your petition and will reply in writing.")),
    NextStep(REPLIED, (INTAKE, LEADER), ("close",),
             N_("The citizen is done with the reply: the intake office or the unit's leader closes the petition."),
             N_("The petition will now be closed."),
             when="citizen_done"),
    NextStep(REPLIED, (CITIZEN,), ("rate", "review-request"),
             N_("The citizen rates the reply and may ask the superior unit for a review; "
                "after a satisfied rating or when the days for asking pass, the petition is closed."),
             N_("Please rate the reply. If you disagree with it, you may ask the superior unit to review it.")),
    NextStep(UNDER_REVIEW, (LEADER,), ("sign-reply",),
             N_("The superior unit's leader signs the review opinion, and it goes to the citizen."),
             N_("The superior unit is reviewing your petition and will give its opinion in writing."),
             when="draft_pending"),
    NextStep(UNDER_REVIEW, (HANDLER, LEADER), ("review-reply", "rereview-reply"),
             N_("The superior unit's handler writes the review opinion; its leader signs it."),
             N_("The superior unit is reviewing your petition and will give its opinion in writing.")),
    NextStep(REVIEW_REPLIED, (INTAKE, LEADER), ("close",),
             N_("The citizen is done with the opinion: the intake office or the reviewing unit's leader "
                "closes the petition."),
             N_("The petition will now be closed."),
             when="citizen_done"),
    NextStep(REVIEW_REPLIED, (CITIZEN,), ("rate", "rereview-request"),
             N_("The citizen rates the review opinion and may ask for a re-review; "
                "after a satisfied rating or when the days for asking pass, the petition is closed."),
             N_("Please rate the review opinion. If you still disagree, you may ask for a re-review.")),
    NextStep(NOT_ACCEPTED, (INTAKE, LEADER), ("close",),
             N_("The intake office or the unit's leader closes the petition; the citizen has been told "
                "the reason and where to turn."),
             N_("Your petition was not accepted here; the reason and where to turn are given above.")),
    NextStep(CLOSED, (CITIZEN,), ("rate",),
             N_("The petition is closed; the citizen may still rate the reply."),
             N_("The petition is closed. You may still rate the reply."),
             when="rating_pending"),
    NextStep(CLOSED, (), (),
             N_("The petition is closed; nothing is left to do."),
             N_("The petition is closed.")),
)
# fmt: on


def next_step(state: State) -> NextStep:
    """What happens next to a petition in `state`, and who does it (the first matching row)."""
    for step in NEXT_STEPS:
        if step.status == state.status and (step.when is None or GUARDS[step.when](state) is None):
            return step
    raise LookupError(state.status)


def missing_fields(rule: Rule, fields: dict[str, object]) -> list[str]:
    """Required fields of `rule` that are absent or blank."""
    return [
        name for name in rule.required if fields.get(name) in (None, "") or str(fields[name]).strip() == ""
    ]
