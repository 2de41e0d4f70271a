"""Limits: body size (413), JSON depth and string lengths, rate limits on every public POST (429 with
Retry-After), and the sign-in lockout (API tokens and the web log-in) per username and client address."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from petitions.domain.clocks import now, set_clock
from petitions.models import AuthLock, LoginFailure
from tests.conftest import configure

PASSWORD = "petition-demo"
HERE = {"REMOTE_ADDR": "10.1.1.1"}
THERE = {"REMOTE_ADDR": "10.2.2.2"}


def token(client, username="intake", password=PASSWORD, where=HERE):
    return client.post(
        "/api/v1/tokens", json={"username": username, "password": password}, environ_base=where
    )


def fail_times(client, n: int, username="intake", where=HERE) -> None:
    for _ in range(n):
        res = token(client, username, "wrong", where)
        assert res.status_code == 401, res.get_json()


# ---------------------------------------------------------------- the token endpoint's lockout


def test_ten_failures_lock_the_username_for_that_address_only(client, app, db, caplog):
    fail_times(client, 9)
    assert token(client).status_code == 201  # a success clears the failures
    fail_times(client, 9)
    assert token(client).status_code == 201
    fail_times(client, 9)
    with caplog.at_level(logging.WARNING, logger=app.logger.name):
        fail_times(client, 1)  # the tenth answers as a wrong password; the next meets the lock
    assert any("sign-in locked" in r.getMessage() and "intake" in r.getMessage() for r in caplog.records)

    locked = token(client)  # the right password, from the same address
    assert locked.status_code == 429
    assert locked.get_json()["error"]["code"] == "locked"
    assert 14 * 60 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert token(client, "intake", "wrong").status_code == 429
    failures = db.session.scalar(select(func.count()).select_from(LoginFailure))
    assert failures == 28  # attempts during the lock are not even checked

    assert token(client, where=THERE).status_code == 201  # another address is not locked
    assert token(client, "supervisor").status_code == 201  # nor another username

    (lock,) = db.session.scalars(select(AuthLock)).all()
    assert (lock.username, lock.address, lock.failures) == ("intake", "10.1.1.1", 10)

    # Still locked a minute before the end; open again after 15 minutes.
    start = now()
    set_clock(lambda: start + timedelta(minutes=14))
    assert token(client).status_code == 429
    set_clock(lambda: start + timedelta(minutes=15, seconds=1))
    assert token(client).status_code == 201


def test_lock_is_shown_to_administrators_who_may_release_it(client, app, db):
    from tests.handling import user
    from tests.test_admin import _csrf, login

    fail_times(client, 10, username="jtj-leader")
    assert token(client, "jtj-leader").status_code == 429

    login(client, app, user("admin"))
    page = client.get("/admin/security")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "jtj-leader" in html and "10.1.1.1" in html and 'data-running="yes"' in html
    lock_id = re.search(r'data-lock="(\d+)"', html).group(1)
    res = client.post(f"/admin/security/locks/{lock_id}/release", data={"csrf_token": _csrf(html)})
    assert res.status_code == 303
    assert token(client, "jtj-leader").status_code == 201
    html = client.get("/admin/security").get_data(as_text=True)
    assert 'data-running="no"' in html and "admin" in html


def test_security_page_is_for_administrators_only(client, app):
    from tests.handling import user
    from tests.test_admin import login

    assert client.get("/admin/security").status_code in (302, 401)
    login(client, app, user("intake"))
    assert client.get("/admin/security").status_code == 404


def test_web_login_shares_the_lockout(client, app, db):
    from tests.test_citizen_web import log_in

    for _ in range(10):
        assert log_in(client, "intake", "wrong").status_code == 401
    locked = log_in(client, "intake", PASSWORD)
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert "分钟" in locked.get_data(as_text=True)
    # The API token endpoint from the same address is locked too (one count per username and address).
    assert client.post("/api/v1/tokens", json={"username": "intake", "password": PASSWORD}).status_code == 429


def test_every_spelling_of_a_number_counts_against_one_lock(client, app, db):
    """Log-in takes 139 0000 1111, 139-0000-1111, +86 and full-width digits as one account:
    the lock is on that account, so no spelling gets fresh tries or gets in while it is locked."""
    from tests.test_citizen_web import log_in, make_citizen

    make_citizen(db, phone="13900001111", password="secret-pass-1")
    spellings = [
        "13900001111",
        "139 0000 1111",
        "139-0000-1111",
        "+86 139 0000 1111",
        "+8613900001111",
        "0086 13900001111",
        "(139) 0000-1111",
        "１３９００００１１１１",
        " 13900001111 ",
        "+86-139-0000-1111",
    ]
    for spelling in spellings:
        assert log_in(client, spelling, "wrong-guess").status_code == 401
    (lock,) = db.session.scalars(select(AuthLock)).all()
    assert lock.username == "13900001111" and lock.failures == 10
    assert {f.username for f in db.session.scalars(select(LoginFailure))} == {"13900001111"}
    for spelling in spellings:
        locked = log_in(client, spelling, "secret-pass-1")
        assert locked.status_code == 429, spelling
    assert client.get("/mine").status_code == 302, "not logged in"
    # Staff user names: surrounding spaces are the same account too.
    fail_times(client, 5, username="intake")
    fail_times(client, 5, username="  intake ")
    assert token(client).status_code == 429


# ---------------------------------------------------------------- rate limits on every public POST


PUBLIC_POSTS = [
    ("/api/v1/petitions", {"title": "x"}, "RATELIMIT_FILING"),
    ("/api/v1/petitions/XF0/rating", {"code": "1", "score": "satisfied"}, "RATELIMIT_LOOKUP"),
    ("/api/v1/petitions/XF0/review-request", {"code": "1", "reason": "r"}, "RATELIMIT_LOOKUP"),
    ("/api/v1/tokens", {"username": "nobody", "password": "x"}, "RATELIMIT_LOOKUP"),
]


@pytest.mark.parametrize("path, body, setting", PUBLIC_POSTS)
def test_public_posts_are_rate_limited_with_retry_after(client, app, db, monkeypatch, path, body, setting):
    configure(app, **{setting.lower(): "3 per minute"})
    for _ in range(3):
        assert client.post(path, json=body).status_code != 429
    res = client.post(path, json=body)
    assert res.status_code == 429
    assert res.get_json()["error"]["code"] == "rate_limited"
    assert 0 < int(res.headers["Retry-After"]) <= 60


def test_every_public_post_of_the_document_is_rate_limited(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    # Public: no security requirement, or an optional one ({} among the alternatives).
    public_posts = [
        path
        for path, ops in doc["paths"].items()
        if "post" in ops and (ops["post"]["security"] == [] or {} in ops["post"]["security"])
    ]
    assert "/api/v1/petitions" in public_posts and "/api/v1/tokens" in public_posts
    for path in public_posts:
        responses = doc["paths"][path]["post"]["responses"]
        assert "429" in responses and "Retry-After" in responses["429"]["headers"], path


def test_staff_tokens_are_exempt_from_rate_limits(client, app, db, monkeypatch, staff_token):
    configure(app, ratelimit_lookup="1 per minute")
    headers = {"Authorization": f"Bearer {staff_token('intake')}"}
    for _ in range(3):
        assert client.get("/api/v1/petitions/XF0", headers=headers).status_code == 404


# ---------------------------------------------------------------- size, depth, lengths


def test_oversize_bodies_answer_413_in_the_error_shape(client, app, db):
    big = {"code": "1", "score": "satisfied", "comment": "长" * (app.extensions["settings"].api_max_json_bytes // 2)}
    res = client.post("/api/v1/petitions/XF0/rating", json=big)
    assert res.status_code == 413
    assert res.get_json()["error"]["code"] == "too_large"
    res = client.post(
        "/api/v1/tokens",
        data=b"x" * (app.extensions["settings"].max_content_length + 1),
        content_type="application/json",
    )
    assert res.status_code == 413 and res.get_json()["error"]["code"] == "too_large"


def test_no_json_body_is_read_beyond_the_request_limit(client, app, db, monkeypatch, staff_token):
    """Every POST of the API refuses a body over MAX_CONTENT_LENGTH unread (413), also the filing,
    whose own limit (room for five base64 attachments) is larger than the whole request's."""
    from petitions.models import Petition

    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 512 * 1024)
    configure(
        app, max_content_length=512 * 1024, ratelimit_filing="1000 per minute", ratelimit_lookup="1000 per minute"
    )
    before = db.session.scalar(select(func.count(Petition.id)))
    doc = client.get("/api/v1/openapi.json").get_json()
    posts = [path for path, ops in doc["paths"].items() if "post" in ops]
    assert "/api/v1/petitions" in posts
    body = json.dumps({"title": "x" * (app.extensions["settings"].max_content_length + 1)})
    staff = {"Authorization": f"Bearer {staff_token('intake')}"}
    for path in posts:
        path = path.replace("{tracking_no}", "XF0").replace("{action}", "note")
        for headers in ({}, staff):
            res = client.post(path, data=body, content_type="application/json", headers=headers)
            if res.status_code == 401:
                continue  # a staff operation: the token is checked before the body
            assert res.status_code == 413, (path, headers, res.status_code)
            assert res.get_json()["error"]["code"] == "too_large"
    assert db.session.scalar(select(func.count(Petition.id))) == before


