"""The web faces' one input layer (petitions.web.inputs): bad input is a 4xx that changes nothing,
on every route, never a 500 (on PostgreSQL, which refuses NUL, as on SQLite).

- forbidden characters (controls, bidirectional overrides) in any path, query string or form: 400;
- numbers out of their bounds: `<int:…>` ids beyond the database's integers, page numbers beyond
  64 bits or below 1 or not ASCII digits, years beyond the calendar: 404;
- periods beyond any date (9999-12), in other digits or with a line break: 4xx on every page
  that takes one and on the API;
- attachment names keep no path parts, control or bidirectional characters, at upload and when sent.
"""

from __future__ import annotations

import base64
import io

import pytest
from sqlalchemy import insert, select

from petitions.extensions import db as _db
from petitions.models import Attachment, Petition
from tests.handling import file, user
from tests.test_citizen_web import PNG, csrf, filing_data, post_filing

pytestmark = pytest.mark.calendar

NUL, ESC, DEL, C1, RLO, ISOLATE = "\x00", "\x1b", "\x7f", "\x85", "\u202e", "\u2066"
BAD_CHARS = [NUL, ESC, DEL, C1, RLO, ISOLATE]
REFUSED_ZH = "请求中含有不允许的字符"
HUGE = str(2**64)


def web_rules(app, method: str):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.rule.startswith(("/api/", "/static")) or method not in rule.methods:
            continue
        yield rule


def sample_path(app, rule, tracking_no: str, **overrides) -> str:
    values = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        if name in overrides:
            values[name] = overrides[name]
        elif hasattr(converter, "items"):
            values[name] = sorted(converter.items)[0]
        elif type(converter).__name__ in ("IdConverter", "IntegerConverter"):
            values[name] = 1
        elif name == "tracking_no":
            values[name] = tracking_no
        else:
            values[name] = {"action": "note", "code": "jtj", "kind": "acceptance"}.get(name, "x")
    return app.url_map.bind("localhost").build(rule.endpoint, values)


def state(db) -> dict:
    """Every row of every table: what a refused request must leave as it was."""
    with db.engine.connect() as conn:
        return {t.name: sorted(map(repr, conn.execute(select(t)).all())) for t in db.metadata.sorted_tables}


def as_admin(app):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user("admin").get_id()
        session["_fresh"] = True
    return client


def refused(response) -> bool:
    if response.status_code != 400:
        return False
    body = response.get_data(as_text=True)
    if response.mimetype == "text/html":
        return REFUSED_ZH in body
    return "not allowed" in body or REFUSED_ZH in body


@pytest.fixture()
def petition(db):
    return file()[0]


@pytest.mark.parametrize("char", BAD_CHARS, ids=repr)
def test_every_get_route_refuses_forbidden_characters_in_the_query_string(app, db, petition, char):
    client = as_admin(app)
    for rule in web_rules(app, "GET"):
        path = sample_path(app, rule, petition.tracking_no)
        for query in ({"q": f"a{char}b"}, {f"a{char}": "b"}, {"period": f"2026-03{char}"}):
            response = client.get(path, query_string=query)
            assert refused(response), (rule.rule, query, response.status_code)
    for query in ({"q": "a\nb"}, {"q": "a\tb"}):  # a query string is one line
        assert refused(client.get("/staff/queue", query_string=query))


@pytest.mark.parametrize("char", BAD_CHARS, ids=repr)
def test_every_post_route_refuses_forbidden_characters_and_changes_nothing(app, db, petition, char):
    client = as_admin(app)
    token = csrf(client, "/admin/")
    before = state(db)
    for rule in web_rules(app, "POST"):
        path = sample_path(app, rule, petition.tracking_no)
        for form in ({"title": f"路灯{char}不亮"}, {f"x{char}": "1"}, {"text": f"a{char}b", "version": "1"}):
            response = client.post(path, data={"csrf_token": token, **form})
            assert refused(response), (rule.rule, form, response.status_code)
    assert state(db) == before


def test_text_keeps_its_line_breaks_and_tabs(app, db, client):
    response = post_filing(client, filing_data(client, content="第一行\r\n第二行\t完"))
    assert response.status_code == 302
    assert _db.session.scalar(select(Petition.content).order_by(Petition.id.desc()).limit(1)) == "第一行\r\n第二行\t完"


