"""The public pages (政务公开): catalogue, measures with charts, published replies without personal data."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from petitions.domain.clocks import set_clock
from petitions.extensions import db as _db
from petitions.measures import facts
from petitions.models import Category, Event, Petition, Reply, Unit
from petitions.web.public import cache

pytestmark = pytest.mark.calendar

NOW = datetime(2026, 3, 20, 4, 0, tzinfo=UTC)
PHONE = "13912345678"
ID_NO = "11010519491231002X"
EMAIL = "zhang.san@example.com"
NAME = "张三丰"
ADDRESS = "青山县城关镇幸福路12号3单元"
_seq = itertools.count(1)


def unit(code: str) -> Unit:
    return _db.session.scalar(select(Unit).where(Unit.code == code))


def seed(
    *, consent: bool = True, category: str = "jtys-dl", reply: bool = True, title: str = "道路坑洼", at=NOW
) -> Petition:
    cat = _db.session.scalar(select(Category).where(Category.code == category))
    jtj = unit("jtj")
    p = Petition(
        tracking_no=f"XF-P{next(_seq):08d}",
        query_code_hash="x",
        category=cat,
        township=unit("chengguan"),
        title=f"{title}，电话{PHONE}",
        content=f"我是{NAME}，住{ADDRESS}，身份证{ID_NO}，邮箱{EMAIL}，手机138-0013-8000。路面坑洼严重。",
        contact_name=NAME,
        contact_phone=PHONE,
        address=ADDRESS,
        public_consent=consent,
        status="replied" if reply else "in_progress",
        unit=jtj,
        created_at=at - timedelta(days=10),
        updated_at=at,
        routed_at=at - timedelta(days=10),
    )
    _db.session.add(p)
    _db.session.flush()
    _db.session.add(
        Event(petition_id=p.id, type="routed", at=at - timedelta(days=10), unit_id=jtj.id, data={})
    )
    if reply:
        _db.session.add(
            Reply(
                petition_id=p.id,
                kind="reply",
                unit_id=jtj.id,
                draft_text="x",
                text=f"{NAME}同志：已修复。如有疑问请联系{PHONE}。",
                drafted_at=at - timedelta(days=1),
                issued_at=at - timedelta(days=1),
            )
        )
    facts.rebuild(p.id, p.id)  # rows put in directly: their measures' facts made from them
    _db.session.commit()
    return p


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    set_clock(lambda: NOW)
    yield
    cache.clear()


def assert_no_personal_data(html: str) -> None:
    for secret in (PHONE, ID_NO, EMAIL, NAME, ADDRESS, "138-0013-8000", "幸福路12号"):
        assert secret not in html, secret


def test_public_page_has_catalogue_measures_and_charts(client):
    seed()
    html = client.get("/public/").get_data(as_text=True)
    assert "<svg" in html and 'class="bar"' in html and "<polyline" in html
    # Catalogue: categories, responsible units, statutory and committed limits.
    assert "道路桥梁维修" in html and "县交通运输局" in html
    assert "15 / 3" in html and "60 / 15" in html  # jtys-dl: acceptance 15/3, handling 60/15
    assert "76.0%" in html  # its committed speed-up: (75 − 18) / 75
    assert "2026-03" in html and "2026-02" in html  # this month and past months
    assert "道路坑洼" in html  # the published petition, listed
    assert_no_personal_data(html)


def test_only_consented_replied_non_report_petitions_are_published(client):
    shown = seed(title="公开的事项")
    hidden = [
        seed(consent=False, title="不同意公开"),
        seed(reply=False, title="尚未答复"),
        seed(category="jjkg-wj", title="检举事项"),
    ]
    html = client.get("/public/petitions").get_data(as_text=True)
    assert "公开的事项" in html
    for title in ("不同意公开", "尚未答复", "检举事项"):
        assert title not in html
    assert_no_personal_data(html)
    page = client.get(f"/public/petitions/{shown.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert (
        "路面坑洼严重" in text and "已修复" in text and "[电话已隐去]" in text and "[身份证号已隐去]" in text
    )
    assert_no_personal_data(text)
    for p in hidden:
        assert client.get(f"/public/petitions/{p.id}").status_code == 404
    assert client.get("/public/petitions/999999").status_code == 404
    assert client.get("/public/petitions?page=abc").status_code == 404


def test_bad_periods_are_refused(client):
    assert client.get("/public/?period=2026-13").status_code == 422
    assert client.get("/public/?period=2027-01").status_code == 422
    assert client.get("/public/?period=2026-02").status_code == 200


def test_cached_but_correct_within_a_minute(client):
    seed(title="第一件")
    assert "第一件" in client.get("/public/petitions").get_data(as_text=True)
    seed(title="第二件")
    # Within the cache's time the page may still be the one computed before ...
    assert "第二件" not in client.get("/public/petitions").get_data(as_text=True)
    # ... and a minute later it is right.
    set_clock(lambda: NOW + timedelta(seconds=60))
    assert "第二件" in client.get("/public/petitions").get_data(as_text=True)
