"""Every page that shows a petition says what happens next and who does it (one table in the
workflow, petitions.domain.workflow.NEXT_STEPS), and the table agrees with the rules."""

from __future__ import annotations

import html as html_lib
import itertools
import re

import pytest

from petitions.domain import workflow as wf
from tests.handling import act, as_citizen, file, logged_in, user
from tests.test_admin import _csrf

pytestmark = pytest.mark.calendar

# ---------------------------------------------------------------- the table against the rules

SUB_STATES = [
    wf.State(status, draft_pending=d, extension=e, review_round=r, window_open=w, has_reply=h, rated=rt,
             satisfied=sat, rating_open=ro)
    for status, d, e, r, w, h, rt, sat, ro in itertools.product(
        wf.STATUSES, (False, True), (wf.EXT_NONE, wf.EXT_PENDING, wf.EXT_APPROVED), (0, 1, 2),
        (False, True), (False, True), (False, True), (False, True), (False, True),
    )
]  # fmt: skip


def _possible(s: wf.State) -> bool:
    """The sub-states a petition can be in (a reply before any review round, and so on)."""
    rounds = {wf.REPLIED: {0}, wf.REVIEW_REPLIED: {1}, wf.UNDER_REVIEW: {1, 2}, wf.CLOSED: {0, 1, 2}}
    replied = s.status in (wf.REPLIED, wf.REVIEW_REPLIED, wf.UNDER_REVIEW)
    return (
        s.review_round in rounds.get(s.status, {0})
        and (s.has_reply if replied else s.has_reply in (False, s.status == wf.CLOSED))
        and (s.has_reply or not s.rated)
        and (s.rated or not s.satisfied)
        and (not s.draft_pending or s.status in (wf.IN_PROGRESS, wf.UNDER_REVIEW))
        and (s.extension != wf.EXT_PENDING or s.status in (wf.ACCEPTED, wf.IN_PROGRESS))
    )


SUB_STATES = [s for s in SUB_STATES if _possible(s)]
EVERY_SCOPE = {wf.ANY, wf.OWN, wf.REVIEWER, wf.OWNER}
MOVERS = {"note", "urge", "follow-up", "card-yellow", "card-red", "card-urged"}  # they never move it on


def test_every_state_has_a_next_step_for_its_status():
    for state in SUB_STATES:
        assert wf.next_step(state).status == state.status


@pytest.mark.parametrize("status", wf.STATUSES)
def test_who_is_named_can_do_it_and_what_is_named_can_be_done(status):
    """Each person the step names has one of its actions open to them in that state, and each of
    its actions is open to one of them: the page never sends anyone to a dead end."""
    for state in (s for s in SUB_STATES if s.status == status):
        step = wf.next_step(state)
        allowed = {role: set(wf.allowed_actions(role, EVERY_SCOPE, state)) for role in step.who}
        for role in step.who:
            assert allowed[role] & set(step.actions), (state, role, step.actions)
        for action in step.actions:
            assert any(action in allowed[role] for role in step.who) or _never_in(action, state), (state, action)


def _never_in(action: str, state: wf.State) -> bool:
    """An action a step lists for another sub-state (review-reply in a re-review round...)."""
    return all(not wf.decide(action, role, EVERY_SCOPE, state).allowed for role in wf.ROLES)


def test_a_step_without_anyone_is_a_petition_nobody_can_move():
    for state in SUB_STATES:
        if wf.next_step(state).who:
            continue
        for role in (wf.INTAKE, wf.HANDLER, wf.LEADER, wf.CITIZEN):
            assert set(wf.allowed_actions(role, EVERY_SCOPE, state)) <= MOVERS, (state, role)


