"""A new petition's query code is shown once and kept nowhere the client can read it again:
not in the session cookie (signed, not encrypted), and gone from the server once shown, so that
a copy of the cookie replayed later shows nothing. Web filing and staff entry alike."""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from petitions.domain.clocks import now, set_clock
from petitions.models import ShownOnce
from tests.handling import logged_in
from tests.test_citizen_web import filing_data, post_filing, shown_numbers
from tests.test_staff_web import _entry

pytestmark = pytest.mark.calendar


def cookie_of(client) -> str:
    return client.get_cookie("session").value


def cookie_contents(app, value: str) -> str:
    """What anyone holding the cookie can read in it (Flask signs sessions; it does not encrypt them)."""
    return json.dumps(app.session_interface.get_signing_serializer(app).loads(value), ensure_ascii=False)


def replay(app, value: str):
    other = app.test_client()
    other.set_cookie("session", value)
    return other


def web_filing(app):
    client = app.test_client()
    response = post_filing(client, filing_data(client))
    assert response.status_code == 302
    return client, "/filed"


def staff_entry(app):
    client = logged_in(app.test_client(), "intake")
    response = _entry(client)
    assert response.status_code == 303
    return client, "/staff/intake/entered"


def shown(html: str) -> tuple[str, str] | None:
    number = re.search(r'id="tracking-no" aria-label="([^"]+)"', html)
    code = re.search(r'id="query-code" aria-label="([^"]+)"', html)
    return (number.group(1), code.group(1)) if number and code else None


@pytest.mark.parametrize("how", [web_filing, staff_entry], ids=["web filing", "staff entry"])
def test_the_code_is_not_in_the_cookie_and_a_replayed_cookie_shows_nothing(app, db, how):
    client, page = how(app)
    saved = cookie_of(client)
    first = client.get(page)
    number, code = shown(first.get_data(as_text=True))
    assert first.headers["Cache-Control"] == "no-store"

    readable = cookie_contents(app, saved)
    assert code not in readable and number not in readable
    # Nor does the server keep the code in clear meanwhile (nor after: the row is gone).
    assert db.session.scalar(select(func.count(ShownOnce.id))) == 0

    again = replay(app, saved).get(page).get_data(as_text=True)
    assert shown(again) is None and code not in again
    assert shown(client.get(page).get_data(as_text=True)) is None


def test_what_waits_on_the_server_is_sealed(app, db):
    client, _page = web_filing(app)
    (row,) = db.session.scalars(select(ShownOnce)).all()
    html = client.get("/filed").get_data(as_text=True)
    number, code = shown_numbers(html)
    assert code not in row.sealed and number not in row.sealed
    opened = base64.b64decode(row.sealed)
    assert code.encode() not in opened and number.encode() not in opened


def test_a_code_not_shown_in_time_is_gone(app, db):
    client, page = web_filing(app)
    start = now()
    minutes = app.extensions["settings"].shown_once_minutes
    set_clock(lambda: start + timedelta(minutes=minutes, seconds=1))
    assert shown(client.get(page).get_data(as_text=True)) is None
    # Rows past their time are removed as new ones are put.
    other, _page = web_filing(app)
    assert db.session.scalar(select(func.count(ShownOnce.id))) == 1
    assert shown(other.get(page).get_data(as_text=True)) is not None