def _nested(depth: int):
    """A JSON object whose deepest value sits `depth` containers down."""
    value: object = 1
    for _ in range(depth - 1):
        value = [value]
    return {"username": "nobody", "password": "x", "extra": value}


def test_json_depth_is_bounded_by_the_setting(client, app, db, monkeypatch):
    limit = app.extensions["settings"].api_max_json_depth
    assert limit == 8
    ok = client.post("/api/v1/tokens", data=json.dumps(_nested(limit)), content_type="application/json")
    assert ok.status_code == 401
    deep = client.post("/api/v1/tokens", data=json.dumps(_nested(limit + 1)), content_type="application/json")
    assert deep.status_code == 400 and deep.get_json()["error"]["code"] == "too_deep"
    configure(app, api_max_json_depth=3)
    res = client.post("/api/v1/tokens", data=json.dumps(_nested(4)), content_type="application/json")
    assert res.status_code == 400


def test_string_lengths_are_bounded(client, db):
    res = client.post("/api/v1/tokens", json={"username": "u" * 201, "password": "x"})
    assert res.status_code == 422 and "username" in res.get_json()["error"]["fields"]
    res = client.post(
        "/api/v1/petitions/XF0/rating", json={"code": "1", "score": "satisfied", "comment": "c" * 5001}
    )
    assert res.status_code == 422 and "comment" in res.get_json()["error"]["fields"]
    assert db.session.scalar(select(func.count()).select_from(LoginFailure)) == 0


