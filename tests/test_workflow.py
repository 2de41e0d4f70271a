"""The state machine, pure: every action × role × scope × status against a hand-written list."""

from __future__ import annotations

import itertools

import pytest

from config.limits import TIME_LIMITS
from petitions.domain import workflow as wf

pytestmark = pytest.mark.pure

# Who is bound to the petition how (workflow scopes). A citizen is only ever "the owner"
# or nobody; staff always have "any" plus their unit's bond, if any.
BONDS = {
    "own_unit": {wf.ANY, wf.OWN},
    "other_unit": {wf.ANY},
    "reviewing_unit": {wf.ANY, wf.REVIEWER},
    "own_petition": {wf.OWNER},
    "stranger": set(),
}

# Hand-written from domain.md and api.md, not from the table: (action, role, bond) → statuses
# in which the action is allowed for some sub-state. Everything not listed is refused.
A = "registered routed accepted in_progress replied not_accepted under_review review_replied closed"
EXPECTED_TEXT = f"""
register          intake   other_unit      registered
route             intake   other_unit      registered routed
return            handler  own_unit        routed
return            leader   own_unit        routed
accept            handler  own_unit        routed
accept            leader   own_unit        routed
decline           handler  own_unit        routed
decline           leader   own_unit        routed
assign            leader   own_unit        accepted in_progress
note              intake   other_unit      {A}
note              handler  own_unit        {A}
note              leader   own_unit        {A}
note              handler  reviewing_unit  {A}
note              leader   reviewing_unit  {A}
reply             handler  own_unit        in_progress
reply             leader   own_unit        in_progress
sign-reply        leader   own_unit        in_progress
sign-reply        leader   reviewing_unit  under_review
request-extension handler  own_unit        accepted in_progress
request-extension leader   own_unit        accepted in_progress
approve-extension leader   own_unit        accepted in_progress
reject-extension  leader   own_unit        accepted in_progress
close             intake   other_unit      replied review_replied not_accepted
close             leader   own_unit        replied not_accepted
close             leader   reviewing_unit  review_replied
urge              supervisor other_unit    registered routed accepted in_progress under_review
answer-on-spot    intake   other_unit      registered
answer-on-spot    intake   own_unit        registered routed
answer-on-spot    handler  own_unit        routed
answer-on-spot    leader   own_unit        routed
merge             intake   other_unit      registered routed
rate              citizen  own_petition    replied review_replied closed
review-request    citizen  own_petition    replied
rereview-request  citizen  own_petition    review_replied
review-reply      handler  reviewing_unit  under_review
review-reply      leader   reviewing_unit  under_review
rereview-reply    handler  reviewing_unit  under_review
rereview-reply    leader   reviewing_unit  under_review
follow-up         intake   other_unit      replied under_review review_replied closed
follow-up         handler  own_unit        replied under_review review_replied closed
follow-up         leader   own_unit        replied under_review review_replied closed
follow-up         handler  reviewing_unit  replied under_review review_replied closed
follow-up         leader   reviewing_unit  replied under_review review_replied closed
route             system   other_unit      registered
close             system   other_unit      replied review_replied
card-yellow       system   other_unit      registered routed accepted in_progress under_review
card-red          system   other_unit      registered routed accepted in_progress under_review
card-urged        system   other_unit      registered routed accepted in_progress under_review
"""


def _expected() -> set[tuple[str, str, str, str]]:
    allowed = set()
    for line in EXPECTED_TEXT.strip().splitlines():
        action, role, bond, *statuses = line.split()
        for status in statuses:
            allowed.add((action, role, bond, status))
            # Staff bound to the unit are also "any": what others may, they may too.
            if bond == "other_unit":
                for b in ("own_unit", "reviewing_unit"):
                    allowed.add((action, role, b, status))
    return allowed


EXPECTED = _expected()

