"""The public page and the ranking page in a real browser: charts drawn, no personal data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from petitions.domain.clocks import now
from petitions.extensions import db as _db
from petitions.measures import facts
from petitions.models import Category, Event, Petition, Reply, Unit
from petitions.web.public import cache

pytestmark = pytest.mark.browser

PHONE, ID_NO, EMAIL = "13912345678", "11010519491231002X", "zhang.san@example.com"
NAME, ADDRESS = "张三丰", "城关镇幸福路12号"


def seed_published() -> None:
    unit = _db.session.scalar(select(Unit).where(Unit.code == "jtj"))
    town = _db.session.scalar(select(Unit).where(Unit.code == "chengguan"))
    cat = _db.session.scalar(select(Category).where(Category.code == "jtys-dl"))
    at = now()
    p = Petition(
        tracking_no="XF-BROWSER-1",
        query_code_hash="x",
        category=cat,
        township=town,
        title=f"路灯不亮，请回电{PHONE}",
        content=f"我是{NAME}，住{ADDRESS}，身份证{ID_NO}，邮箱{EMAIL}。路灯坏了一个月。",
        contact_name=NAME,
        contact_phone=PHONE,
        address=ADDRESS,
        public_consent=True,
        status="replied",
        unit=unit,
        created_at=at - timedelta(days=3),
        updated_at=at,
        routed_at=at,
    )
    _db.session.add(p)
    _db.session.flush()
    # Routed now, so that this month's measures (the bars) count it whatever the date.
    _db.session.add(Event(petition_id=p.id, type="routed", at=at, unit_id=unit.id, data={}))
    _db.session.add(
        Reply(
            petition_id=p.id,
            kind="reply",
            unit_id=unit.id,
            draft_text="x",
            text=f"{NAME}您好，路灯已修复，可拨打{PHONE}反馈。",
            drafted_at=at,
            issued_at=at,
        )
    )
    facts.rebuild(p.id, p.id)  # rows put in directly: their measures' facts made from them
    _db.session.commit()


def assert_clean(html: str) -> None:
    for secret in (PHONE, ID_NO, EMAIL, NAME, ADDRESS):
        assert secret not in html, secret


def marks(page, selector: str) -> int:
    return page.locator(selector).count()


def test_public_and_ranking_pages_draw_charts_without_personal_data(page, db):
    seed_published()
    cache.clear()
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto("/public/")
    assert page.locator("h1").inner_text() == "政务公开"
    # Bars and lines, really drawn: the SVG marks have a size on the page.
    assert marks(page, "svg.chart rect.bar") >= 1
    assert marks(page, "svg.chart polyline.line") >= 1
    bar = page.locator("svg.chart rect.bar").first.bounding_box()
    assert bar is not None and bar["width"] > 0 and bar["height"] > 0
    assert page.get_by_text("道路桥梁维修").first.is_visible()
    assert_clean(page.content())

    page.get_by_role("link", name="路灯不亮").first.click()
    assert "路灯坏了一个月" in page.content()
    assert_clean(page.content())

    # The list of published petitions: each title a heading right under the page's own.
    page.goto("/public/petitions")
    assert page.get_by_role("heading", level=2, name="路灯不亮").first.is_visible()
    assert_clean(page.content())

    page.goto("/login?next=/supervision/rankings")
    page.fill("input[name=username]", "supervisor")
    page.fill("input[name=password]", "petition-demo")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url("**/supervision/rankings")
    page.select_option("select#measure", "received")
    page.locator("form.filters button[type=submit]").first.click()
    page.wait_for_url("**measure=received**")
    assert marks(page, "svg.chart rect.bar") >= 1
    assert marks(page, "svg.chart polyline.line") >= 1
    assert page.locator("table.measures").get_by_text("县交通运输局").is_visible()
    assert_clean(page.content())


SVG_TEXT_PX = """() => Array.from(document.querySelectorAll("svg.chart")).flatMap((svg) => {
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  return Array.from(svg.querySelectorAll("text")).map((t) => parseFloat(t.getAttribute("font-size")) * scale);
})"""


@pytest.mark.parametrize(("width", "smallest", "largest"), [(360, 12, 24), (1280, 12, 24)])
def test_charts_keep_readable_text_on_a_phone_and_a_desk(page, db, width, smallest, largest):
    seed_published()
    cache.clear()
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/public/")
    sizes = page.evaluate(SVG_TEXT_PX)
    assert len(sizes) > 20
    assert min(sizes) >= smallest, sorted(sizes)[:5]
    assert max(sizes) <= largest, sorted(sizes)[-5:]
    for box in page.locator("svg.chart").evaluate_all("els => els.map(e => e.getBoundingClientRect().right)"):
        assert box <= width


def test_an_empty_chart_says_no_data(page, db):
    cache.clear()
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto("/login?next=/supervision/rankings%3Fmeasure%3Dsatisfaction_rate%26period%3D2025")
    page.fill("input[name=username]", "supervisor")
    page.fill("input[name=password]", "petition-demo")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/supervision/rankings**")
    assert "本期暂无数据。" in page.locator("svg.chart text.no-data").first.text_content()
    assert page.locator("svg.chart rect.bar").count() == 0
