"""What a filing, an action, the citizen's look-up, the staff petition page and the queues cost in SQL statements: a
fixed number, whatever the data (a long history, a full queue). Counted on the engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from petitions.extensions import db
from petitions.services import actions
from tests.handling import act, as_citizen, file, logged_in, no_rule_for, user

pytestmark = pytest.mark.calendar

FILING_MAX = 8
ACTION_MAX = 10
PAGE_MAX = 12
LOOKUP = 2


@contextmanager
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_filing_costs_at_most_eight_statements(app):
    file(title="先热身")  # the reference data and the calendar are read once per process
    db.session.remove()
    with statements() as seen:
        petition, _code = file(title="路灯不亮")
    assert petition.status == "routed"
    assert len(seen) <= FILING_MAX, "\n".join(seen)


def test_an_action_costs_at_most_ten_statements(app):
    petition, _code = file(title="路灯不亮")
    handler = user("jtj-handler")
    number, version = petition.tracking_no, petition.version
    db.session.expire_all()
    with statements() as seen:
        actions.perform(number, "accept", handler, version)
    assert len(seen) <= ACTION_MAX, "\n".join(seen)


def _page_cost(client, tracking_no: str) -> int:
    client.get(f"/staff/petitions/{tracking_no}")  # warm: the login, the caches
    with statements() as seen:
        response = client.get(f"/staff/petitions/{tracking_no}")
    assert response.status_code == 200
    return len(seen)


def _handled_with_notes(title: str, notes: int):
    petition, _ = file(title=title)
    act(petition, "accept", "jtj-handler")
    for i in range(notes):
        act(petition, "note", "jtj-handler", text=f"第{i}次内部备注")
    act(petition, "request-extension", "jtj-handler", days=5, reason="需要协调")
    act(petition, "reply", "jtj-handler", text="答复草稿")
    return petition


def test_the_staff_petition_page_costs_the_same_whatever_its_history(app):
    fresh, _ = file(title="刚转来的件")
    short = _handled_with_notes("历史短的件", 1)
    long_ = _handled_with_notes("历史长的件", 25)
    client = logged_in(app.test_client(), "jtj-leader")
    costs = [_page_cost(client, p.tracking_no) for p in (fresh, short, long_)]
    assert max(costs) <= PAGE_MAX, costs
    # Twenty-four more events, not one more statement.
    assert costs[1] == costs[2], costs


def _lookup_cost(client, tracking_no: str, code: str) -> int:
    url = f"/api/v1/petitions/{tracking_no}?code={code}"
    client.get(url)  # warm: the reference data
    db.session.remove()
    with statements() as seen:
        response = client.get(url)
    assert response.status_code == 200
    return len(seen)


def test_the_citizens_look_up_costs_two_statements_whatever_its_history(app):
    fresh, fresh_code = file(title="刚登记的件")
    long_, long_code = file(title="历史长的件")
    act(long_, "accept", "jtj-handler")
    for i in range(25):
        act(long_, "note", "jtj-handler", text=f"第{i}次内部备注")
    act(long_, "request-extension", "jtj-handler", days=5, reason="需要协调")
    client = app.test_client()
    costs = [_lookup_cost(client, fresh.tracking_no, fresh_code), _lookup_cost(client, long_.tracking_no, long_code)]
    # The petition with its clocks; its record (replies, ratings, requests) with its public events.
    assert costs == [LOOKUP, LOOKUP], costs
    timeline = client.get(f"/api/v1/petitions/{long_.tracking_no}?code={long_code}").get_json()["timeline"]
    assert [e["type"] for e in timeline] == ["registered", "routed", "accepted"]
    assert not any("内部备注" in e["text"] for e in timeline)
    assert [e["at"] for e in timeline] == sorted(e["at"] for e in timeline)


def test_ratings_and_merged_petitions_cost_no_statement_of_their_own(app):
    """A rated petition that a later one was merged into: its staff page and the citizen's
    look-up cost what those of a petition replied to alone do (the rating's comment and what
    was merged come with the record), and show both."""

    def replied(title: str):
        petition, code = file(title=title)
        act(petition, "accept", "jtj-handler")
        act(petition, "assign", "jtj-leader", handler="jtj-handler")
        act(petition, "reply", "jtj-leader", text="已安排修补。")
        return petition, code

    plain, plain_code = replied("路面破损无人修")
    rated, rated_code = replied("门前路面破损")
    as_citizen(rated, "rate", score="unsatisfied", comment="至今没有修好")
    again, _ = file(title="门前路面破损又报")
    act(again, "merge", "intake", duplicate_of=rated.tracking_no)

    staff = logged_in(app.test_client(), "jtj-leader")
    assert _page_cost(staff, rated.tracking_no) == _page_cost(staff, plain.tracking_no)
    page = staff.get(f"/staff/petitions/{rated.tracking_no}").get_data(as_text=True)
    assert "至今没有修好" in page and again.tracking_no in page

    citizen = app.test_client()
    assert _lookup_cost(citizen, rated.tracking_no, rated_code) == _lookup_cost(
        citizen, plain.tracking_no, plain_code
    )
    answer = citizen.get(f"/api/v1/petitions/{rated.tracking_no}?code={rated_code}").get_json()
    assert (answer["rating"]["score"], answer["rating"]["comment"]) == ("unsatisfied", "至今没有修好")


def _queue_cost(client, url: str) -> int:
    client.get(url)
    with statements() as seen:
        response = client.get(url)
    assert response.status_code == 200
    return len(seen)


def test_the_queues_cost_the_same_for_a_full_page(app, staff_token):
    for i in range(2):
        file(title=f"第{i}件", phone=f"1390000{i:04d}")
    client = logged_in(app.test_client(), "jtj-handler")
    api = app.test_client()
    headers = {"Authorization": f"Bearer {staff_token('jtj-handler')}"}

    def api_cost() -> int:
        api.get("/api/v1/queue", headers=headers)
        with statements() as seen:
            response = api.get("/api/v1/queue", headers=headers)
        assert response.status_code == 200
        return len(seen)

    few = _queue_cost(client, "/staff/queue"), _queue_cost(client, "/staff/queue?level=green"), api_cost()
    for i in range(2, 12):
        file(title=f"第{i}件", phone=f"1390000{i:04d}")
    many = _queue_cost(client, "/staff/queue"), _queue_cost(client, "/staff/queue?level=green"), api_cost()
    assert many == few


def test_a_queue_page_costs_the_same_however_long_the_list(app, staff_token):
    """Full pages of 5 out of 11 petitions, then out of 40: the same statements, on the first
    page, on a page after a cursor and with a text search."""
    for i in range(11):
        file(title=f"噪音第{i}件", phone=f"1390000{i:04d}")
    handler = logged_in(app.test_client(), "jtj-handler")
    headers = {"Authorization": f"Bearer {staff_token('jtj-handler')}"}
    api = app.test_client()

    def costs() -> tuple[int, ...]:
        second = api.get("/api/v1/queue?per_page=5", headers=headers).get_json()["next"]
        found = []
        for url in (
            "/api/v1/queue?per_page=5",
            f"/api/v1/queue?per_page=5&after={second}",
            "/api/v1/queue?per_page=5&q=噪音",
        ):
            api.get(url, headers=headers)
            with statements() as seen:
                assert api.get(url, headers=headers).status_code == 200
            found.append(len(seen))
        found += [_queue_cost(handler, "/staff/queue?per_page=5"), _queue_cost(handler, "/staff/queue?per_page=5&q=噪音")]
        return tuple(found)

    few = costs()
    for i in range(11, 40):
        file(title=f"噪音第{i}件", phone=f"1390000{i:04d}")
    assert costs() == few


def test_the_intake_queues_cost_the_same_for_a_full_page(app, staff_token):
    """Intake's page and API queue: suggestions, possible duplicates and returns for every row,
    in statements that do not grow with the rows."""

    no_rule_for("jtys-dl")

    def waiting(i: int) -> None:
        # No rule routes it: it waits for intake; every second one repeats a phone.
        petition, _code = file(title=f"小区噪音扰民第{i}件", phone=f"1390000{i // 2:04d}")
        assert petition.status == "registered"

    waiting(0)
    waiting(1)
    client = logged_in(app.test_client(), "intake")
    api = app.test_client()
    headers = {"Authorization": f"Bearer {staff_token('intake')}"}

    def costs() -> tuple[int, int]:
        api.get("/api/v1/queue", headers=headers)
        with statements() as seen:
            answer = api.get("/api/v1/queue", headers=headers)
        assert answer.status_code == 200
        return _queue_cost(client, "/staff/intake"), len(seen)

    few = costs()
    for i in range(2, 14):
        waiting(i)
    assert costs() == few
    page = client.get("/staff/intake").get_data(as_text=True)
    assert page.count("小区噪音扰民第") >= 14
    flagged = api.get("/api/v1/queue", headers=headers).get_json()["items"]
    assert sum(1 for item in flagged if item["possible_duplicate_of"]) == 7