def test_forbidden_characters_in_a_path_find_nothing(app, db, petition):
    client = as_admin(app)
    for path in (f"/staff/petitions/{petition.tracking_no}%00", "/supervision/units/jtj%00", "/rate/x%1b"):
        assert client.get(path).status_code == 404, path


@pytest.mark.parametrize("page", [HUGE, str(2**63), "0", "-1", "abc", "１", "1.5", " 1", "99999999999"])
def test_every_get_route_refuses_page_numbers_out_of_bounds(app, db, petition, page):
    client = as_admin(app)
    for rule in web_rules(app, "GET"):
        path = sample_path(app, rule, petition.tracking_no)
        for name in ("page", "per_page"):
            response = client.get(path, query_string={name: page})
            assert response.status_code == 404, (rule.rule, name, page, response.status_code)


def test_pages_within_bounds_still_open(app, db, petition):
    client = as_admin(app)
    for path in ("/staff/queue?page=2&per_page=5", "/staff/intake?page=100000", "/admin/users?page=3",
                 "/public/petitions?page=2"):
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_ids_beyond_the_database_integers_match_no_route(app, db, petition, method):
    client = as_admin(app)
    token = csrf(client, "/admin/")
    for rule in web_rules(app, method):
        ints = [n for n in rule.arguments if type(rule._converters[n]).__name__ == "IdConverter"]
        for huge in (str(2**31), HUGE):
            if not ints:
                continue
            path = sample_path(app, rule, petition.tracking_no).split("?")[0]
            parts = path.split("/")
            # Put the huge number where the sample put its 1s (ids are the only 1s in a sample path).
            path = "/".join(huge if part == "1" else part for part in parts)
            response = client.get(path) if method == "GET" else client.post(path, data={"csrf_token": token})
            assert response.status_code == 404, (rule.rule, huge, response.status_code)


def test_years_out_of_bounds(app, db):
    client = as_admin(app)
    for year in ("99999", "0", "abc", HUGE):
        assert client.get(f"/admin/calendar?year={year}").status_code == 404
    assert client.get("/admin/calendar?year=2026").status_code == 200


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/admin/units/new", {"code": "zz1", "name": "测试单位", "kind": "department", "sort_order": "99999999999",
                              "parent_id": "0", "leader_id": "0"}),
        ("/admin/units/new", {"code": "zz2", "name": "测试单位", "kind": "department", "parent_id": HUGE,
                              "leader_id": "0"}),
        ("/admin/categories/new", {"code": "zz3", "name": "测试类别", "kind": "grievance", "sort_order": HUGE,
                                   "parent_id": "0"}),
        ("/admin/rules/new", {"category_id": "99999999999", "township_id": "0", "unit_id": "1", "priority": "1"}),
        ("/admin/users/new", {"username": "zz4", "name": "测试", "role": "handler", "unit_id": HUGE,
                              "password": "long-enough-1"}),
    ],
)
def test_form_numbers_beyond_the_database_integers_are_form_errors(app, db, path, form):
    client = as_admin(app)
    before = state(db)
    response = client.post(path, data={"csrf_token": csrf(client, "/admin/"), **form})
    assert response.status_code == 422
    assert state(db) == before


BAD_PERIODS = ["9999-12", "9999", "9999-Q4", "0000000000000000", "２０２６-０３", "2026-3", "2026-13", "1989"]
PERIOD_PAGES = [
    ("/public/", {}),
    ("/supervision/rankings", {}),
    ("/supervision/units/jtj", {}),
    ("/supervision/export/measures", {}),
    ("/supervision/export/measures", {"format": "xlsx"}),
]


@pytest.mark.parametrize("period", BAD_PERIODS)
def test_periods_beyond_any_date_or_in_other_digits_are_refused_everywhere(app, db, period):
    client = as_admin(app)
    for page, args in PERIOD_PAGES:
        response = client.get(page, query_string={"period": period, **args})
        assert response.status_code == 422, (page, period, response.status_code)
    api = client.get("/api/v1/stats/units", query_string={"period": period})
    assert api.status_code == 422 and "period" in api.get_json()["error"]["fields"]
    for spaced in (f"{period}\n", f" {period}"):
        assert client.get("/api/v1/stats/units", query_string={"period": spaced}).status_code == 422


