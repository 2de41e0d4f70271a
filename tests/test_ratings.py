"""Ratings of replies: API, SMS link, query code, logged in; once, within 30 days, never by staff;
phone follow-ups; replies left unrated close on their own. Bad input changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select

from petitions.domain.clocks import set_clock
from petitions.domain.errors import Conflict, NotFound, ValidationFailed
from petitions.extensions import db as _db
from petitions.models import Event, FollowUp, Petition, Rating
from petitions.services import actions, ratings
from petitions.services.filing import Filing, file_petition
from petitions.services.messages import RATING_SALT, rating_token

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
clock = {"now": T0}


@pytest.fixture(autouse=True)
def _clock():
    clock["now"] = T0
    set_clock(lambda: clock["now"])


def advance(**kw) -> None:
    clock["now"] = clock["now"] + timedelta(**kw)


def replied(demo_user, *, citizen=None) -> tuple[Petition, str]:
    """A petition taken the real road to a reply: filed, accepted, assigned, replied by the leader."""
    filed = file_petition(
        Filing(
            title="路面坑洼",
            content="青石镇主路坑洼，请修补。",
            category="jtys-dl",
            township="chengguan",
            contact_name="王五",
            contact_phone="13912345678",
        ),
        citizen=citizen,
    )
    p = filed.petition
    advance(hours=2)
    p = actions.perform(p, "accept", demo_user("jtj-handler"), p.version)
    p = actions.perform(p, "assign", demo_user("jtj-leader"), p.version, handler="jtj-handler")
    advance(days=3)
    p = actions.perform(p, "reply", demo_user("jtj-leader"), p.version, text="已安排修补，三日内完成。")
    assert p.status == "replied"
    return p, filed.query_code


def counts(p: Petition) -> tuple[int, int]:
    _db.session.expire_all()
    ratings_n = _db.session.scalar(select(func.count()).select_from(Rating).where(Rating.petition_id == p.id))
    events_n = _db.session.scalar(select(func.count()).select_from(Event).where(Event.petition_id == p.id))
    return ratings_n, events_n


def test_rate_through_the_api_once(client, demo_user):
    p, code = replied(demo_user)
    url = f"/api/v1/petitions/{p.tracking_no}/rating"
    response = client.post(url, json={"code": code, "score": "basically_satisfied", "comment": "还行"})
    assert response.status_code == 200, response.get_json()
    rating = _db.session.scalar(select(Rating).where(Rating.petition_id == p.id))
    assert (rating.score, rating.comment, rating.reply_no, rating.channel) == (
        "basically_satisfied",
        "还行",
        1,
        "api",
    )
    assert rating.unit_id == _db.session.get(Petition, p.id).unit_id
    before = counts(p)
    again = client.post(url, json={"code": code, "score": "unsatisfied", "comment": ""})
    assert again.status_code == 409
    assert counts(p) == before
    assert _db.session.scalar(select(Rating.score).where(Rating.petition_id == p.id)) == "basically_satisfied"


def test_a_rated_reply_is_no_longer_offered_for_rating(client, demo_user):
    p, code = replied(demo_user)
    look_up = f"/api/v1/petitions/{p.tracking_no}?code={code}"
    before = client.get(look_up).get_json()
    assert (before["can_rate"], before["can_request_review"], before["rating"]) == (True, True, None)
    url = f"/api/v1/petitions/{p.tracking_no}/rating"
    assert client.post(url, json={"code": code, "score": "unsatisfied", "comment": "没修"}).status_code == 200
    after = client.get(look_up).get_json()
    # Unsatisfied: still replied, review may be asked for; the rating is not offered again.
    assert after["status"] == "replied"
    assert after["can_rate"] is False
    assert after["can_request_review"] is True
    assert (after["rating"]["score"], after["rating"]["comment"]) == ("unsatisfied", "没修")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"code": "00000000", "score": "satisfied"}, 404),  # wrong query code
        ({"code": "CODE", "score": "delighted"}, 422),  # unknown score
        ({"code": "CODE", "score": 3}, 422),  # not text
        ({"code": "CODE"}, 422),  # missing score
    ],
)
def test_bad_api_ratings_write_nothing(client, demo_user, body, status):
    p, code = replied(demo_user)
    body = {k: (code if v == "CODE" else v) for k, v in body.items()}
    before = counts(p)
    response = client.post(f"/api/v1/petitions/{p.tracking_no}/rating", json=body)
    assert response.status_code == status
    assert counts(p) == before


def test_no_reply_yet_and_after_the_window(client, demo_user):
    filed = file_petition(
        Filing(
            title="噪音",
            content="夜间施工",
            category="jtys-dl",
            township="chengguan",
            contact_name="赵六",
            contact_phone="13800138000",
        )
    )
    url = f"/api/v1/petitions/{filed.petition.tracking_no}/rating"
    assert client.post(url, json={"code": filed.query_code, "score": "satisfied"}).status_code == 409
    assert counts(filed.petition)[0] == 0
    p, code = replied(demo_user)
    look_up = f"/api/v1/petitions/{p.tracking_no}?code={code}"
    assert client.get(look_up).get_json()["can_rate"] is True
    advance(days=30)
    before = counts(p)
    # The citizen is no longer offered a rating, and one sent anyway is refused.
    assert client.get(look_up).get_json()["can_rate"] is False
    response = client.post(
        f"/api/v1/petitions/{p.tracking_no}/rating", json={"code": code, "score": "satisfied"}
    )
    assert response.status_code == 409
    assert "30" in response.get_json()["error"]["message"]
    assert counts(p) == before
    # Straight through the workflow too (the API's own check aside): the rule itself refuses.
    with pytest.raises(Conflict):
        actions.rate(p, "satisfied")
    assert counts(p) == before


def test_sms_link_rates_and_offers_review_when_unsatisfied(client, demo_user):
    p, _code = replied(demo_user)
    token = rating_token(p.tracking_no, 1)
    page = client.get(f"/rate/{token}")
    assert page.status_code == 200 and "已安排修补" in page.get_data(as_text=True)
    csrf = _csrf(page)
    done = client.post(f"/rate/{token}", data={"csrf_token": csrf, "score": "unsatisfied", "comment": "没修"})
    assert done.status_code == 200
    html = done.get_data(as_text=True)
    assert f"/rate/{token}/review" in html  # the review request, right there
    assert _db.session.scalar(select(Rating.channel).where(Rating.petition_id == p.id)) == "sms"
    review = client.post(f"/rate/{token}/review", data={"csrf_token": _csrf(done), "reason": "路仍未修"})
    assert review.status_code == 200
    _db.session.expire_all()
    assert _db.session.get(Petition, p.id).status == "under_review"
    # The link cannot rate twice.
    before = counts(p)
    again = client.post(f"/rate/{token}", data={"csrf_token": csrf, "score": "satisfied"})
    assert again.status_code == 409 and counts(p) == before


def test_forged_expired_and_superseded_links_are_refused(client, app, demo_user):
    p, _code = replied(demo_user)
    before = counts(p)
    forged = URLSafeTimedSerializer("not-the-secret", salt=RATING_SALT).dumps([p.tracking_no, 1])
    assert client.get(f"/rate/{forged}").status_code == 404
    assert client.get("/rate/garbage").status_code == 404
    with pytest.raises(NotFound):
        ratings.rate_by_token(forged, "satisfied")
    old = rating_token(p.tracking_no, 1)
    # A link is dated by the server clock: one signed 31 days ago has expired.
    advance(days=-31)
    expired = rating_token(p.tracking_no, 1)
    advance(days=31)
    with pytest.raises(Conflict):
        ratings.rate_by_token(expired, "satisfied")
    with pytest.raises(Conflict):
        ratings.rate_by_token(rating_token(p.tracking_no, 2), "satisfied")  # not the reply to rate
    assert counts(p) == before
    assert ratings.rate_by_token(old, "satisfied").id == p.id


def _csrf(response) -> str:
    import re

    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', response.get_data(as_text=True))
    if match is None:
        match = re.search(
            r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"',
            response.get_data(as_text=True),
        )
    assert match, "no CSRF token on the page"
    return match.group(1)


def test_rate_by_code_and_logged_in(client, demo_user):
    p, code = replied(demo_user)
    page = client.get(f"/rate?no={p.tracking_no}")
    csrf = _csrf(page)
    wrong = client.post(
        "/rate", data={"csrf_token": csrf, "tracking_no": p.tracking_no, "code": "1", "score": "satisfied"}
    )
    assert wrong.status_code == 404 and counts(p)[0] == 0
    ok = client.post(
        "/rate", data={"csrf_token": csrf, "tracking_no": p.tracking_no, "code": code, "score": "satisfied"}
    )
    assert ok.status_code == 200 and counts(p)[0] == 1

    from petitions.models import User

    citizen = User(username="13700137000", name="钱七", role="citizen", phone="13700137000")
    citizen.set_password("pw-123456")
    _db.session.add(citizen)
    _db.session.commit()
    mine, _ = replied(demo_user, citizen=citizen)
    with client.session_transaction() as sess:
        sess["_user_id"] = str(citizen.id)
        sess["_fresh"] = True
    page = client.get(f"/rate?no={mine.tracking_no}")
    assert page.status_code == 200 and "已安排修补" in page.get_data(as_text=True)
    done = client.post(
        "/rate", data={"csrf_token": _csrf(page), "tracking_no": mine.tracking_no, "score": "satisfied"}
    )
    assert done.status_code == 200 and counts(mine)[0] == 1
    # Someone else's petition without its code: not found, nothing written.
    other, _ = replied(demo_user)
    refused = client.post(
        "/rate", data={"csrf_token": _csrf(page), "tracking_no": other.tracking_no, "score": "satisfied"}
    )
    assert refused.status_code == 404 and counts(other)[0] == 0


def test_staff_cannot_rate_or_change_a_rating(demo_user):
    p, code = replied(demo_user)
    with pytest.raises(NotFound):
        ratings.rate(p, "satisfied", actor=demo_user("jtj-leader"))
    ratings.rate(p, "unsatisfied", actor=actions.CodeHolder(p.id))
    rating = _db.session.scalar(select(Rating).where(Rating.petition_id == p.id))
    rating.score = "satisfied"
    with pytest.raises(ratings.RatingIsFinal):
        _db.session.commit()
    _db.session.rollback()
    assert _db.session.scalar(select(Rating.score).where(Rating.petition_id == p.id)) == "unsatisfied"


def test_phone_follow_up(demo_user):
    """回访 is the workflow's `follow-up` action: the unit records it; the rating stays the citizen's."""
    p, _ = replied(demo_user)
    handler = demo_user("jtj-handler")
    p = actions.perform(
        p,
        "follow-up",
        handler,
        p.version,
        outcome="reached",
        spoke_with="信访人本人",
        citizen_view="satisfied",
        notes="已修好",
    )
    (row,) = ratings.follow_ups(p)
    assert row.unit.code == "jtj" and row.at == T0 + timedelta(days=3, hours=2)
    assert (row.outcome, row.spoke_with, row.citizen_view, row.notes) == ("reached", "信访人本人", "satisfied", "已修好")
    last = _db.session.scalar(select(Event).where(Event.petition_id == p.id).order_by(Event.id.desc()))
    assert (last.type, last.public, last.actor_id) == ("followed_up", False, handler.id)
    assert counts(p)[0] == 0  # the rating is the citizen's alone
    with pytest.raises(ValidationFailed):
        actions.perform(p, "follow-up", handler, p.version, outcome="maybe")
    with pytest.raises(NotFound):
        actions.perform(p, "follow-up", demo_user("rsj-handler"), p.version, outcome="reached")
    assert _db.session.scalar(select(func.count()).select_from(FollowUp)) == 1


def test_unrated_replies_close_after_30_days(demo_user):
    unrated, _ = replied(demo_user)
    rated, _ = replied(demo_user)
    ratings.rate(rated, "satisfied", actor=actions.CodeHolder(rated.id))
    issued = actions.latest_issued(unrated).issued_at
    clock["now"] = issued + timedelta(days=30, seconds=-1)
    assert ratings.close_unrated() == 0
    clock["now"] = issued + timedelta(days=30)
    assert ratings.unrated_due_ids(clock["now"]) == [unrated.id]
    assert ratings.close_unrated() == 1
    _db.session.expire_all()
    closed = _db.session.get(Petition, unrated.id)
    assert closed.status == "closed" and closed.closed_at == clock["now"]
    last = _db.session.scalar(select(Event).where(Event.petition_id == unrated.id).order_by(Event.id.desc()))
    assert (last.type, last.actor_id, last.data["reason"]) == ("closed", None, "unrated")
    assert all(c.stopped_at is not None for c in closed.clocks)
    assert _db.session.get(Petition, rated.id).status == "replied"
    assert ratings.close_unrated() == 0  # nothing twice