# ---------------------------------------------------------------- channels per face


@pytest.mark.parametrize("channel", ["open311", "web", "email", ""])
def test_staff_entry_takes_only_the_channels_it_offers(app, db, channel):
    """Staff entry offers letter, phone and visit: anything else (open311 would make the petition
    public through Open311) is refused beside the field and files nothing."""
    from petitions.models import Petition
    from tests.handling import logged_in
    from tests.test_citizen_web import field_block
    from tests.test_staff_web import _entry

    client = logged_in(app.test_client(), "intake")
    before = db.session.scalar(select(func.count(Petition.id)))
    response = _entry(client, channel=channel)
    assert response.status_code == 422
    block = field_block(response.get_data(as_text=True), "channel")
    assert "这里不受理经由此渠道的信访事项" in block or "没有这个来源渠道" in block
    assert db.session.scalar(select(func.count(Petition.id))) == before
    assert _entry(client, channel="letter").status_code == 303


def test_each_face_files_only_by_its_own_channels(app, db, client, staff_token):
    from petitions.models import Petition
    from tests.test_citizen_web import filing_data, post_filing

    assert post_filing(client, filing_data(client, channel="open311")).status_code == 302
    newest = db.session.scalar(select(Petition).order_by(Petition.id.desc()).limit(1))
    assert newest.channel == "web"  # the citizen's form has no channel: always the web
    body = {
        "title": "路灯不亮",
        "content": "村口路灯坏了。",
        "category": "jtys-dl",
        "township": "dongcheng",
        "contact": {"name": "张三", "phone": "13812345678"},
        "channel": "open311",
    }
    headers = {"Authorization": f"Bearer {staff_token('intake')}"}
    res = client.post("/api/v1/petitions", json=body, headers=headers)
    assert res.status_code == 422 and "channel" in res.get_json()["error"]["fields"]
    assert client.post("/api/v1/petitions", json=body | {"channel": "visit"}, headers=headers).status_code == 201
