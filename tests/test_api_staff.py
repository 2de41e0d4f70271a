"""The staff half of the API: queue, staff view, actions, staff intake, and their errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from petitions.domain.clocks import set_clock
from petitions.services import actions
from tests.handling import act, file, user

pytestmark = pytest.mark.calendar


def _auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _post_action(client, token, tn, action, **body):
    return client.post(f"/api/v1/petitions/{tn}/actions/{action}", json=body, headers=_auth(token))


def test_queue_needs_a_staff_token(client):
    assert client.get("/api/v1/queue").status_code == 401
    r = client.get("/api/v1/queue", headers=_auth("not-a-token"))
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"


def test_queue_holds_the_callers_petitions_with_filters_and_paging(client, staff_token):
    a, _ = file(title="路灯不亮")
    b, _ = file(title="公交站台破损", category="jtys-gj")
    c, _ = file(title="违建扰民", category="cxjs-wj", township="xicheng")
    act(b, "accept", "jtj-handler")
    token = staff_token("jtj-handler")
    r = client.get("/api/v1/queue", headers=_auth(token))
    assert r.status_code == 200
    body = r.get_json()
    numbers = {i["tracking_no"] for i in body["items"]}
    assert {a.tracking_no, b.tracking_no} <= numbers and c.tracking_no not in numbers
    item = next(i for i in body["items"] if i["tracking_no"] == a.tracking_no)
    assert item["status"] == "routed" and item["unit"]["code"] == "jtj" and item["level"] == "green"
    assert item["version"] == a.version and item["due_at"].endswith("+08:00")

    # The handler who accepted it handles it.
    r = client.get("/api/v1/queue?status=in_progress", headers=_auth(token))
    assert [i["tracking_no"] for i in r.get_json()["items"]] == [b.tracking_no]
    r = client.get("/api/v1/queue?q=路灯", headers=_auth(token))
    assert [i["tracking_no"] for i in r.get_json()["items"]] == [a.tracking_no]
    r = client.get("/api/v1/queue?per_page=1&page=2", headers=_auth(token))
    assert r.get_json()["total"] >= 2 and len(r.get_json()["items"]) == 1
    for bad in ("per_page=101", "page=0", "status=lost", "level=purple"):
        r = client.get(f"/api/v1/queue?{bad}", headers=_auth(token))
        assert r.status_code == 422, bad

    intake = staff_token("intake")
    r = client.get("/api/v1/queue?unit=cgj&per_page=100", headers=_auth(intake))
    assert all(i["unit"]["code"] == "cgj" for i in r.get_json()["items"])
    r = client.get("/api/v1/queue?unit=xicheng", headers=_auth(intake))
    assert c.tracking_no in {i["tracking_no"] for i in r.get_json()["items"]}


def test_queue_level_filter(client, staff_token):
    start = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 2 March 2026, 10:00 in the bureau
    set_clock(lambda: start)
    late, _ = file(title="逾期的件")
    set_clock(lambda: start + timedelta(days=6))
    fresh, _ = file(title="新来的件")
    # The accept limit of jtys-dl is 3 calendar days committed: the first, due at the end of
    # Thursday 5 March, is overdue on Sunday 8 March; the second, filed then, is new.

    def numbers(level):
        token = staff_token("jtj-leader")  # tokens expire: one per moment
        r = client.get(f"/api/v1/queue?level={level}&per_page=100", headers=_auth(token))
        assert r.status_code == 200
        return {i["tracking_no"] for i in r.get_json()["items"]}

    assert late.tracking_no in numbers("red") and late.tracking_no not in numbers("green")
    assert fresh.tracking_no in numbers("green") and fresh.tracking_no not in numbers("red")
    set_clock(lambda: start + timedelta(days=6, hours=60))
    assert fresh.tracking_no in numbers("yellow")


def test_staff_view_within_rights(client, staff_token):
    p, code = file(phone="13812345678")
    act(p, "note", "jtj-handler", text="内部备注：已电话联系")
    r = client.get(f"/api/v1/petitions/{p.tracking_no}", headers=_auth(staff_token("jtj-handler")))
    assert r.status_code == 200
    view = r.get_json()
    assert view["contact"]["phone"] == "13812345678" and view["version"] == p.version
    assert "accept" in view["actions"] and "approve-extension" not in view["actions"]
    note = view["events"][-1]
    assert note["type"] == "note" and note["public"] is False and "已电话联系" in note["text"]
    assert view["clocks"][-1]["kind"] == "accept"

    r = client.get(f"/api/v1/petitions/{p.tracking_no}", headers=_auth(staff_token("supervisor")))
    assert r.get_json()["contact"]["phone"] == "138****5678"
    assert r.get_json()["actions"] == ["urge"]

    # Out of scope: exactly like an unknown number.
    other = client.get(f"/api/v1/petitions/{p.tracking_no}", headers=_auth(staff_token("dongcheng-handler")))
    unknown = client.get(
        "/api/v1/petitions/XF00000000000000", headers=_auth(staff_token("dongcheng-handler"))
    )
    assert other.status_code == unknown.status_code == 404
    assert other.get_json() == unknown.get_json()

    # The citizen's look-up never shows the note.
    r = client.get(f"/api/v1/petitions/{p.tracking_no}?code={code}")
    assert r.status_code == 200 and "已电话联系" not in r.get_data(as_text=True)


def test_report_filer_hidden_from_units_but_not_from_discipline_or_bureau(app, client, staff_token):
    home = "青山县东城街道幸福路12号3单元"
    p, _ = file(
        title="举报东城街道干部吃拿卡要", category="jjkg-zf", phone="13811112222", name="赵六", address=home
    )
    assert p.unit.code == "jw"
    act(p, "accept", "jw-handler")
    act(p, "assign", "jw-leader", handler="jw-handler")
    act(p, "reply", "jw-leader", text="已立案调查。")
    actions.request_review(p, "不满意")

    def contact(username):
        r = client.get(f"/api/v1/petitions/{p.tracking_no}", headers=_auth(staff_token(username)))
        assert r.status_code == 200, username
        return r.get_json(), r.get_data(as_text=True)

    for username in ("jw-handler", "intake"):
        view, _ = contact(username)
        assert view["contact"]["name"] == "赵六" and view["contact"]["phone"] == "13811112222"
        assert view["address"] == "青山县东城街道幸福路12号3单元"
    view, raw = contact("gov-leader")  # the superior unit reviewing it
    assert view["contact"] == {"name": None, "phone": None, "hidden": True, "anonymous": False}
    assert view["address"] is None
    assert "赵六" not in raw and "13811112222" not in raw and "2222" not in raw and "幸福路" not in raw
    # Nor on the unit's staff page.
    web = app.test_client()
    with web.session_transaction() as session:
        session["_user_id"] = str(user("gov-leader").id)
        session["_fresh"] = True
    page = web.get(f"/staff/petitions/{p.tracking_no}")
    assert page.status_code == 200
    assert p.tracking_no in page.get_data(as_text=True) and "幸福路" not in page.get_data(as_text=True)
    assert (
        client.get(
            f"/api/v1/petitions/{p.tracking_no}", headers=_auth(staff_token("dongcheng-leader"))
        ).status_code
        == 404
    )


def test_actions_answer_the_new_state(client, staff_token):
    p, _ = file()
    seen = p.version
    token = staff_token("jtj-handler")
    r = _post_action(client, token, p.tracking_no, "accept", version=seen)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "in_progress" and body["version"] == seen + 1
    assert body["handler"]["username"] == "jtj-handler"
    assert (
        body["events"][-1]["type"] == "accepted" and body["events"][-1]["actor"]["username"] == "jtj-handler"
    )

    # The same request again is stale.
    r = _post_action(client, token, p.tracking_no, "accept", version=seen)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "stale"
    # The right version, the wrong state.
    r = _post_action(client, token, p.tracking_no, "accept", version=body["version"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_allowed"
    assert r.get_json()["error"]["message"]


@pytest.mark.parametrize(
    ("username", "action", "body", "status", "field"),
    [
        ("dongcheng-handler", "accept", {}, 404, None),
        ("supervisor", "accept", {}, 403, None),
        ("jtj-handler", "approve-extension", {}, 403, None),
        ("jtj-handler", "frobnicate", {}, 404, None),
        ("jtj-handler", "rate", {"score": "satisfied"}, 404, None),  # the citizen's, not here
        ("jtj-handler", "decline", {"reason": "不属职责"}, 422, "channel"),
        ("intake", "route", {"unit": "nosuch"}, 422, "unit"),
        ("supervisor", "urge", {"text": ""}, 422, "text"),
        ("jtj-handler", "accept", {"version": "3"}, 422, "version"),
        ("jtj-handler", "accept", {"version": None}, 422, "version"),
    ],
)
def test_action_errors_change_nothing(client, staff_token, username, action, body, status, field):
    p, _ = file()
    payload = {"version": p.version, **body}
    r = _post_action(client, staff_token(username), p.tracking_no, action, **payload)
    assert r.status_code == status, r.get_json()
    if field:
        assert field in r.get_json()["error"]["fields"]
    view = client.get(f"/api/v1/petitions/{p.tracking_no}", headers=_auth(staff_token("intake"))).get_json()
    assert view["status"] == "routed" and view["version"] == p.version


def test_extension_limits_through_the_api(client, staff_token):
    p, _ = file()
    act(p, "accept", "jtj-handler")
    token = staff_token("jtj-handler")
    for days in (31, 0):
        r = _post_action(
            client, token, p.tracking_no, "request-extension", version=p.version, days=days, reason="原因"
        )
        assert r.status_code == 422 and "days" in r.get_json()["error"]["fields"]
    r = _post_action(
        client, token, p.tracking_no, "request-extension", version=p.version, days=30, reason="原因"
    )
    assert r.status_code == 200 and r.get_json()["extension"]["days"] == 30
    leader = staff_token("jtj-leader")
    r = _post_action(client, leader, p.tracking_no, "approve-extension", version=r.get_json()["version"])
    assert r.status_code == 200 and r.get_json()["clocks"][-1]["extended_days"] == 30
    r = _post_action(
        client,
        token,
        p.tracking_no,
        "request-extension",
        version=r.get_json()["version"],
        days=1,
        reason="再",
    )
    assert r.status_code == 409


def test_staff_intake_by_letter(client, staff_token, db):
    from petitions.models import Petition

    body = {
        "title": "来信反映小区垃圾清运不及时",
        "content": "老人来信，字迹工整。",
        "category": "csgl-sr",
        "township": "dongcheng",
        "contact": {"name": "钱七", "phone": "13655556666"},
        "channel": "letter",
    }
    assert client.post("/api/v1/petitions", json=body).status_code == 422  # only intake enters letters
    r = client.post("/api/v1/petitions", json=body, headers=_auth(staff_token("jtj-handler")))
    assert r.status_code == 422 and "channel" in r.get_json()["error"]["fields"]
    r = client.post("/api/v1/petitions", json=body, headers=_auth(staff_token("intake")))
    assert r.status_code == 201, r.get_json()
    petition = db.session.query(Petition).filter_by(tracking_no=r.get_json()["tracking_no"]).one()
    assert petition.channel == "letter" and petition.created_by.username == "intake"
    assert petition.events[0].actor.username == "intake"


def test_review_request_endpoint(client):
    p, code = file()
    act(p, "accept", "jtj-handler")
    act(p, "assign", "jtj-leader", handler="jtj-handler")
    act(p, "reply", "jtj-leader", text="答复")
    url = f"/api/v1/petitions/{p.tracking_no}/review-request"
    assert client.post(url, json={"code": "00000000", "reason": "复查"}).status_code == 404
    r = client.post(url, json={"code": code, "reason": ""})
    assert r.status_code == 422 and "reason" in r.get_json()["error"]["fields"]
    r = client.post(url, json={"code": code, "reason": "答复未解决问题"})
    assert r.status_code == 200 and r.get_json()["status"] == "under_review"
    assert r.get_json()["timeline"][-1]["type"] == "review_requested"
    assert client.post(url, json={"code": code, "reason": "再来一次"}).status_code == 409


def test_openapi_documents_the_staff_operations(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    paths = doc["paths"]
    assert "/api/v1/queue" in paths and paths["/api/v1/queue"]["get"]["security"] == [{"bearer": []}]
    action = paths["/api/v1/petitions/{tracking_no}/actions/{action}"]["post"]
    assert {"200", "403", "404", "409", "422"} <= set(action["responses"])
    assert "request-extension" in action["description"]
    lookup = paths["/api/v1/petitions/{tracking_no}"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]
    assert "StaffView" in str(lookup["schema"])
    assert "/api/v1/petitions/{tracking_no}/review-request" in paths


def test_intake_queue_flags_possible_duplicates(client, staff_token):
    first, _ = file(title="小区电梯经常停运", category="cxjs-wy")
    second, _ = file(title="小区电梯又停运了", category="cxjs-wy")
    token = staff_token("intake")
    items = client.get("/api/v1/queue?q=电梯&per_page=100", headers=_auth(token)).get_json()["items"]
    flags = {i["tracking_no"]: i["possible_duplicate_of"] for i in items}
    assert flags[second.tracking_no] == first.tracking_no and flags[first.tracking_no] is None
    view = client.get(f"/api/v1/petitions/{second.tracking_no}", headers=_auth(token)).get_json()
    assert [d["tracking_no"] for d in view["possible_duplicates"]] == [first.tracking_no]
    assert "merge" in view["actions"]
    r = _post_action(
        client, token, second.tracking_no, "merge", version=view["version"], duplicate_of=first.tracking_no
    )
    assert r.status_code == 200 and r.get_json()["status"] == "closed"
    assert r.get_json()["duplicate_of"]["tracking_no"] == first.tracking_no
    # Units do not see the flag: it is intake's.
    items = client.get("/api/v1/queue?q=电梯", headers=_auth(staff_token("fcfw-handler"))).get_json()["items"]
    assert all(i["possible_duplicate_of"] is None for i in items)
