"""Every door that checks a query code spends from one look-up budget per client address
(RATELIMIT_LOOKUP): once it is spent at any of them, every one of them answers 429, to the
right code exactly as to a wrong one, so that no face is an unthrottled oracle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import func, select

from petitions.models import Event, Rating
from petitions.services import filing as intake
from tests.conftest import configure
from tests.test_citizen_web import csrf

HERE = {"REMOTE_ADDR": "10.9.9.9"}
ELSEWHERE = {"REMOTE_ADDR": "10.8.8.8"}


def web_track(client, number, code, where=HERE):
    token = csrf(client, "/track")
    return client.post(
        "/track", data={"csrf_token": token, "tracking_no": number, "code": code}, environ_base=where
    )


def web_rate(client, number, code, where=HERE):
    token = csrf(client, "/rate")
    return client.post(
        "/rate",
        data={"csrf_token": token, "tracking_no": number, "code": code, "score": "satisfied"},
        environ_base=where,
    )


def api_lookup(client, number, code, where=HERE):
    return client.get(f"/api/v1/petitions/{number}", query_string={"code": code}, environ_base=where)


def api_rate(client, number, code, where=HERE):
    return client.post(
        f"/api/v1/petitions/{number}/rating", json={"code": code, "score": "satisfied"}, environ_base=where
    )


def api_review(client, number, code, where=HERE):
    return client.post(
        f"/api/v1/petitions/{number}/review-request", json={"code": code, "reason": "不服"}, environ_base=where
    )


DOORS = {
    "web look-up": web_track,
    "web rating": web_rate,
    "API look-up": api_lookup,
    "API rating": api_rate,
    "API review request": api_review,
}


@pytest.fixture()
def filed(db):
    result = intake.file_petition(
        intake.Filing(
            title="路灯不亮",
            content="村口路灯坏了一个月。",
            category="jtys-dl",
            township="dongcheng",
            contact_name="张三",
            contact_phone="13812345678",
        )
    )
    return result.petition.tracking_no, result.query_code


def wrong(code: str) -> str:
    return "0" * 8 if code != "0" * 8 else "1" * 8


@pytest.mark.parametrize("spent_at", sorted(DOORS))
@pytest.mark.parametrize("probed_at", sorted(DOORS))
def test_one_budget_for_every_door_that_checks_a_code(app, client, db, monkeypatch, filed, spent_at, probed_at):
    number, code = filed
    configure(app, ratelimit_lookup="3 per minute")
    for _ in range(3):
        assert DOORS[spent_at](client, number, wrong(code)).status_code == 404
    events = db.session.scalar(select(func.count(Event.id)))

    right = DOORS[probed_at](client, number, code)
    refused = DOORS[probed_at](client, number, wrong(code))
    assert right.status_code == refused.status_code == 429
    assert int(right.headers["Retry-After"]) > 0
    # Nothing was done with the right code either.
    assert db.session.scalar(select(func.count(Event.id))) == events
    assert db.session.scalar(select(func.count(Rating.id))) == 0
    # Another address has its own budget: there the right code works as ever.
    assert DOORS[probed_at](client, number, code, where=ELSEWHERE).status_code != 429


def test_a_request_spends_once_however_many_checks_it_passes(app, client, db, monkeypatch, filed):
    number, code = filed
    configure(app, ratelimit_lookup="3 per minute")
    for _ in range(3):
        assert api_lookup(client, number, code).status_code == 200
    assert api_lookup(client, number, code).status_code == 429


WEB = Path(__file__).resolve().parent.parent / "petitions" / "web"
CHECKERS = {"find_for_citizen", "code_holder"}


def test_no_face_checks_a_query_code_but_through_the_budget():
    """A view that checks a code calls petitions.web.ratelimits.code_holder, never the service itself."""
    offenders = []
    for path in WEB.rglob("*.py"):
        if path.name == "ratelimits.py" and path.parent == WEB:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("petitions.services"):
                offenders += [f"{path}: imports {a.name}" for a in node.names if a.name in CHECKERS]
            if isinstance(node, ast.Attribute) and node.attr in CHECKERS:
                base = node.value
                if not (isinstance(base, ast.Name) and base.id == "ratelimits"):
                    offenders.append(f"{path}:{node.lineno}: calls {ast.unparse(node)}")
    assert offenders == []
