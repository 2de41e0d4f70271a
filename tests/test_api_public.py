"""The public JSON API through the test client: categories, units, filing, look-up, tokens,
and every kind of bad input (a clear 4xx, and nothing written)."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from petitions.domain.clocks import set_clock
from petitions.models import Attachment, Petition, Role, User
from tests.conftest import configure

pytestmark = pytest.mark.calendar

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def filing(**changes) -> dict:
    body = {
        "title": "小区电梯长期停运",
        "content": "我们小区3号楼的电梯已经停运两个月，物业一直不修。",
        "category": "cxjs-wy",
        "township": "dongcheng",
        "contact": {"name": "王秀英", "phone": "13812345678"},
        "public_consent": False,
    }
    body.update(changes)
    return body


def count(db) -> int:
    return db.session.scalar(select(func.count(Petition.id)))


def post(client, body, headers=None, **kw):
    return client.post("/api/v1/petitions", json=body, headers=headers or {}, **kw)


# ---------------------------------------------------------------- categories and units


def test_categories_are_a_tree_with_kinds_and_limits(client):
    res = client.get("/api/v1/categories")
    assert res.status_code == 200
    assert res.mimetype == "application/json"
    roots = res.get_json()["categories"]
    assert len(roots) >= 5
    leaves = [child for root in roots for child in root["children"]]
    assert len(leaves) >= 30
    assert {leaf["kind"] for leaf in leaves} == {"grievance", "suggestion", "report", "consultation"}
    assert all(not root["selectable"] for root in roots) and all(leaf["selectable"] for leaf in leaves)
    wy = next(leaf for leaf in leaves if leaf["code"] == "cxjs-wy")
    assert wy["name"] == "物业管理" and "物业费" in wy["keywords"]
    # The demo county commits to 5 days for acceptance and 20 for handling of this subject.
    assert wy["time_limits"]["accept"]["committed_days"] == 5
    assert wy["time_limits"]["handle"]["committed_days"] == 20
    for leaf in leaves:
        for clock in ("accept", "handle"):
            limit = leaf["time_limits"][clock]
            assert 0 < limit["committed_days"] <= limit["statutory_days"]
    reports = [leaf for leaf in leaves if leaf["kind"] == "report"]
    assert reports and all(leaf["allows_anonymous"] for leaf in reports)
    # Chinese travels unescaped, in UTF-8.
    assert "物业管理".encode() in res.data and b"\\u" not in res.data


def test_units_with_kinds_and_parents(client):
    res = client.get("/api/v1/units")
    assert res.status_code == 200
    units = res.get_json()["units"]
    by_code = {u["code"]: u for u in units}
    assert {u["kind"] for u in units} == {
        "township",
        "committee",
        "department",
        "bureau",
        "discipline",
        "government",
    }
    assert by_code["gov"]["parent"] is None and by_code["gov"]["kind"] == "government"
    assert by_code["dongcheng"] == {
        "code": "dongcheng",
        "name": "东城街道",
        "kind": "township",
        "parent": "gov",
        "place": True,
    }
    assert by_code["jtj"]["place"] is False
    assert sum(u["kind"] == "township" for u in units) == 12

    only = client.get("/api/v1/units?kind=committee").get_json()["units"]
    assert len(only) == 3 and {u["kind"] for u in only} == {"committee"}

    bad = client.get("/api/v1/units?kind=planet")
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) == {"kind"}


# ---------------------------------------------------------------- filing and looking up


def test_file_then_look_up_with_server_times(client, db):
    frozen = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 09:30 in Qingshan
    set_clock(lambda: frozen)
    before = count(db)
    res = post(client, filing(created_at="2020-01-01T00:00:00Z", status="closed"))
    assert res.status_code == 201, res.get_json()
    filed = res.get_json()
    assert count(db) == before + 1
    assert filed["tracking_no"].startswith("XF20260302")
    assert filed["query_code"].isdigit() and len(filed["query_code"]) == 8
    # Routed at once by the demo county's rules; the time is the server's, not the client's.
    assert filed["status"] == "routed"
    assert filed["unit"]["code"] and filed["unit"]["name"]
    assert filed["created_at"] == "2026-03-02T09:30:00+08:00"
    (clock,) = filed["deadlines"]
    assert clock["clock"] == "accept" and clock["open"] is True
    assert clock["started_at"] == "2026-03-02T09:30:00+08:00"
    assert clock["due_at"].endswith("+08:00") and clock["due_at"] <= clock["statutory_due_at"]

    petition = db.session.scalar(select(Petition).where(Petition.tracking_no == filed["tracking_no"]))
    assert petition.query_code_hash != filed["query_code"]  # stored hashed
    assert petition.channel == "web" and petition.created_by_id is None

    res = client.get(f"/api/v1/petitions/{filed['tracking_no']}?code={filed['query_code']}")
    assert res.status_code == 200
    view = res.get_json()
    assert view["status"] == "routed" and view["unit"] == filed["unit"]
    assert view["deadlines"] == filed["deadlines"]
    assert [(e["type"], e["at"]) for e in view["timeline"]] == [
        ("registered", "2026-03-02T09:30:00+08:00"),
        ("routed", "2026-03-02T09:30:00+08:00"),
    ]
    assert all(e["text"] for e in view["timeline"])
    assert view["reply"] is None and view["rating"] is None
    assert view["can_rate"] is False and view["can_request_review"] is False
    assert "query_code" not in view and "contact" not in json.dumps(view)


def test_wrong_code_answers_exactly_like_an_unknown_number(client):
    filed = post(client, filing()).get_json()
    wrong = client.get(f"/api/v1/petitions/{filed['tracking_no']}?code=00000000")
    unknown = client.get("/api/v1/petitions/XF20990101000000?code=" + filed["query_code"])
    odd = client.get("/api/v1/petitions/%E4%BD%A0%20x?code=1")
    assert wrong.status_code == unknown.status_code == odd.status_code == 404
    assert wrong.data == unknown.data == odd.data
    assert wrong.get_json()["error"]["code"] == "not_found"


def test_look_up_without_a_code_is_refused(client):
    filed = post(client, filing()).get_json()
    res = client.get(f"/api/v1/petitions/{filed['tracking_no']}")
    assert res.status_code == 422
    assert set(res.get_json()["error"]["fields"]) == {"code"}


def test_anonymous_report_without_contact(client, db):
    body = filing(category="jjkg-zf", anonymous=True)
    del body["contact"]
    res = post(client, body)
    assert res.status_code == 201, res.get_json()
    petition = db.session.scalar(
        select(Petition).where(Petition.tracking_no == res.get_json()["tracking_no"])
    )
    assert petition.anonymous and petition.contact_name is None and petition.contact_phone is None


def test_attachments_are_stored_with_their_sniffed_type(client, db):
    res = post(
        client,
        filing(
            attachments=[
                {"filename": "合同.pdf", "content_base64": b64(PDF)},
                {"filename": "photo", "content_base64": b64(PNG)},
            ]
        ),
    )
    assert res.status_code == 201, res.get_json()
    petition = db.session.scalar(
        select(Petition).where(Petition.tracking_no == res.get_json()["tracking_no"])
    )
    assert [(a.filename, a.content_type, a.size) for a in petition.attachments] == [
        ("合同.pdf", "application/pdf", len(PDF)),
        ("photo", "image/png", len(PNG)),
    ]


# ---------------------------------------------------------------- bad input: 422 naming the field

BIG = 10 * 1024 * 1024


def _without_contact():
    body = filing()
    del body["contact"]
    return body


INVALID = {
    "missing title": ({k: v for k, v in filing().items() if k != "title"}, {"title"}),
    "empty title": (filing(title="  "), {"title"}),
    "title of 101": (filing(title="字" * 101), {"title"}),
    "empty content": (filing(content=""), {"content"}),
    "content of 5001": (filing(content="字" * 5001), {"content"}),
    "unknown category": (filing(category="no-such"), {"category"}),
    "top-level category": (filing(category="cxjs"), {"category"}),
    "unknown township": (filing(township="atlantis"), {"township"}),
    "a department as township": (filing(township="jtj"), {"township"}),
    "landline phone": (filing(contact={"name": "王秀英", "phone": "010-12345678"}), {"contact.phone"}),
    "short phone": (filing(contact={"name": "王秀英", "phone": "1381234"}), {"contact.phone"}),
    "no contact": (_without_contact(), {"contact.name", "contact.phone"}),
    "empty name": (filing(contact={"name": "", "phone": "13812345678"}), {"contact.name"}),
    "anonymous grievance": (filing(anonymous=True), {"anonymous"}),
    "letter without a staff token": (filing(channel="letter"), {"channel"}),
    "unknown channel": (filing(channel="fax"), {"channel"}),
    "title a number": (filing(title=123), {"title"}),
    "title null": (filing(title=None), {"title"}),
    "anonymous as text": (filing(anonymous="yes"), {"anonymous"}),
    "contact a string": (filing(contact="王秀英 13812345678"), {"contact"}),
    "phone a number": (filing(contact={"name": "王", "phone": 13812345678}), {"contact.phone"}),
    "attachments an object": (filing(attachments={"a": 1}), {"attachments"}),
    "attachment without data": (
        filing(attachments=[{"filename": "a.pdf"}]),
        {"attachments.0.content_base64"},
    ),
    "attachment not base64": (
        filing(attachments=[{"filename": "a.pdf", "content_base64": "%%% not base64 %%%"}]),
        {"attachments.0.content_base64"},
    ),
    "attachment of another type": (
        filing(attachments=[{"filename": "photo.jpg", "content_base64": b64(b"GIF89a not a jpeg")}]),
        {"attachments"},
    ),
    "six attachments": (
        filing(attachments=[{"filename": f"{i}.pdf", "content_base64": b64(PDF)} for i in range(6)]),
        {"attachments"},
    ),
    "huge title": (filing(title="x" * 300_000), {"title"}),
    "NUL in content": (filing(content="abc\u0000def"), {"content"}),
}


@pytest.mark.parametrize("body,fields", INVALID.values(), ids=INVALID.keys())
def test_invalid_fields_are_named_and_nothing_is_written(client, db, body, fields):
    before = count(db)
    res = post(client, body)
    assert res.status_code == 422, res.get_json()
    error = res.get_json()["error"]
    assert error["code"] == "invalid" and error["message"]
    assert set(error["fields"]) == fields
    assert all(isinstance(why, str) and why for why in error["fields"].values())
    assert count(db) == before


def test_lone_surrogate_is_refused(client, db):
    before = count(db)
    raw = json.dumps(filing()).replace('"content": "', '"content": "\\ud800')
    res = client.post("/api/v1/petitions", data=raw, content_type="application/json")
    assert res.status_code == 422 and set(res.get_json()["error"]["fields"]) == {"content"}
    assert count(db) == before


def test_attachment_over_ten_megabytes(client, db):
    before = count(db)
    data = PDF + b"\x00" * (BIG + 1 - len(PDF))
    res = post(client, filing(attachments=[{"filename": "big.pdf", "content_base64": b64(data)}]))
    assert res.status_code == 422
    assert set(res.get_json()["error"]["fields"]) == {"attachments"}
    assert count(db) == before
    assert db.session.scalar(select(func.count(Attachment.id))) == 0


# ---------------------------------------------------------------- bad input: not JSON at all

NOT_JSON = {
    "malformed": (b'{"title": "x",', "application/json", 400, "malformed_json"),
    "empty body": (b"", "application/json", 400, "malformed_json"),
    "not UTF-8": ('{"title": "标题"}'.encode("gbk"), "application/json", 400, "malformed_json"),
    "NaN": (b'{"title": NaN}', "application/json", 400, "malformed_json"),
    "an array": (b"[1, 2, 3]", "application/json", 400, "not_an_object"),
    "a string": (b'"title"', "application/json", 400, "not_an_object"),
    "a number": (b"42", "application/json", 400, "not_an_object"),
    "null": (b"null", "application/json", 400, "not_an_object"),
    "very deep": (b"[" * 100_000 + b"]" * 100_000, "application/json", 400, None),
    "deep in an extra field": (
        b'{"title": "x", "extra": ' + b"[" * 40 + b"]" * 40 + b"}",
        "application/json",
        400,
        "too_deep",
    ),
    "form encoded": (
        b"title=x&content=y",
        "application/x-www-form-urlencoded",
        415,
        "unsupported_media_type",
    ),
    "plain text": (b'{"title": "x"}', "text/plain", 415, "unsupported_media_type"),
    "no content type": (b'{"title": "x"}', None, 415, "unsupported_media_type"),
}


@pytest.mark.parametrize("data,content_type,status,code", NOT_JSON.values(), ids=NOT_JSON.keys())
def test_bodies_that_are_not_a_json_object(client, db, data, content_type, status, code):
    before = count(db)
    headers = {"Content-Type": content_type} if content_type else {}
    res = client.post("/api/v1/petitions", data=data, headers=headers)
    assert res.status_code == status
    error = res.get_json()["error"]
    assert error["message"]
    if code:
        assert error["code"] == code
    assert count(db) == before


def test_oversize_bodies_get_413(client, app, db, monkeypatch):
    res = client.post("/api/v1/tokens", json={"username": "x" * 300_000, "password": "y"})
    assert res.status_code == 413
    assert res.get_json()["error"]["code"] == "too_large"

    # Filing allows room for five attachments; shrink it to test the limit without 70 MB.
    configure(app, attachment_max_bytes=1000)
    before = count(db)
    res = post(client, filing(content="字" * 400_000))
    assert res.status_code == 413
    assert count(db) == before


def test_nul_in_the_path_is_not_found(client):
    res = client.get("/api/v1/petitions/XF%00?code=1")
    assert res.status_code == 404


# ---------------------------------------------------------------- staff tokens


def test_token_for_staff_and_intake_of_a_letter(client, db, demo_user):
    res = client.post("/api/v1/tokens", json={"username": "intake", "password": "petition-demo"})
    assert res.status_code == 201
    body = res.get_json()
    assert body["role"] == "intake" and body["token"] and body["expires_at"].endswith("+08:00")
    assert body["unit"] is None or body["unit"]["code"]

    headers = {"Authorization": f"Bearer {body['token']}"}
    res = post(client, filing(channel="letter"), headers=headers)
    assert res.status_code == 201, res.get_json()
    petition = db.session.scalar(
        select(Petition).where(Petition.tracking_no == res.get_json()["tracking_no"])
    )
    assert petition.channel == "letter"
    assert petition.created_by_id == demo_user("intake").id


def test_token_carries_the_unit(client):
    res = client.post("/api/v1/tokens", json={"username": "jtj-handler", "password": "petition-demo"})
    assert res.status_code == 201
    assert res.get_json()["role"] == "handler"
    assert res.get_json()["unit"]["code"] == "jtj"


def test_bad_credentials_get_401_and_citizens_no_token(client, db):
    wrong = client.post("/api/v1/tokens", json={"username": "intake", "password": "nope"})
    nobody = client.post("/api/v1/tokens", json={"username": "nobody", "password": "nope"})
    assert wrong.status_code == nobody.status_code == 401
    assert wrong.data == nobody.data
    assert wrong.get_json()["error"]["code"] == "invalid_credentials"

    citizen = User(username="13900001111", phone="13900001111", role=Role.CITIZEN, name="李")
    citizen.set_password("citizen-pass")
    db.session.add(citizen)
    db.session.commit()
    res = client.post("/api/v1/tokens", json={"username": "13900001111", "password": "citizen-pass"})
    assert res.status_code == 403
    missing = client.post("/api/v1/tokens", json={"username": "intake"})
    assert missing.status_code == 422 and set(missing.get_json()["error"]["fields"]) == {"password"}


def test_a_bad_token_is_401_not_anonymous(client, db):
    before = count(db)
    res = post(client, filing(), headers={"Authorization": "Bearer not-a-token"})
    assert res.status_code == 401
    assert res.get_json()["error"]["code"] == "invalid_token"
    assert count(db) == before


def test_an_expired_token_is_refused(client, staff_token):
    token = staff_token("intake")
    set_clock(lambda: datetime(2099, 1, 1, tzinfo=UTC))
    res = post(client, filing(), headers={"Authorization": f"Bearer {token}"})
    assert res.status_code == 401


# ---------------------------------------------------------------- rate limits


def test_filing_is_rate_limited_and_staff_tokens_are_exempt(client, app, db, monkeypatch, staff_token):
    configure(app, ratelimit_filing="2 per minute")
    assert post(client, {}).status_code == 422
    assert post(client, {}).status_code == 422
    before = count(db)
    res = post(client, filing())
    assert res.status_code == 429
    assert res.get_json()["error"]["code"] == "rate_limited"
    assert 0 < int(res.headers["Retry-After"]) <= 60
    assert count(db) == before

    headers = {"Authorization": f"Bearer {staff_token('intake')}"}
    res = post(client, filing(channel="phone"), headers=headers)
    assert res.status_code == 201
    assert count(db) == before + 1


def test_lookup_is_rate_limited(client, app, monkeypatch, staff_token):
    configure(app, ratelimit_lookup="3 per minute")
    for _ in range(3):
        assert client.get("/api/v1/petitions/XF1?code=1").status_code == 404
    res = client.get("/api/v1/petitions/XF1?code=1")
    assert res.status_code == 429 and int(res.headers["Retry-After"]) > 0
    headers = {"Authorization": f"Bearer {staff_token('supervisor')}"}
    assert client.get("/api/v1/petitions/XF1?code=1", headers=headers).status_code == 404


def test_a_wrong_method_names_the_allowed_ones(client):
    res = client.delete("/api/v1/categories")
    assert res.status_code == 405
    assert res.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in res.headers["Allow"].split(", ")


def test_messages_are_chinese_by_default_and_english_on_request(client):
    res = post(client, {"title": 5})
    error = res.get_json()["error"]
    assert re.search("[\u4e00-\u9fff]", error["message"]) and re.search(
        "[\u4e00-\u9fff]", error["fields"]["title"]
    )
    assert error["fields"]["title"].encode() in res.data  # unescaped
    res = client.post("/api/v1/tokens", json={"username": "intake", "password": "x"})
    assert re.search("[\u4e00-\u9fff]", res.get_json()["error"]["message"])
    res = client.post("/api/v1/petitions?lang=en", json={"title": 5})
    assert res.get_json()["error"]["fields"] == {
        "title": "Must be text.",
        "content": "This field is required.",
        "category": "This field is required.",
        "township": "This field is required.",
    }