def test_written_out_by_hand():
    assert wf.next_step(wf.State(wf.REGISTERED)).who == (wf.INTAKE,)
    assert wf.next_step(wf.State(wf.ROUTED)).who == (wf.HANDLER, wf.LEADER)
    assert wf.next_step(wf.State(wf.ACCEPTED)).actions == ("assign",)
    assert wf.next_step(wf.State(wf.IN_PROGRESS)).actions == ("reply",)
    assert wf.next_step(wf.State(wf.IN_PROGRESS, draft_pending=True)).actions == ("sign-reply",)
    assert wf.next_step(wf.State(wf.IN_PROGRESS, extension=wf.EXT_PENDING, draft_pending=True)).who == (
        wf.LEADER,
    )
    waiting = wf.State(wf.REPLIED, window_open=True, has_reply=True)
    assert wf.next_step(waiting).who == (wf.CITIZEN,)
    assert wf.next_step(wf.State(wf.REPLIED, window_open=False, has_reply=True)).actions == ("close",)
    assert wf.next_step(wf.State(wf.REPLIED, window_open=True, satisfied=True)).actions == ("close",)
    assert wf.next_step(wf.State(wf.CLOSED, has_reply=True, rating_open=False)).who == ()
    assert wf.next_step(wf.State(wf.CLOSED, has_reply=True)).who == (wf.CITIZEN,)


# ---------------------------------------------------------------- on the pages


def _next_panel(html: str) -> str:
    found = re.search(r'<section class="panel next-step[^"]*"[^>]*>(.*?)</section>', html, re.S)
    assert found, "no next-step panel"
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", found.group(1))))


def test_after_a_leader_accepts_every_page_says_the_leader_names_the_handler(app):
    petition, _code = file()
    act(petition, "accept", "jtj-leader")
    no = petition.tracking_no
    handler_page = logged_in(app.test_client(), "jtj-handler").get(f"/staff/petitions/{no}?lang=en")
    leader_page = logged_in(app.test_client(), "jtj-leader").get(f"/staff/petitions/{no}?lang=en")
    for response in (handler_page, leader_page):
        assert response.status_code == 200
        assert "The unit's leader names the handler." in _next_panel(response.get_data(as_text=True))
    assert "that is you" not in _next_panel(handler_page.get_data(as_text=True))
    assert "that is you" in _next_panel(leader_page.get_data(as_text=True))
    leader_name = _next_panel(leader_page.get_data(as_text=True))
    assert "the unit's leader (" in leader_name


def test_the_handler_who_accepts_is_named_as_the_one_who_writes_the_reply(app):
    petition, _code = file()
    act(petition, "accept", "jtj-handler")
    handler = user("jtj-handler")
    page = logged_in(app.test_client(), "jtj-handler").get(f"/staff/petitions/{petition.tracking_no}?lang=en")
    panel = _next_panel(page.get_data(as_text=True))
    assert "The handler writes the reply" in panel
    assert f"the handler {handler.name}" in panel and "that is you" in panel
    api = app.test_client()
    logged_in(api, "jtj-handler")
    body = logged_in(app.test_client(), "intake").get(f"/staff/petitions/{petition.tracking_no}?lang=en")
    assert "that is you" not in _next_panel(body.get_data(as_text=True))


def _look_up(client, tracking_no: str, code: str) -> str:
    token = _csrf(client.get("/track?lang=en").get_data(as_text=True))
    response = client.post("/track?lang=en", data={"csrf_token": token, "tracking_no": tracking_no, "code": code})
    assert response.status_code == 200
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def test_the_citizen_is_told_what_happens_next_and_when_it_is_theirs(app):
    petition, code = file()
    client = app.test_client()
    text = _look_up(client, petition.tracking_no, code)
    assert "What happens next: The office responsible is deciding whether to accept your petition." in text
    act(petition, "accept", "jtj-handler")
    act(petition, "reply", "jtj-leader", text="已安排维修，一周内完成。")
    assert "Please rate the reply." in _look_up(client, petition.tracking_no, code)
    as_citizen(petition, "rate", score="satisfied")
    assert "What happens next: The petition will now be closed." in _look_up(client, petition.tracking_no, code)
