"""The electronic supervision board: counts by unit and level, cards, the longest overdue with
the urge action, failed texts, the calendar notes, the JSON refresh; and in a real browser."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from notifications import jobs
from petitions.models import Card, Event, Outbox
from tests.notify_support import file, run_jobs

pytest_plugins = ["tests.notify_support"]

RED_TIME = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


def _login(client, user) -> None:
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_only_supervisors_and_admins(client, demo_user):
    assert client.get("/supervision/").status_code == 302
    assert client.get("/supervision/board.json").status_code == 401
    _login(client, demo_user("dongcheng-handler"))
    assert client.get("/supervision/").status_code == 404
    assert client.get("/supervision/board.json").status_code == 404
    _login(client, demo_user("admin"))
    assert client.get("/supervision/").status_code == 200


def test_board_counts_cards_overdue_and_failed_texts(app, db, client, clock, demo_user, twilio, staff_phones):
    red = file(db)
    green = file(db, township="xicheng")
    clock.set(RED_TIME)
    # The xicheng petition is filed later: still green.
    later = file(db, township="xicheng")
    twilio.fail_next("bad_number")
    jobs.sweep()
    run_jobs(app)
    _login(client, demo_user("supervisor"))
    body = client.get("/supervision/board.json").json
    units = {u["code"]: u for u in body["units"]}
    assert units["dongcheng"]["open"] == {"green": 0, "yellow": 0, "red": 1, "urged": 0}
    assert units["dongcheng"]["cards"] == {"yellow": 0, "red": 1, "urged": 0}
    assert units["xicheng"]["open"]["red"] == 1 and units["xicheng"]["open"]["green"] == 1
    assert {r["tracking_no"] for r in body["oldest_red"]} == {red.tracking_no, green.tracking_no}
    assert all(r["overdue_days"] == 0 and r["level"] == "red" for r in body["oldest_red"])
    assert later.tracking_no not in [r["tracking_no"] for r in body["oldest_red"]]
    # The bad number, and the xicheng staff who have no number on file.
    errors = sorted(m["error"] for m in body["failed_sms"])
    assert len(errors) == 3 and "21211" in errors[0] and errors[1:] == ["no mobile number on file"] * 2
    bad = next(m for m in body["failed_sms"] if "21211" in m["error"])
    assert bad["phone"] == "138****0001" and bad["recipient"] == "dongcheng-handler"
    assert body["calendar"] == {"unknown_years": [], "provisional_years": [2027]}
    html = client.get("/supervision/").get_data(as_text=True)
    assert f'href="/staff/petitions/{red.tracking_no}"' in html
    assert "21211" in html
    assert "2027" in html and "调休" in html


def test_a_year_without_calendar_data_is_announced(app, db, client, clock, demo_user):
    clock.set(datetime(2027, 6, 1, 2, 0, tzinfo=UTC))
    _login(client, demo_user("supervisor"))
    body = client.get("/supervision/board.json").json
    assert body["calendar"]["unknown_years"] == [2028]
    assert 'data-calendar="unknown"' in body["html"]


def test_urge_from_the_board(app, db, client, clock, demo_user, staff_phones):
    petition = file(db)
    clock.set(RED_TIME)
    jobs.sweep()
    _login(client, demo_user("supervisor"))
    html = client.get("/supervision/").get_data(as_text=True)
    token = _csrf(html)
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    # Bad input: no text. Nothing changes.
    response = client.post(
        f"/supervision/urge/{petition.tracking_no}",
        data={"csrf_token": token, "version": version, "text": ""},
    )
    assert response.status_code == 303
    assert (
        db.session.scalar(select(Event).where(Event.petition_id == petition.id, Event.type == "urged"))
        is None
    )
    # Without the CSRF token: refused.
    response = client.post(
        f"/supervision/urge/{petition.tracking_no}", data={"version": version, "text": "x"}
    )
    assert response.status_code == 400
    response = client.post(
        f"/supervision/urge/{petition.tracking_no}",
        data={"csrf_token": token, "version": version, "text": "请三日内办结"},
    )
    assert response.status_code == 303
    db.session.expire_all()
    ev = db.session.scalar(select(Event).where(Event.petition_id == petition.id, Event.type == "urged"))
    assert ev.text == "请三日内办结" and ev.actor_id == demo_user("supervisor").id
    assert (
        db.session.scalar(select(Card).where(Card.petition_id == petition.id, Card.level == "urged"))
        is not None
    )
    rows = db.session.scalars(
        select(Outbox).where(Outbox.petition_id == petition.id, Outbox.purpose == "staff_urge")
    )
    assert [r.recipient_user_id for r in rows] == [staff_phones["dongcheng-leader"]]
    body = client.get("/supervision/board.json").json
    dongcheng = next(u for u in body["units"] if u["code"] == "dongcheng")
    assert dongcheng["cards"]["urged"] == 1


@pytest.mark.browser
def test_board_in_a_browser_refreshes_without_reloading(app, db, page, page_checks, live_server):
    from petitions.domain.clocks import set_clock

    page.goto("/login")
    page.fill("input[name=username]", "supervisor")
    page.fill("input[name=password]", "petition-demo")
    page.click("button[type=submit], input[type=submit]")
    page.goto("/supervision/")
    assert page.locator("h1").inner_text() in ("电子监察", "Electronic supervision")
    before = page.locator("#units tfoot td[data-level=red]").inner_text()
    page_checks.wait_for_reports()  # the board as loaded is checked before it changes
    # A petition goes red while the page is open.
    set_clock(lambda: datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    petition = file(db)
    set_clock(lambda: RED_TIME)
    jobs.sweep()
    set_clock(None)
    page.evaluate("window.supervisionRefresh()")  # what the 30-second timer calls
    page.wait_for_selector(f"tr[data-tracking-no='{petition.tracking_no}']")
    after = page.locator("#units tfoot td[data-level=red]").inner_text()
    assert int(after) == int(before) + 1
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