# Sub-state variants: an action counts as allowed in a status if some variant allows it.
VARIANTS = [
    wf.State(
        status="",
        draft_pending=draft,
        extension=ext,
        review_round=rnd,
        window_open=window,
        has_reply=has_reply,
        rated=rated,
        satisfied=satisfied,
        rating_open=rating_open,
    )
    for draft, ext, rnd, window, (has_reply, rated, satisfied), rating_open in itertools.product(
        (False, True),
        (wf.EXT_NONE, wf.EXT_PENDING),
        (wf.FIRST_REPLY, wf.REVIEW, wf.REREVIEW),
        (True, False),
        ((False, False, False), (True, False, False), (True, True, True)),
        (True, False),
    )
]


def _with_status(state: wf.State, status: str) -> wf.State:
    return wf.State(**{**state.__dict__, "status": status})


def test_matrix_matches_hand_written_expectation():
    actual = set()
    for action, role, (bond, scopes), status in itertools.product(
        wf.ACTIONS, wf.ROLES, BONDS.items(), wf.STATUSES
    ):
        if any(wf.decide(action, role, scopes, _with_status(v, status)).allowed for v in VARIANTS):
            actual.add((action, role, bond, status))
    missing = sorted(EXPECTED - actual)
    extra = sorted(actual - EXPECTED)
    assert not missing, f"refused but should be allowed: {missing}"
    assert not extra, f"allowed but should be refused: {extra}"


@pytest.mark.parametrize("action", wf.ACTIONS)
def test_refusals_say_why_and_distinguish_role_from_state(action):
    """Wrong role or bond → forbidden; right actor, wrong status → not now (409); nothing is silent."""
    for role, (bond, scopes), status in itertools.product(wf.ROLES, BONDS.items(), wf.STATUSES):
        decisions = [wf.decide(action, role, scopes, _with_status(v, status)) for v in VARIANTS]
        if (action, role, bond, status) in EXPECTED:
            continue
        for d in decisions:
            assert not d.allowed
            assert d.reason, (action, role, bond, status)
        role_ever_allowed = any((action, role, bond, s) in EXPECTED for s in wf.STATUSES)
        outcomes = {d.outcome for d in decisions}
        if role_ever_allowed:
            assert outcomes == {wf.NOT_NOW}, (action, role, bond, status, outcomes)
        else:
            assert outcomes == {wf.FORBIDDEN}, (action, role, bond, status, outcomes)


def test_unknown_action():
    d = wf.decide("delete", wf.ADMIN, {wf.ANY}, wf.State(wf.REGISTERED))
    assert d.outcome == wf.UNKNOWN and not d.allowed


# ---------------------------------------------------------------- sub-state guards, by hand

OWN = BONDS["own_unit"]
REV = BONDS["reviewing_unit"]
MINE = BONDS["own_petition"]


def test_handler_reply_is_a_draft_and_leader_reply_is_issued():
    s = wf.State(wf.IN_PROGRESS)
    draft = wf.decide("reply", wf.HANDLER, OWN, s)
    issue = wf.decide("reply", wf.LEADER, OWN, s)
    assert draft.rule.target is None and draft.rule.change == "draft" and not draft.rule.public
    assert issue.rule.target == wf.REPLIED and issue.rule.change == "issue" and issue.rule.public
    assert issue.rule.clocks == (wf.Start("review_request"),)


def test_sign_reply_needs_a_draft_and_lands_by_round():
    assert wf.decide("sign-reply", wf.LEADER, OWN, wf.State(wf.IN_PROGRESS)).outcome == wf.NOT_NOW
    assert wf.decide(
        "sign-reply", wf.LEADER, OWN, wf.State(wf.IN_PROGRESS, draft_pending=True)
    ).rule.target == (wf.REPLIED)
    review = wf.State(wf.UNDER_REVIEW, draft_pending=True, review_round=wf.REVIEW)
    rereview = wf.State(wf.UNDER_REVIEW, draft_pending=True, review_round=wf.REREVIEW)
    assert wf.decide("sign-reply", wf.LEADER, REV, review).rule.target == wf.REVIEW_REPLIED
    assert wf.decide("sign-reply", wf.LEADER, REV, rereview).rule.target == wf.CLOSED
    # The handling unit's leader does not sign the superior unit's opinion.
    assert wf.decide("sign-reply", wf.LEADER, OWN, review).outcome == wf.NOT_NOW


