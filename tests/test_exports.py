"""Exports of petitions and measures: CSV and XLSX, streamed, personal data as the reader may see it."""

from __future__ import annotations

import csv
import io
import itertools
import threading
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert, select

from petitions.domain.clocks import set_clock
from petitions.extensions import db as _db
from petitions.models import Category, Petition, Unit
from tests.test_stats import march  # noqa: F401
from tests.test_stats_pages import login

pytestmark = pytest.mark.calendar

NOW = datetime(2026, 4, 10, 4, 0, tzinfo=UTC)
_seq = itertools.count(1)


def unit(code: str) -> Unit:
    return _db.session.scalar(select(Unit).where(Unit.code == code))


def bulk(n: int, unit_code: str, category: str = "jtys-dl", **extra) -> None:
    """n petitions in one INSERT (the export must not care how many there are)."""
    cat = _db.session.scalar(select(Category).where(Category.code == category))
    u, town = unit(unit_code), unit("chengguan")
    rows = []
    for _ in range(n):
        i = next(_seq)
        rows.append(
            dict(
                tracking_no=f"XF-E{i:08d}",
                query_code_hash="x",
                channel="web",
                category_id=cat.id,
                township_id=town.id,
                title=f"事项{i}",
                content="内容",
                anonymous=False,
                public_consent=False,
                contact_name="李四",
                contact_phone="13912345678",
                status="in_progress",
                unit_id=u.id,
                version=1,
                created_at=NOW,
                updated_at=NOW,
                **extra,
            )
        )
    _db.session.execute(insert(Petition), rows)
    _db.session.commit()


