"""Open311 GeoReport v2 at /open311/v2/: services, filing as a client would, following to closed,
the specification's error shape, and no personal data in any GET."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from petitions.domain.clocks import now, set_clock
from petitions.models import Event, Open311Key, Petition
from tests.conftest import configure
from tests.handling import act

pytestmark = pytest.mark.calendar

BASE = "/open311/v2"
KEY = "demo-open311-key"
NAME_FIRST, NAME_LAST, PHONE, EMAIL = "三丰", "欧阳", "13912345678", "ouyang@example.cn"


def form(**overrides) -> dict[str, str]:
    """Only the specification's fields, as a client sends them (form-encoded)."""
    data = {
        "api_key": KEY,
        "service_code": "jtys-dl",
        "description": "人民路路面坑洼多年无人修\n雨天积水，老人孩子出行不便，请尽快修复。",
        "address_string": "青山县东城街道人民路12号",
        "first_name": NAME_FIRST,
        "last_name": NAME_LAST,
        "phone": PHONE,
        "email": EMAIL,
        "media_url": "https://photos.example.cn/road.jpg",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def petition_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Petition))


def assert_error(res, status: int) -> str:
    assert res.status_code == status, res.get_data(as_text=True)
    body = res.get_json()
    assert isinstance(body, list) and body, body
    for item in body:
        assert set(item) == {"code", "description"}
        assert item["code"] == status and isinstance(item["description"], str) and item["description"]
    return " ".join(item["description"] for item in body)


def assert_no_personal_data(res) -> None:
    text = res.get_data(as_text=True)
    for secret in (NAME_FIRST, NAME_LAST, PHONE, EMAIL, "人民路12号", "雨天积水", "photos.example.cn"):
        assert secret not in text, secret


# ---------------------------------------------------------------- services


def test_services_are_the_selectable_categories(client):
    res = client.get(f"{BASE}/services.json")
    assert res.status_code == 200 and res.mimetype == "application/json"
    services = res.get_json()
    by_code = {s["service_code"]: s for s in services}
    road = by_code["jtys-dl"]
    assert road == {
        "service_code": "jtys-dl",
        "service_name": "道路桥梁维修",
        "description": road["description"],
        "metadata": False,
        "type": "realtime",
        "keywords": "道路,坑洼,修路,桥梁,路灯",
        "group": "交通运输",
    }
    assert "jtys" not in by_code  # a top-level subject is a group, not a service
    reports = [s for s in services if s["metadata"]]
    assert reports, "report categories carry the anonymity attribute"
    definition = client.get(f"{BASE}/services/{reports[0]['service_code']}.json").get_json()
    assert definition["service_code"] == reports[0]["service_code"]
    (attribute,) = definition["attributes"]
    assert attribute["code"] == "anonymous" and attribute["datatype"] == "singlevaluelist"
    assert {v["key"] for v in attribute["values"]} == {"true", "false"}
    assert attribute["required"] is False and attribute["variable"] is True
    plain = client.get(f"{BASE}/services/jtys-dl.json")
    assert plain.status_code == 200 and plain.get_json() == {"service_code": "jtys-dl", "attributes": []}
    assert_error(client.get(f"{BASE}/services/nope.json"), 404)
    assert_error(client.get(f"{BASE}/services/jtys.json"), 404)


# ---------------------------------------------------------------- done when: file, follow to closed