def test_one_extension_only():
    s = wf.State(wf.IN_PROGRESS)
    assert wf.decide("request-extension", wf.HANDLER, OWN, s).allowed
    pending = wf.State(wf.IN_PROGRESS, extension=wf.EXT_PENDING)
    d = wf.decide("request-extension", wf.HANDLER, OWN, pending)
    assert d.outcome == wf.NOT_NOW and "already waiting" in d.reason
    used = wf.State(wf.IN_PROGRESS, extension=wf.EXT_APPROVED)
    d = wf.decide("request-extension", wf.HANDLER, OWN, used)
    assert d.outcome == wf.NOT_NOW and "second extension" in d.reason
    assert not wf.decide("approve-extension", wf.LEADER, OWN, s).allowed
    assert wf.decide("approve-extension", wf.LEADER, OWN, pending).rule.clocks == (wf.Extend("handle"),)
    assert wf.decide("approve-extension", wf.HANDLER, OWN, pending).outcome == wf.FORBIDDEN


def test_close_waits_for_the_citizen():
    unsatisfied_window_open = wf.State(
        wf.REPLIED, window_open=True, has_reply=True, rated=True, satisfied=False
    )
    d = wf.decide("close", wf.LEADER, OWN, unsatisfied_window_open)
    assert d.outcome == wf.NOT_NOW and "review" in d.reason
    assert wf.decide("close", wf.LEADER, OWN, wf.State(wf.REPLIED, window_open=False)).allowed
    assert wf.decide(
        "close", wf.INTAKE, {wf.ANY}, wf.State(wf.REPLIED, window_open=True, satisfied=True)
    ).allowed


def test_review_request_window_and_rounds():
    open_ = wf.State(wf.REPLIED, window_open=True, has_reply=True)
    d = wf.decide("review-request", wf.CITIZEN, MINE, open_)
    assert d.rule.target == wf.UNDER_REVIEW and d.rule.clocks == (wf.Start("review", "reviewer"),)
    late = wf.State(wf.REPLIED, window_open=False, has_reply=True)
    assert "30 days" in wf.decide("review-request", wf.CITIZEN, MINE, late).reason
    assert wf.decide("review-request", wf.CITIZEN, set(), open_).outcome == wf.FORBIDDEN
    assert wf.decide("review-request", wf.LEADER, OWN, open_).outcome == wf.FORBIDDEN
    assert wf.decide(
        "review-reply", wf.LEADER, REV, wf.State(wf.UNDER_REVIEW, review_round=wf.REVIEW)
    ).allowed
    assert not wf.decide(
        "review-reply", wf.LEADER, REV, wf.State(wf.UNDER_REVIEW, review_round=wf.REREVIEW)
    ).allowed
    assert not wf.decide(
        "rereview-reply", wf.LEADER, REV, wf.State(wf.UNDER_REVIEW, review_round=wf.REVIEW)
    ).allowed
    assert wf.decide(
        "rereview-reply", wf.LEADER, REV, wf.State(wf.UNDER_REVIEW, review_round=wf.REREVIEW)
    ).rule.target == (wf.CLOSED)


def test_rating_once_per_reply():
    assert wf.decide("rate", wf.CITIZEN, MINE, wf.State(wf.REPLIED, has_reply=True)).allowed
    assert (
        "already been rated"
        in wf.decide("rate", wf.CITIZEN, MINE, wf.State(wf.REPLIED, has_reply=True, rated=True)).reason
    )
    assert "no reply" in wf.decide("rate", wf.CITIZEN, MINE, wf.State(wf.CLOSED)).reason


def test_reports_are_not_answered_on_the_spot():
    assert wf.decide("answer-on-spot", wf.INTAKE, {wf.ANY}, wf.State(wf.REGISTERED)).allowed
    d = wf.decide("answer-on-spot", wf.INTAKE, {wf.ANY}, wf.State(wf.REGISTERED, is_report=True))
    assert d.outcome == wf.NOT_NOW and "discipline" in d.reason


