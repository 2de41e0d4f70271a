"""The whole road on PostgreSQL through the API, and two officers acting at once.

file → route → accept → assign → extend (approved) → reply (signed) → rate unsatisfied →
request review → review reply → close; the citizen's look-up shows each public step in
order, with the server's times.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from datetime import datetime

import pytest
from sqlalchemy import func, select

from petitions.domain.clocks import now
from petitions.extensions import db
from petitions.models import Event, Petition
from petitions.services import actions

pytestmark = pytest.mark.postgres


def _auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_the_road_through_the_api(postgres, client, staff_token):
    tokens = {
        name: staff_token(name)
        for name in ("intake", "jtj-handler", "jtj-leader", "gov-leader", "zjj-handler")
    }
    before = now().replace(microsecond=0)  # answers give whole seconds

    r = client.post(
        "/api/v1/petitions",
        json={
            "title": "小区门口道路塌陷",
            "content": "塌陷处已有车辆受损，请尽快处理。",
            "category": "jtys-dl",
            "township": "dongcheng",
            "contact": {"name": "孙八", "phone": "13512345678"},
        },
    )
    assert r.status_code == 201, r.get_json()
    tn, code = r.get_json()["tracking_no"], r.get_json()["query_code"]
    version = None

    def do(action, who, **fields):
        nonlocal version
        if version is None:
            version = client.get(f"/api/v1/petitions/{tn}", headers=_auth(tokens[who])).get_json()["version"]
        resp = client.post(
            f"/api/v1/petitions/{tn}/actions/{action}",
            json={"version": version, **fields},
            headers=_auth(tokens[who]),
        )
        assert resp.status_code == 200, (action, who, resp.get_json())
        body = resp.get_json()
        assert body["version"] == version + 1
        version = body["version"]
        return body

    # Routed at once by the rule to the transport bureau; it returns it, intake routes it again.
    do("return", "jtj-handler", reason="请核实属地")
    assert do("route", "intake", unit="jtj")["unit"]["code"] == "jtj"
    do("accept", "jtj-handler")
    do("assign", "jtj-leader", handler="jtj-handler")
    due_before = do("request-extension", "jtj-handler", days=15, reason="需协调供水管线迁改")["due_at"]
    body = do("approve-extension", "jtj-leader")
    assert body["clocks"][-1]["extended_days"] == 15 and body["due_at"] > due_before
    do("reply", "jtj-handler", text="已完成塌陷路段修复。")
    body = do("sign-reply", "jtj-leader", text="已完成塌陷路段修复，并加装警示标志。")
    assert body["status"] == "replied"

    lookup = client.get(f"/api/v1/petitions/{tn}?code={code}").get_json()
    assert lookup["can_rate"] and lookup["can_request_review"]
    # Rating: the domain function (the citizen's rating endpoint belongs to the satisfaction pages).
    petition = db.session.scalar(select(Petition).where(Petition.tracking_no == tn))
    actions.rate(petition, "unsatisfied", "警示标志不够明显")
    version = None
    r = client.post(f"/api/v1/petitions/{tn}/review-request", json={"code": code, "reason": "仍存在安全隐患"})
    assert r.status_code == 200 and r.get_json()["status"] == "under_review"
    body = do("review-reply", "gov-leader", text="经复查，交通运输局已整改到位，维持原答复。")
    assert body["status"] == "review_replied"
    actions.rate(db.session.get(Petition, petition.id), "basically_satisfied")
    version = None
    assert do("close", "gov-leader")["status"] == "closed"

    lookup = client.get(f"/api/v1/petitions/{tn}?code={code}")
    assert lookup.status_code == 200
    view = lookup.get_json()
    assert view["status"] == "closed"
    types = [e["type"] for e in view["timeline"]]
    assert types == [
        "registered",
        "routed",
        "returned",
        "routed",
        "accepted",
        "assigned",
        "extension_approved",
        "replied",
        "rated",
        "review_requested",
        "review_replied",
        "rated",
        "closed",
    ]
    times = [datetime.fromisoformat(e["at"]) for e in view["timeline"]]
    assert times == sorted(times)
    assert all(t.utcoffset().total_seconds() == 8 * 3600 for t in times)
    after = now()
    assert before <= times[0] and times[-1] <= after
    texts = " ".join(e["text"] for e in view["timeline"])
    assert "需协调供水管线迁改" in texts and "加装警示标志" in texts and "维持原答复" in texts
    assert view["reply"]["text"].startswith("经复查")


def _post(url: str, token: str, body: dict) -> int:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **_auth(token)},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


def _race(barrier: threading.Barrier, results: list[int], i: int, url: str, token: str, body: dict) -> None:
    barrier.wait()
    results[i] = _post(url, token, body)


def test_two_officers_at_once_exactly_one_wins(postgres, live_server, staff_token):
    from tests.handling import file

    for _round in range(3):
        p, _ = file(title="同时处理的件")
        tn, version = p.tracking_no, p.version
        tokens = [staff_token("jtj-handler"), staff_token("jtj-leader")]
        actions_ = ["accept", "decline"]
        bodies = [{"version": version}, {"version": version, "reason": "不属职责", "channel": "向法院起诉"}]
        barrier = threading.Barrier(2)
        results: list[int] = [0, 0]
        urls = [f"{live_server}/api/v1/petitions/{tn}/actions/{a}" for a in actions_]
        threads = [
            threading.Thread(target=_race, args=(barrier, results, i, urls[i], tokens[i], bodies[i]))
            for i in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(results) == [200, 409], results
        db.session.expire_all()
        fresh = db.session.get(Petition, p.id)
        assert fresh.version == version + 1
        # The handler who accepts it handles it.
        assert fresh.status == ("in_progress" if results[0] == 200 else "not_accepted")
        decided = db.session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.petition_id == p.id, Event.type.in_(["accepted", "declined"]))
        )
        assert decided == 1


def test_two_sessions_same_version_one_commit(postgres, app):
    """The same race without HTTP: two database sessions, the second blocks on the row and loses."""
    from sqlalchemy.orm import Session

    from petitions.domain.errors import Conflict
    from tests.handling import file, user

    p, _ = file(title="两个会话")
    tn, version = p.tracking_no, p.version
    handler_id, leader_id = user("jtj-handler").id, user("jtj-leader").id
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(2)

    def run(action: str, user_id: int, fields: dict) -> None:
        with app.app_context():
            from petitions.models import User

            actor = db.session.get(User, user_id)
            barrier.wait()
            try:
                actions.perform(tn, action, actor, version, **fields)
                result = "won"
            except Conflict:
                result = "lost"
            with lock:
                outcomes.append(result)
            db.session.remove()

    threads = [
        threading.Thread(target=run, args=("accept", handler_id, {})),
        threading.Thread(target=run, args=("note", leader_id, {"text": "同时写的备注"})),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["lost", "won"]
    with Session(db.engine) as s:
        assert s.scalar(select(Petition.version).where(Petition.id == p.id)) == version + 1