def test_filed_through_open311_followed_to_closed(client, db):
    res = client.post(f"{BASE}/requests.json", data=form())
    assert res.status_code == 201, res.get_data(as_text=True)
    (answer,) = res.get_json()
    assert set(answer) == {"service_request_id", "service_notice", "account_id"}
    number = answer["service_request_id"]
    assert number.startswith("XF") and number in answer["service_notice"]

    petition = db.session.scalar(select(Petition).where(Petition.tracking_no == number))
    assert petition.channel == "open311"
    assert petition.township.code == "dongcheng"  # matched by name in the address
    assert petition.unit.code == "jtj" and petition.status == "routed"
    assert petition.title == "人民路路面坑洼多年无人修"
    assert petition.contact_name == NAME_LAST + NAME_FIRST and petition.contact_phone == PHONE
    assert "https://photos.example.cn/road.jpg" in petition.content
    assert petition.address == "青山县东城街道人民路12号"

    view = client.get(f"{BASE}/requests/{number}.json")
    assert view.status_code == 200
    (item,) = view.get_json()
    assert item["status"] == "open" and item["agency_responsible"] == "县交通运输局"
    assert item["service_code"] == "jtys-dl" and item["service_name"] == "道路桥梁维修"
    assert item["address"] == "东城街道"
    assert item["expected_datetime"] and item["requested_datetime"].endswith("+08:00")
    assert_no_personal_data(view)

    act(number, "accept", "jtj-leader")
    act(number, "assign", "jtj-leader", handler="jtj-handler")
    act(number, "reply", "jtj-leader", text="已安排施工队于本周内修复路面。")
    replied = client.get(f"{BASE}/requests/{number}.json").get_json()[0]
    assert replied["status"] == "open" and replied["expected_datetime"] is None
    # Closing waits until the citizen's 30 days for asking a review have passed.
    window = petition.open_clock
    assert window.kind == "review_request"
    later = window.due_at + timedelta(minutes=1)
    set_clock(lambda: later)
    act(number, "close", "intake")

    closed = client.get(f"{BASE}/requests/{number}.json")
    (item,) = closed.get_json()
    assert item["status"] == "closed"
    assert item["status_notes"] == "已办结"
    assert item["updated_datetime"] >= item["requested_datetime"]
    assert_no_personal_data(closed)
    listed = client.get(f"{BASE}/requests.json", query_string={"status": "closed"})
    assert [r["service_request_id"] for r in listed.get_json()] == [number]
    assert_no_personal_data(listed)


def test_json_body_and_coordinates_and_unknown_place_waits_for_intake(client, db):
    res = client.post(
        f"{BASE}/requests.json",
        json={
            "api_key": KEY,
            "service_code": "jtys-dl",
            "description": "村口桥梁护栏损坏",
            "lat": 28.1234,
            "long": "112.5678",
            "first_name": NAME_FIRST,
            "last_name": NAME_LAST,
            "phone": PHONE,
        },
    )
    assert res.status_code == 201, res.get_data(as_text=True)
    number = res.get_json()[0]["service_request_id"]
    petition = db.session.scalar(select(Petition).where(Petition.tracking_no == number))
    # No place named: it waits in the intake queue, unrouted, with the route clock running.
    assert petition.township is None and petition.unit is None and petition.status == "registered"
    assert petition.open_clock.kind == "route"
    assert (petition.latitude, petition.longitude) == (28.1234, 112.5678)
    item = client.get(f"{BASE}/requests/{number}.json").get_json()[0]
    assert item["address"] is None and item["agency_responsible"] is None
    assert (item["lat"], item["long"]) == (28.1234, 112.5678)
    # The intake officer registers its place and routes it.
    act(number, "register", "intake", township="nanshan")
    act(number, "route", "intake", unit="jtj")
    db.session.expire_all()
    petition = db.session.scalar(select(Petition).where(Petition.tracking_no == number))
    assert petition.township.code == "nanshan" and petition.status == "routed"
    assert client.get(f"{BASE}/requests/{number}.json").get_json()[0]["address"] == "南山镇"