def test_supervisors_change_no_content():
    every_state = [_with_status(v, s) for v in VARIANTS for s in wf.STATUSES]
    for bond in ("own_unit", "other_unit", "reviewing_unit"):
        allowed = {a for st in every_state for a in wf.allowed_actions(wf.SUPERVISOR, BONDS[bond], st)}
        assert allowed == {"urge"}
        assert not {a for st in every_state for a in wf.allowed_actions(wf.ADMIN, BONDS[bond], st)}


def test_the_handler_who_accepts_handles_it_and_a_leader_who_accepts_assigns_next():
    routed = wf.State(wf.ROUTED)
    by_handler = wf.decide("accept", wf.HANDLER, OWN, routed)
    by_leader = wf.decide("accept", wf.LEADER, OWN, routed)
    assert by_handler.rule.target == wf.IN_PROGRESS and by_handler.rule.event == "accepted"
    assert by_leader.rule.target == wf.ACCEPTED and by_leader.rule.event == "accepted"
    # Either way the handling clock starts, and the handler may draft at once after accepting.
    assert by_handler.rule.clocks == by_leader.rule.clocks == (wf.Start("handle", "petition"),)
    assert wf.decide("reply", wf.HANDLER, OWN, wf.State(by_handler.rule.target)).allowed
    assert wf.decide("assign", wf.LEADER, OWN, wf.State(by_leader.rule.target)).allowed


def test_system_transitions_are_rules_that_write_one_event_each():
    """Routing at filing, closing a reply left unrated, and the sweep's cards: rows of RULES
    with the system as the actor, decided like any other."""
    any_ = {wf.ANY}
    route = wf.decide("route", wf.SYSTEM, any_, wf.State(wf.REGISTERED))
    assert route.allowed and route.rule.target == wf.ROUTED and route.rule.event == "routed"
    assert route.rule.clocks == (wf.Start("accept", "petition"),)
    assert not wf.decide("route", wf.SYSTEM, any_, wf.State(wf.ROUTED)).allowed  # re-routing is intake's

    unrated = wf.State(wf.REPLIED, has_reply=True, rated=False, rating_open=False)
    close = wf.decide("close", wf.SYSTEM, any_, unrated)
    assert close.allowed and close.rule.target == wf.CLOSED and close.rule.event == "closed"
    assert close.rule.clocks == (wf.Stop(),)
    # Not while the citizen may still rate, nor once they have rated.
    assert not wf.decide("close", wf.SYSTEM, any_, wf.State(wf.REPLIED, has_reply=True)).allowed
    rated = wf.State(wf.REPLIED, has_reply=True, rated=True, rating_open=False)
    assert not wf.decide("close", wf.SYSTEM, any_, rated).allowed

    for action, event in (("card-yellow", "card_yellow"), ("card-red", "card_red"), ("card-urged", "card_urged")):
        card = wf.decide(action, wf.SYSTEM, any_, wf.State(wf.IN_PROGRESS))
        assert card.allowed and card.rule.target is None and card.rule.event == event and not card.rule.public
        assert not wf.decide(action, wf.SYSTEM, any_, wf.State(wf.CLOSED)).allowed
        # Nobody but the system gives cards.
        for role in (wf.INTAKE, wf.HANDLER, wf.LEADER, wf.SUPERVISOR, wf.ADMIN):
            assert wf.decide(action, role, any_ | {wf.OWN}, wf.State(wf.IN_PROGRESS)).outcome == wf.FORBIDDEN
    assert set(wf.SYSTEM_ACTIONS) == {"card-yellow", "card-red", "card-urged"}
    # Every rule writes exactly one event, of a type the events table knows.
    from petitions.domain.events import EVENT_TYPES

    assert all(rule.event in EVENT_TYPES for rule in wf.RULES)


