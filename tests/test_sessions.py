"""Sessions end: log-out, a new password and deactivation end every session of the user, so that
a copy of a session cookie (saved before, or in another browser) opens nothing afterwards."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from petitions.domain.clocks import now, set_clock
from petitions.models import ApiToken, User
from petitions.services import admin as changes
from tests.test_citizen_web import csrf, log_in, make_citizen

pytestmark = pytest.mark.calendar

PASSWORD = "petition-demo"


def cookie_of(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def replay(app, value: str):
    """A fresh browser that was handed a copy of the session cookie."""
    other = app.test_client()
    other.set_cookie("session", value)
    return other


def logged_in(app, username: str, password: str = PASSWORD):
    client = app.test_client()
    assert log_in(client, username, password).status_code == 302
    return client


def opens_staff_pages(client) -> bool:
    return client.get("/staff/queue").status_code == 200


def log_out(client):
    return client.post("/logout", data={"csrf_token": csrf(client, "/")})


def user(db, username: str) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def test_a_saved_cookie_opens_nothing_after_log_out(app, db):
    client = logged_in(app, "jtj-handler")
    saved = cookie_of(client)
    assert opens_staff_pages(client) and opens_staff_pages(replay(app, saved))
    assert log_out(client).status_code == 302
    assert not opens_staff_pages(client)
    stale = replay(app, saved)
    response = stale.get("/staff/queue")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_log_out_ends_the_sessions_in_other_browsers_too(app, db):
    here, there = logged_in(app, "jtj-leader"), logged_in(app, "jtj-leader")
    assert opens_staff_pages(there)
    log_out(here)
    assert not opens_staff_pages(there)
    # Logging in again opens a new session, which works.
    assert opens_staff_pages(logged_in(app, "jtj-leader"))


def test_a_citizens_session_ends_with_log_out(app, db):
    make_citizen(db, phone="13900001111", password="secret-pass-1")
    client = logged_in(app, "13900001111", "secret-pass-1")
    saved = cookie_of(client)
    assert client.get("/mine").status_code == 200
    log_out(client)
    assert replay(app, saved).get("/mine").status_code == 302


def test_a_new_password_ends_every_session_and_older_api_tokens(app, db, staff_token):
    client = logged_in(app, "jtj-handler")
    token = staff_token("jtj-handler")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/queue", headers=headers).status_code == 200
    start = now()
    set_clock(lambda: start + timedelta(seconds=1))
    changes.save_user(
        user(db, "admin"),
        user(db, "jtj-handler"),
        changes.UserData(
            username="jtj-handler",
            name="交通局承办人",
            role="handler",
            unit_id=user(db, "jtj-handler").unit_id,
            active=True,
            password="a-brand-new-password",
        ),
    )
    assert not opens_staff_pages(client)
    assert client.get("/api/v1/queue", headers=headers).status_code == 401
    assert log_in(app.test_client(), "jtj-handler", PASSWORD).status_code == 401
    fresh = logged_in(app, "jtj-handler", "a-brand-new-password")
    assert opens_staff_pages(fresh)
    set_clock(lambda: start + timedelta(seconds=2))
    assert app.test_client().get(
        "/api/v1/queue", headers={"Authorization": f"Bearer {staff_token('jtj-handler')}"}
    ).status_code == 200


@pytest.mark.parametrize("how", ["set_active", "save_user"])
def test_deactivation_ends_every_session_for_good(app, db, how):
    client = logged_in(app, "jtj-handler")
    saved = cookie_of(client)
    admin, handler = user(db, "admin"), user(db, "jtj-handler")
    if how == "set_active":
        changes.set_active(admin, handler, False)
    else:
        changes.save_user(
            admin,
            handler,
            changes.UserData(
                username=handler.username,
                name=handler.name,
                role=handler.role,
                unit_id=handler.unit_id,
                active=False,
            ),
        )
    assert not opens_staff_pages(client)
    changes.set_active(user(db, "admin"), user(db, "jtj-handler"), True)
    # Active again: the sessions from before stay ended; a new log-in works.
    assert not opens_staff_pages(replay(app, saved))
    assert opens_staff_pages(logged_in(app, "jtj-handler"))


def test_a_forged_or_odd_session_id_is_nobody(app, db):
    from petitions.web.auth import load_user

    handler = user(db, "jtj-handler")
    assert load_user(handler.get_id()) is not None
    for odd in (f"{handler.id}:99", f"{handler.id}:x", "x", "", f"{handler.id}:{10**40}", f"{10**40}"):
        assert load_user(odd) is None, odd


def test_an_api_token_ends_when_it_expires_or_is_revoked(app, db, staff_token):
    """A token answers until its expiry (server time) and not after; a revoked one not at all;
    a token that is no token is the same 401."""
    from petitions.web.auth import _token_hash

    start = now()
    token = staff_token("jtj-handler")
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    assert client.get("/api/v1/queue", headers=headers).status_code == 200
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    set_clock(lambda: row.expires_at - timedelta(seconds=1))
    assert client.get("/api/v1/queue", headers=headers).status_code == 200
    set_clock(lambda: row.expires_at + timedelta(seconds=1))
    assert client.get("/api/v1/queue", headers=headers).status_code == 401
    set_clock(lambda: start)
    other = staff_token("jtj-handler")
    assert client.get("/api/v1/queue", headers={"Authorization": f"Bearer {other}"}).status_code == 200
    revoked = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(other)))
    revoked.revoked_at = start
    db.session.commit()
    assert client.get("/api/v1/queue", headers={"Authorization": f"Bearer {other}"}).status_code == 401
    assert client.get("/api/v1/queue", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