def test_anonymous_report_needs_no_contact(client, db):
    reports = [s for s in client.get(f"{BASE}/services.json").get_json() if s["metadata"]]
    res = client.post(
        f"{BASE}/requests.json",
        data={
            "api_key": KEY,
            "service_code": reports[0]["service_code"],
            "description": "某站所工作人员收受好处费",
            "address_string": "西城街道",
            "attribute[anonymous]": "true",
        },
    )
    assert res.status_code == 201, res.get_data(as_text=True)
    petition = db.session.scalar(
        select(Petition).where(Petition.tracking_no == res.get_json()[0]["service_request_id"])
    )
    assert petition.anonymous and petition.contact_name is None and petition.unit.code == "jw"


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "overrides, status, says",
    [
        ({"api_key": None}, 403, "api_key"),
        ({"api_key": "not-a-key"}, 403, "api_key"),
        ({"service_code": "nope"}, 400, "service_code"),
        ({"service_code": None}, 400, "service_code"),
        ({"description": None}, 400, "description"),
        ({"description": "   "}, 400, "description"),
        ({"address_string": None, "lat": "95", "long": "112"}, 400, "lat"),
        ({"address_string": None, "lat": "abc", "long": "112"}, 400, "lat"),
        ({"address_string": None, "lat": "28", "long": "nan"}, 400, "long"),
        ({"address_string": None, "lat": "28"}, 400, "long"),
        ({"address_string": None}, 400, "address_string"),
        ({"phone": "12345"}, 400, "phone"),
        ({"first_name": None, "last_name": None}, 400, "first_name"),
        ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
        ({"attribute[anonymous]": "maybe"}, 400, "anonymous"),
        ({"attribute[anonymous]": "true"}, 400, "anonymous"),  # not a report: must give a name
        ({"description": "长" * 6000}, 400, "description"),
    ],
)
def test_bad_requests_are_refused_in_the_spec_shape_and_change_nothing(client, db, overrides, status, says):
    before = petition_count(db)
    events = db.session.scalar(select(func.count()).select_from(Event))
    res = client.post(f"{BASE}/requests.json", data=form(**overrides))
    text = assert_error(res, status)
    assert says in text
    assert petition_count(db) == before
    assert db.session.scalar(select(func.count()).select_from(Event)) == events


def test_inactive_key_is_refused(client, db):
    key = db.session.scalar(select(Open311Key))
    key.active = False
    db.session.commit()
    assert_error(client.post(f"{BASE}/requests.json", data=form()), 403)


def test_unknown_requests_and_paths_answer_404_in_the_spec_shape(client, db):
    assert_error(client.get(f"{BASE}/requests/XF20260101000000.json"), 404)
    assert_error(client.get(f"{BASE}/requests/%00.json"), 404)
    assert_error(client.get(f"{BASE}/services/%00.json"), 404)
    assert client.get(f"{BASE}/requests.json?service_code=路'--&service_request_id=").get_json() == []
    assert client.get(f"{BASE}/requests.json?service_request_id=XF 1,XF1").get_json() == []
    assert_error(client.get(f"{BASE}/requests.json?service_request_id=%00"), 400)
    assert_error(client.get(f"{BASE}/requests.json?status=%00"), 400)
    assert_error(client.get(f"{BASE}/nothing.json"), 404)
    assert_error(client.delete(f"{BASE}/requests.json"), 405)
    # A petition filed on the web is not published through Open311.
    from tests.handling import file

    petition, _code = file()
    assert_error(client.get(f"{BASE}/requests/{petition.tracking_no}.json"), 404)
    assert (
        client.get(
            f"{BASE}/requests.json", query_string={"service_request_id": petition.tracking_no}
        ).get_json()
        == []
    )


