"""After a reply, every page where the citizen sees their petition offers to rate it and, while
allowed, to ask for review; the rating and review pages explain errors like every citizen form
and the thank-you page says what happens next. The SMS look-up link fills in the number."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from petitions.domain.clocks import set_clock
from petitions.extensions import db
from petitions.models import Petition, Rating, User
from petitions.services import actions
from tests.handling import act, file, user

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
clock = {"now": T0}


@pytest.fixture(autouse=True)
def _clock():
    clock["now"] = T0
    set_clock(lambda: clock["now"])


def advance(**kw) -> None:
    clock["now"] = clock["now"] + timedelta(**kw)


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


def _citizen() -> User:
    citizen = User(username="13700137001", name="钱七", role="citizen", phone="13700137001")
    citizen.set_password("pw-123456")
    db.session.add(citizen)
    db.session.commit()
    return citizen


def _reply(petition: Petition) -> None:
    act(petition, "accept", "jtj-handler")
    act(petition, "assign", "jtj-leader", handler="jtj-handler")
    advance(days=2)
    act(petition, "reply", "jtj-leader", text="已安排施工队修补路面。")


def _look_up(client, tracking_no: str, code: str) -> str:
    token = _csrf(client.get("/track").get_data(as_text=True))
    response = client.post("/track", data={"csrf_token": token, "tracking_no": tracking_no, "code": code})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _mine(client, citizen: User) -> str:
    with client.session_transaction() as session:
        session["_user_id"] = str(citizen.id)
        session["_fresh"] = True
    response = client.get("/mine")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _offers(html: str) -> dict[str, str]:
    """The offers on a page: {"rate": href, "review": href} (absent when not offered)."""
    found = {}
    for href, text in re.findall(r'<a class="button[^"]*" href="(/rate/[^"]+)">([^<]+)</a>', html):
        found["review" if href.endswith("/review") else "rate"] = href
        assert text in ("评价答复", "请求复查"), text
    return found


def test_look_up_and_my_petitions_offer_rating_and_review_after_the_reply(app, client):
    citizen = _citizen()
    petition, code = file(citizen=citizen)
    # Before the reply: nothing to rate.
    assert _offers(_look_up(client, petition.tracking_no, code)) == {}
    assert _offers(_mine(app.test_client(), citizen)) == {}

    _reply(petition)
    for html in (_look_up(client, petition.tracking_no, code), _mine(app.test_client(), citizen)):
        offers = _offers(html)
        assert set(offers) == {"rate", "review"}
        assert "2026-04-03" in html  # the last day for asking for review (30 days from the reply's day)
        assert code not in html  # the links are signed; the query code is never written on the page

    # The offer leads to the rating page of this reply, which rates it.
    link = _offers(_look_up(client, petition.tracking_no, code))["rate"]
    page = client.get(link)
    assert page.status_code == 200 and "已安排施工队修补路面。" in page.get_data(as_text=True)
    done = client.post(link, data={"csrf_token": _csrf(page.get_data(as_text=True)), "score": "satisfied"})
    assert done.status_code == 200
    assert db.session.scalar(select(Rating.score).where(Rating.petition_id == petition.id)) == "satisfied"

    # Rated: no second rating offered, the rating shown; review still allowed for its 30 days.
    html = _look_up(client, petition.tracking_no, code)
    assert set(_offers(html)) == {"review"}
    assert "您的评价：满意" in html
    # The 30 days pass: nothing is offered any more.
    advance(days=31)
    assert _offers(_look_up(client, petition.tracking_no, code)) == {}
    assert _offers(_mine(app.test_client(), citizen)) == {}


def test_the_review_offer_asks_for_review(client):
    petition, code = file()
    _reply(petition)
    link = _offers(_look_up(client, petition.tracking_no, code))["review"]
    page = client.get(link)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "已安排施工队修补路面。" in html and "2026-04-03" in html

    # Nothing written: the standard error summary, the field's own error, and nothing changes.
    empty = client.post(link, data={"csrf_token": _csrf(html), "reason": ""})
    body = empty.get_data(as_text=True)
    assert empty.status_code == 422
    assert 'class="error-summary"' in body and 'href="#reason-field"' in body
    assert "请写明您不同意答复意见的理由。" in body and 'aria-invalid="true"' in body
    db.session.expire_all()
    assert db.session.get(Petition, petition.id).status == "replied"

    asked = client.post(link, data={"csrf_token": _csrf(html), "reason": "路面仍未修好。"})
    assert asked.status_code == 200
    assert "上一级机关将对答复进行复查" in asked.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Petition, petition.id).status == "under_review"
    # Asked once: the page says so, and the look-up no longer offers it.
    again = client.get(link).get_data(as_text=True)
    assert "现在不能请求复查" in again and "<textarea" not in again
    assert "review" not in _offers(_look_up(client, petition.tracking_no, code))


def test_rating_page_errors_are_explained_like_every_citizen_form(client):
    petition, code = file()
    _reply(petition)
    link = _offers(_look_up(client, petition.tracking_no, code))["rate"]
    html = client.get(link).get_data(as_text=True)
    # The choice is a fieldset whose legend is the question; each option a labelled row.
    assert re.search(r'<fieldset[^>]*>\s*<legend class="label">您对答复是否满意？</legend>', html)
    assert html.count('class="radio-row"') == 3

    missing = client.post(link, data={"csrf_token": _csrf(html), "comment": "x"})
    body = missing.get_data(as_text=True)
    assert missing.status_code == 422
    assert 'class="error-summary"' in body and 'href="#score-field"' in body
    assert re.search(r'id="score-field"[^>]*>.*?请选择您对答复的满意程度。', body, re.S)
    assert db.session.scalar(select(Rating.id).where(Rating.petition_id == petition.id)) is None

    # A refusal of the rules (a wrong code on /rate) is in the same summary.
    page = client.get(f"/rate?no={petition.tracking_no}").get_data(as_text=True)
    wrong = client.post(
        "/rate",
        data={"csrf_token": _csrf(page), "tracking_no": petition.tracking_no, "code": "0", "score": "satisfied"},
    )
    assert wrong.status_code == 404
    assert re.search(r'class="error-summary".*?没有与这个信访编号和查询码相符的事项。', wrong.get_data(as_text=True), re.S)


@pytest.mark.parametrize(
    ("score", "next_step", "review_form"),
    [
        ("satisfied", "承办单位随后将此事项办结，您无需再做什么。", False),
        ("basically_satisfied", "承办单位随后将此事项办结，您无需再做什么。", False),
        ("unsatisfied", "可以在 2026-04-03 前请求上一级机关复查", True),
    ],
)
def test_thank_you_page_says_what_happens_next(client, score, next_step, review_form):
    petition, code = file()
    _reply(petition)
    link = _offers(_look_up(client, petition.tracking_no, code))["rate"]
    html = client.get(link).get_data(as_text=True)
    done = client.post(link, data={"csrf_token": _csrf(html), "score": score}).get_data(as_text=True)
    assert "感谢您的评价" in done and petition.tracking_no in done
    assert "接下来" in done and next_step in done
    assert ('name="reason"' in done) is review_form


def test_the_unit_sees_the_citizens_rating_and_comment(app, client):
    petition, code = file()
    _reply(petition)
    actions.rate(petition, "unsatisfied", "路面只补了一半。")
    staff = app.test_client()
    with staff.session_transaction() as session:
        session["_user_id"] = str(user("jtj-handler").id)
        session["_fresh"] = True
    html = staff.get(f"/staff/petitions/{petition.tracking_no}").get_data(as_text=True)
    rating = re.search(r'<section[^>]*id="rating".*?</section>', html, re.S)
    assert rating, "the staff page shows the rating"
    assert "不满意" in rating.group(0) and "路面只补了一半。" in rating.group(0)


@pytest.mark.parametrize(
    ("given", "filled"),
    [
        ("XF20260302123456", "XF20260302123456"),
        ("xf 20260302 123456", "XF20260302123456"),  # as grouped on the result page, any case
    ],
)
def test_sms_look_up_link_fills_in_the_tracking_number(client, given, filled):
    html = client.get("/track", query_string={"no": given}).get_data(as_text=True)
    assert re.search(rf'<input[^>]*id="tracking_no"[^>]*value="{filled}"', html)
    # The code is what is left to type: the page starts there.
    code_input = re.search(r'<input[^>]*\bid="code"[^>]*>', html).group(0)
    assert " autofocus" in code_input


def test_sms_look_up_link_with_garbage_fills_in_nothing_harmful(client):
    html = client.get("/track", query_string={"no": '"><script>alert(1)</script>'}).get_data(as_text=True)
    assert "<script>alert" not in html
    assert client.get("/track").status_code == 200
    plain = client.get("/track").get_data(as_text=True)
    assert not re.search(r'<input[^>]*id="tracking_no"[^>]*value="[^"]', plain)