def test_the_whole_road_in_order():
    """file → route → accept → assign → extend → draft → sign → rate → review → opinion → close."""
    s = wf.State(wf.REGISTERED)
    steps = [
        ("route", wf.INTAKE, {wf.ANY}, {}, wf.ROUTED),
        ("accept", wf.LEADER, OWN, {}, wf.ACCEPTED),
        ("assign", wf.LEADER, OWN, {}, wf.IN_PROGRESS),
        ("request-extension", wf.HANDLER, OWN, {}, wf.IN_PROGRESS),
        ("approve-extension", wf.LEADER, OWN, {"extension": wf.EXT_PENDING}, wf.IN_PROGRESS),
        ("reply", wf.HANDLER, OWN, {"extension": wf.EXT_APPROVED}, wf.IN_PROGRESS),
        ("sign-reply", wf.LEADER, OWN, {"draft_pending": True}, wf.REPLIED),
        (
            "rate",
            wf.CITIZEN,
            MINE,
            {"draft_pending": False, "has_reply": True, "window_open": True},
            wf.REPLIED,
        ),
        ("review-request", wf.CITIZEN, MINE, {"rated": True}, wf.UNDER_REVIEW),
        ("review-reply", wf.LEADER, REV, {"review_round": wf.REVIEW, "rated": False}, wf.REVIEW_REPLIED),
        ("close", wf.LEADER, REV, {"rated": True, "satisfied": True}, wf.CLOSED),
    ]
    for action, role, scopes, sub, expected in steps:
        s = wf.State(**{**s.__dict__, **sub})
        d = wf.decide(action, role, scopes, s)
        assert d.allowed, (action, d.reason)
        s = _with_status(s, d.rule.target or s.status)
        assert s.status == expected, action


# ---------------------------------------------------------------- the table's own consistency


def test_table_names_only_known_things():
    from petitions.models import Role, Status

    assert set(wf.STATUSES) == set(Status.values())
    # Every role of an account, and the system itself (which has none).
    assert set(wf.ROLES) == set(Role.values()) | {wf.SYSTEM}
    for rule in wf.RULES:
        assert rule.roles <= set(wf.ROLES), rule
        assert rule.sources <= set(wf.STATUSES), rule
        assert rule.target is None or rule.target in wf.STATUSES, rule
        assert rule.scope in wf.SCOPES, rule
        assert all(g in wf.GUARDS for g in rule.guards), rule
        for op in rule.clocks:
            if isinstance(op, (wf.Start, wf.Extend)):
                assert op.kind in TIME_LIMITS, rule
        # A rule that ends in a terminal state stops the clocks.
        if rule.target in (wf.CLOSED, wf.NOT_ACCEPTED):
            assert wf.Stop() in rule.clocks, rule


def test_every_public_event_has_a_citizen_text():
    from petitions.domain.events import EVENT_TYPES

    public_events = {r.event for r in wf.RULES if r.public}
    with_text = {name for name, t in EVENT_TYPES.items() if t.citizen_text}
    assert public_events <= with_text, public_events - with_text
    # ... and every type has a staff label, and only public types have a citizen text.
    assert all(t.label for t in EVENT_TYPES.values())
    assert all(t.public for t in EVENT_TYPES.values() if t.citizen_text)


def test_what_follows_each_event_is_in_the_effects_table():
    """Every rule that closes a petition counts the closure; every event that texts someone
    writes its messages; what the effects table names exists."""
    from petitions.domain.events import EVENT_TYPES
    from petitions.services import effects, facts, messages

    for rule in wf.RULES:
        if rule.target == wf.CLOSED:
            assert facts.closed in effects.ON_EVENT.get(rule.event, []), rule
    for name, kind in EVENT_TYPES.items():
        if kind.hears:
            assert messages.tell in effects.ON_EVENT.get(name, []), name
    for name in effects.ON_EVENT:
        assert name in EVENT_TYPES or name.startswith("clock."), name


def test_missing_fields():
    rule = wf.decide("decline", wf.HANDLER, OWN, wf.State(wf.ROUTED)).rule
    assert wf.missing_fields(rule, {"reason": "  ", "channel": "法院"}) == ["reason"]
    assert wf.missing_fields(rule, {"reason": "涉诉", "channel": "法院"}) == []