def test_request_filters(client, db):
    numbers = []
    for code in ("jtys-dl", "jtys-gj"):
        res = client.post(f"{BASE}/requests.json", data=form(service_code=code))
        numbers.append(res.get_json()[0]["service_request_id"])
    road, bus = numbers

    def ids(**params):
        res = client.get(f"{BASE}/requests.json", query_string=params)
        assert res.status_code == 200, res.get_data(as_text=True)
        assert_no_personal_data(res)
        return {r["service_request_id"] for r in res.get_json()}

    assert ids() == {road, bus}
    assert ids(service_code="jtys-gj") == {bus}
    assert ids(service_code="jtys-gj,jtys-dl") == {road, bus}
    assert ids(status="open") == {road, bus} and ids(status="closed") == set()
    assert ids(status="open,closed") == {road, bus}
    # ids override every other filter
    assert ids(service_request_id=f"{road}, XF0", status="closed") == {road}
    day = timedelta(days=1)
    assert ids(start_date=(now() - day).isoformat(), end_date=(now() + day).isoformat()) == {road, bus}
    assert ids(start_date=(now() + day).isoformat()) == set()
    assert ids(end_date=(now() - day).isoformat()) == set()
    # Outside the default 90 days
    later = now() + timedelta(days=91)
    set_clock(lambda: later)
    assert ids() == set()
    set_clock(None)

    for params in (
        {"status": "pending"},
        {"start_date": "yesterday"},
        {"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-06-01T00:00:00+08:00"},
        {"start_date": "2026-03-01", "end_date": "2026-02-01"},
    ):
        assert_error(client.get(f"{BASE}/requests.json", query_string=params), 400)


def test_open311_filing_is_rate_limited(client, app, db, monkeypatch):
    configure(app, ratelimit_filing="2 per minute")
    for _ in range(2):
        assert client.post(f"{BASE}/requests.json", data=form()).status_code == 201
    res = client.post(f"{BASE}/requests.json", data=form())
    assert_error(res, 429)
    assert int(res.headers["Retry-After"]) > 0


def test_oversize_body_is_413_in_the_spec_shape(client, db):
    before = petition_count(db)
    res = client.post(f"{BASE}/requests.json", data=form(description="长" * 40_000))
    assert_error(res, 413)
    assert petition_count(db) == before


def test_admin_issues_and_deactivates_keys(client, app, db):
    import re

    from tests.handling import user
    from tests.test_admin import _csrf, login

    login(client, app, user("admin"))
    page = client.get("/admin/open311").get_data(as_text=True)
    assert "demo-o" in page  # the demo key, by its prefix only
    refused = client.post("/admin/open311", data={"csrf_token": _csrf(page), "name": ""})
    assert refused.status_code == 422
    issued = client.post("/admin/open311", data={"csrf_token": _csrf(page), "name": "12345 热线系统"})
    html = issued.get_data(as_text=True)
    key = re.search(r'<code id="new-key">([^<]+)</code>', html).group(1)
    row = db.session.scalar(select(Open311Key).where(Open311Key.name == "12345 热线系统"))
    assert row is not None and key not in row.key_hash and row.prefix == key[:6]
    assert client.post(f"{BASE}/requests.json", data=form(api_key=key)).status_code == 201
    db.session.refresh(row)
    assert row.last_used_at is not None
    res = client.post(f"/admin/open311/{row.id}/active", data={"csrf_token": _csrf(html), "active": "0"})
    assert res.status_code == 303
    assert_error(client.post(f"{BASE}/requests.json", data=form(api_key=key)), 403)
    assert key not in client.get("/admin/open311").get_data(as_text=True)


def test_staff_pages_show_a_request_without_a_place(client, app, db):
    from tests.handling import user
    from tests.test_admin import login

    res = client.post(f"{BASE}/requests.json", data=form(address_string="某村口", service_code="jtys-dl"))
    number = res.get_json()[0]["service_request_id"]
    login(client, app, user("intake"))
    queue = client.get("/staff/intake")
    assert queue.status_code == 200 and number in queue.get_data(as_text=True)
    page = client.get(f"/staff/petitions/{number}")
    assert page.status_code == 200
    staff_view = client.get(
        f"/api/v1/petitions/{number}", headers={"Authorization": "Bearer " + _token(db, "intake")}
    )
    assert staff_view.status_code == 200 and staff_view.get_json()["township"] is None


def _token(db, username: str) -> str:
    from petitions.web.auth import issue_token
    from tests.handling import user

    token, _row = issue_token(user(username))
    db.session.commit()
    return token