def read_csv(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


@pytest.fixture(autouse=True)
def _clock():
    set_clock(lambda: NOW)


def test_petitions_csv_is_streamed_and_scoped_to_the_reader(client, demo_user):
    bulk(2500, "jtj")  # more than one batch
    bulk(3, "rsj")
    login(client, demo_user("jtj-handler"))
    response = client.get("/supervision/export/petitions?format=csv")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = read_csv(response)
    assert len(rows) == 1 + 2500  # a handler sees their own unit's petitions only
    header, first = rows[0], rows[1]
    assert len(header) == len(first) == 13
    assert first[11] == "李四" and first[12] == "13912345678"  # the handling unit calls back


def test_supervisors_get_masked_phones_and_filters_apply(client, demo_user):
    bulk(5, "jtj")
    bulk(2, "rsj", handler_id=None)
    login(client, demo_user("supervisor"))
    rows = read_csv(client.get("/supervision/export/petitions?format=csv&unit=rsj"))
    assert len(rows) == 1 + 2
    assert rows[1][12] == "139****5678"
    rows = read_csv(client.get("/supervision/export/petitions?format=csv&q=%E4%BA%8B%E9%A1%B9"))  # 事项
    assert len(rows) == 1 + 7
    assert len(read_csv(client.get("/supervision/export/petitions?status=closed"))) == 1


def test_reports_follow_the_staff_pages_rule(client, demo_user):
    bulk(1, "jw", category="jjkg-wj")
    login(client, demo_user("jw-handler"))
    rows = read_csv(client.get("/supervision/export/petitions"))
    assert rows[1][11:] == ["李四", "13912345678"]  # the discipline office calls its reporter back
    login(client, demo_user("supervisor"))
    rows = read_csv(client.get("/supervision/export/petitions?unit=jw"))
    assert rows[1][11:] == ["李四", "139****5678"]  # the bureau's supervisor: masked
    login(client, demo_user("jtj-leader"))
    assert len(read_csv(client.get("/supervision/export/petitions?unit=jw"))) == 1  # not theirs at all


def test_petitions_xlsx(client, demo_user):
    bulk(30, "jtj")
    login(client, demo_user("supervisor"))
    response = client.get("/supervision/export/petitions?format=xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.get_data()), read_only=True).active
    values = list(sheet.values)
    assert len(values) == 31 and values[1][7].startswith("事项")


def test_measures_export(client, march, demo_user):  # noqa: F811
    login(client, demo_user("supervisor"))
    rows = read_csv(client.get("/supervision/export/measures?period=2026-03&format=csv"))
    by_code = {r[1]: r for r in rows[1:]}
    assert by_code["jtj"][3:8] == ["5", "4", "1", "0.8", "0.6"]
    assert by_code["tjj"][6] == ""  # a null rate is an empty cell, not 0
    assert rows[-1][2] in ("全部单位", "All units") and rows[-1][3] == "7"
    response = client.get("/supervision/export/measures?period=2026-03&format=xlsx")
    values = list(load_workbook(io.BytesIO(response.get_data()), read_only=True).active.values)
    assert values[0][0] in ("期间", "Period") and len(values) == len(rows)


@pytest.mark.parametrize(
    "query", ["format=pdf", "status=bogus", "level=purple", "unit=nowhere", "period=2026-13&x=1"]
)
def test_bad_export_requests(client, demo_user, query):
    login(client, demo_user("supervisor"))
    path = "/supervision/export/measures" if query.startswith("period") else "/supervision/export/petitions"
    assert client.get(f"{path}?{query}").status_code == 422


def test_anonymous_visitors_cannot_export(client):
    assert client.get("/supervision/export/petitions").status_code == 302


# ---------------------------------------------------------------- every role, every kind of petition


def served_get(app, user_id: int, path: str):
    """GET `path` as the user, the way a server runs a request: in a thread of its own, so with
    its own app context and ORM session, ended when the view returns and before the body streams
    (the test's own context would keep the view's session alive and hide what a server does)."""
    result: dict = {}

    def run() -> None:
        client = app.test_client()
        with client.session_transaction() as sess:
            sess["_user_id"] = str(user_id)
            sess["_fresh"] = True
        try:
            response = client.get(path)
            result["response"] = response
            result["body"] = response.get_data()
        except BaseException as exc:  # handed to the test
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["response"], result["body"]


def one_of_each_kind() -> None:
    """A grievance, a suggestion, a named and an anonymous report, a consultation, closed and open ones."""
    cats = {c.code: c for c in _db.session.scalars(select(Category))}
    town = unit("chengguan")

    def row(no, category, unit_code, status, name="李四", phone="13912345678", anonymous=False):
        closed = status == "closed"
        return dict(
            tracking_no=no,
            query_code_hash="x",
            channel="web",
            category_id=cats[category].id,
            township_id=town.id,
            title=f"事项{no}",
            content="内容",
            anonymous=anonymous,
            public_consent=False,
            contact_name=name,
            contact_phone=phone,
            status=status,
            unit_id=unit(unit_code).id if unit_code else None,
            version=1,
            created_at=NOW,
            updated_at=NOW,
            closed_at=NOW if closed else None,
        )

    _db.session.execute(
        insert(Petition),
        [
            row("XF-K1", "jtys-dl", "jtj", "in_progress"),
            row("XF-K2", "jyyj-gg", "zwfw", "routed", name="张三", phone="13800002222"),
            row("XF-K3", "jjkg-wj", "jw", "in_progress", name="王五", phone="13700001111"),
            row("XF-K4", "jjkg-zf", "jw", "routed", name=None, phone=None, anonymous=True),
            row("XF-K5", "zx-zc", "xfj", "closed", name="赵六", phone="13600003333"),
            row("XF-K6", "jtys-gj", "jtj", "closed"),
            row("XF-K7", "jtys-dl", None, "registered", name="钱七", phone="13500004444"),
        ],
    )
    _db.session.commit()


MASKED = {
    "XF-K1": ["李四", "139****5678"],
    "XF-K2": ["张三", "138****2222"],
    "XF-K3": ["王五", "137****1111"],
    "XF-K4": ["", ""],
    "XF-K5": ["赵六", "136****3333"],
    "XF-K6": ["李四", "139****5678"],
    "XF-K7": ["钱七", "135****4444"],
}
FULL = {
    "XF-K1": ["李四", "13912345678"],
    "XF-K2": ["张三", "13800002222"],
    "XF-K3": ["王五", "13700001111"],
    "XF-K4": ["", ""],
    "XF-K5": ["赵六", "13600003333"],
    "XF-K6": ["李四", "13912345678"],
    "XF-K7": ["钱七", "13500004444"],
}
# What each role that may export gets: the rows it may see, contact columns as it may see them.
EXPECTED_BY_READER = {
    "supervisor": MASKED,
    "admin": MASKED,
    "intake": FULL,
    "jtj-leader": {k: FULL[k] for k in ("XF-K1", "XF-K6")},
    "jtj-handler": {k: FULL[k] for k in ("XF-K1", "XF-K6")},
    "jw-leader": {k: FULL[k] for k in ("XF-K3", "XF-K4")},
    "jw-handler": {k: FULL[k] for k in ("XF-K3", "XF-K4")},
    "zwfw-handler": {"XF-K2": FULL["XF-K2"]},
    "xfj-handler": {"XF-K5": FULL["XF-K5"]},
}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("reader", sorted(EXPECTED_BY_READER))
def test_every_reader_exports_every_kind_of_petition_whole(app, demo_user, reader, fmt):
    one_of_each_kind()
    response, body = served_get(app, demo_user(reader).id, f"/supervision/export/petitions?format={fmt}")
    assert response.status_code == 200
    if fmt == "csv":
        assert body.startswith("\ufeff".encode())
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    else:
        sheet = load_workbook(io.BytesIO(body), read_only=True).active
        rows = [["" if v is None else str(v) for v in r] for r in sheet.values]
    assert len(rows[0]) == 13
    assert {r[0]: r[11:] for r in rows[1:]} == EXPECTED_BY_READER[reader]
    assert len(rows) == 1 + len(EXPECTED_BY_READER[reader])


def test_the_measures_export_streams_from_a_served_request(app, march, demo_user):  # noqa: F811
    response, body = served_get(app, demo_user("jtj-leader").id, "/supervision/export/measures?period=2026-03")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[-1][3] == "7"


@pytest.mark.parametrize(
    ("lang", "channel", "status"), [("zh_CN", "网上信访", "正在办理"), ("en", "Web", "Being handled")]
)
def test_petitions_export_has_words_not_codes_in_the_language_of_the_page(client, demo_user, lang, channel, status):
    bulk(2, "jtj")
    login(client, demo_user("supervisor"))
    for fmt in ("csv", "xlsx"):
        response = client.get(f"/supervision/export/petitions?format={fmt}&unit=jtj&lang={lang}")
        if fmt == "csv":
            rows = read_csv(response)
        else:
            rows = [list(r) for r in load_workbook(io.BytesIO(response.get_data()), read_only=True).active.values]
        assert rows[0][0] == ("信访编号" if lang == "zh_CN" else "Tracking number")
        assert rows[1][2] == channel and rows[1][6] == status, rows[1]
        assert "web" not in rows[1] and "in_progress" not in rows[1]


def test_exports_name_their_charset_once(client, demo_user):
    login(client, demo_user("supervisor"))
    for path in ("/supervision/export/petitions?format=csv", "/supervision/export/measures?format=csv"):
        response = client.get(path)
        response.get_data()  # the stream runs to its end inside the request
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8", response.headers["Content-Type"]
    response = client.get("/supervision/export/petitions?format=xlsx")
    response.get_data()
    xlsx = response.headers["Content-Type"]
    assert xlsx == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