def test_a_good_period_still_works_on_every_page(app, db):
    client = as_admin(app)
    for page, args in PERIOD_PAGES:
        assert client.get(page, query_string={"period": "2025-12", **args}).status_code == 200, page
    assert client.get("/api/v1/stats/units?period=2025-Q4").status_code == 200


# ---------------------------------------------------------------- attachment names


def download(app, tracking_no: str, attachment_id: int):
    return as_admin(app).get(f"/staff/petitions/{tracking_no}/attachments/{attachment_id}")


def test_web_uploads_keep_only_a_clean_name(app, db, client):
    names = ["../../etc/passwd.png", "Users/me/照片.png", "\u202egnp.exe.png", "./../x.png"]
    response = post_filing(client, filing_data(client), [(PNG, n) for n in names])
    assert response.status_code == 302
    petition = _db.session.scalar(select(Petition).order_by(Petition.id.desc()).limit(1))
    kept = sorted(a.filename for a in petition.attachments)
    assert kept == sorted(["passwd.png", "照片.png", "gnp.exe.png", "x.png"])
    for attachment in petition.attachments:
        sent = download(app, petition.tracking_no, attachment.id)
        assert sent.status_code == 200
        disposition = sent.headers["Content-Disposition"]
        assert "etc" not in disposition and "Users" not in disposition and ".." not in disposition
        assert "\u202e" not in disposition and "%E2%80%AE" not in disposition


def test_api_uploads_with_line_breaks_are_kept_clean_and_download(app, db, client):
    body = {
        "title": "路灯不亮",
        "content": "村口路灯坏了。",
        "category": "jtys-dl",
        "township": "dongcheng",
        "contact": {"name": "张三", "phone": "13812345678"},
        "attachments": [
            {"filename": "村口\n路灯.png", "content_base64": base64.b64encode(PNG).decode()},
            {"filename": "a\r\nContent-Type: text/html\r\n.png", "content_base64": base64.b64encode(PNG).decode()},
        ],
    }
    response = client.post("/api/v1/petitions", json=body)
    assert response.status_code == 201, response.get_json()
    petition = _db.session.scalar(select(Petition).where(Petition.tracking_no == response.get_json()["tracking_no"]))
    # Line breaks are spaces; of "a\r\nContent-Type: text/html…" only the part after the "/" is left.
    assert sorted(a.filename for a in petition.attachments) == ["html .png", "村口 路灯.png"]
    for attachment in petition.attachments:
        sent = download(app, petition.tracking_no, attachment.id)
        assert sent.status_code == 200 and sent.headers["Content-Type"] == "image/png"
        assert "\n" not in sent.headers["Content-Disposition"] and "\r" not in sent.headers["Content-Disposition"]


def test_a_name_kept_before_names_were_cleaned_still_downloads(app, db, petition):
    _db.session.execute(
        insert(Attachment),
        [
            dict(
                petition_id=petition.id,
                filename="旧\n文件\u202e.png",
                content_type="image/png",
                size=len(PNG),
                sha256="0" * 64,
                data=PNG,
            )
        ],
    )
    _db.session.commit()
    row = _db.session.scalar(select(Attachment).where(Attachment.petition_id == petition.id))
    sent = download(app, petition.tracking_no, row.id)
    assert sent.status_code == 200 and sent.get_data() == PNG
    assert "%E6%97%A7%20%E6%96%87%E4%BB%B6.png" in sent.headers["Content-Disposition"]  # 旧 文件.png
    assert io.BytesIO(sent.get_data()).read(4) == PNG[:4]


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("../../etc/passwd.png", "passwd.png"),
        ("C:\\Users\\me\\照片.jpg", "照片.jpg"),
        ("\u202egnp.exe", "gnp.exe"),
        ("a\u2066b\u2069.pdf", "ab.pdf"),
        ("合同\n第二页.pdf", "合同 第二页.pdf"),
        ("...hidden.png", "hidden.png"),
        ("  ", "attachment"),
        ("", "attachment"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
    ],
)
def test_clean_filename(raw, kept):
    from petitions.domain.validation import clean_filename

    assert clean_filename(raw) == kept
