"""Every kind of page, for every role, in a real browser: each one passes axe-core, scrolls no
wider than its window and breaks no content security policy rule (the `page` fixture checks all
three on every page it visits; see tests/browser_support.py). Citizen pages are visited at
phone width (360 px) and at 200% zoom on that phone (180 CSS px); staff pages at a desk and
on a phone.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from notifications import jobs
from petitions.domain.clocks import now, set_clock
from petitions.extensions import db
from petitions.models import Category, Unit, User
from petitions.services.messages import rating_token
from petitions.web.citizen.accounts import register_citizen
from tests.conftest import DEMO_PASSWORD
from tests.handling import act, file

pytestmark = pytest.mark.browser

CITIZEN_PHONE, CITIZEN_PASSWORD = "13700001111", "qingshan-2026"


def _replied(citizen: User | None = None, title: str = "门前道路坑洼多年无人修") -> tuple[str, str]:
    """A petition of 县交通运输局 with an issued reply, waiting for the citizen's rating."""
    petition, code = file(title=title, citizen=citizen)
    act(petition, "accept", "jtj-handler")
    act(petition, "assign", "jtj-leader", handler="jtj-handler")
    act(petition, "reply", "jtj-leader", text="经现场查看，已安排施工队于本月内修复路面。")
    return petition.tracking_no, code


def _world() -> dict[str, str]:
    """One of everything the pages show: a replied petition (with a citizen account), a draft
    waiting for the leader, a returned petition in the intake queue, an overdue one."""
    citizen = register_citizen(CITIZEN_PHONE, "周桂兰", CITIZEN_PASSWORD)
    db.session.commit()
    replied, code = _replied(citizen)
    drafted, _ = file(title="路灯不亮")
    act(drafted, "accept", "jtj-handler")
    act(drafted, "assign", "jtj-leader", handler="jtj-handler")
    act(drafted, "reply", "jtj-handler", text="已联系供电所更换灯泡。")
    returned, _ = file(title="小区垃圾无人清运", category="jtys-dl")
    act(returned, "return", "jtj-handler", reason="此事属于环卫部门职责。")
    # Overdue: filed and routed sixty days ago, and the sweep has given its card.
    past = now() - timedelta(days=60)
    set_clock(lambda: past)
    late, _ = file(title="桥面护栏损坏")
    set_clock(None)
    jobs.sweep()
    return {
        "replied": replied,
        "code": code,
        "drafted": drafted.tracking_no,
        "returned": returned.tracking_no,
        "late": late.tracking_no,
    }


def _log_in(page, username: str, password: str = DEMO_PASSWORD) -> None:
    page.context.clear_cookies()
    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("main").get_by_role("button", name=re.compile("登录|Log in")).click()
    page.wait_for_load_state()
    assert "/login" not in page.url, page.locator("main").inner_text()


def _visit(page, paths) -> None:
    for path in paths:
        response = page.goto(path)
        assert response is not None and response.status < 500, path


@pytest.mark.parametrize("width", [360, 180])
def test_citizen_and_public_pages(page, page_checks, db, width):
    w = _world()
    page.set_viewport_size({"width": width, "height": 800})
    unit = db.session.scalar(select(Unit).where(Unit.code == "jtj"))
    category = db.session.scalar(select(Category).where(Category.code == "jtys-dl"))
    assert unit and category
    _visit(
        page,
        [
            "/",
            "/file",
            "/register",
            "/login",
            f"/track?no={w['replied']}",
            "/public/",
            "/public/petitions",
            "/rate",
            f"/rate/{rating_token(w['replied'], 1)}",
            "/no-such-page",
            "/?lang=en",
            "/file",
            "/?lang=zh_CN",
        ],
    )
    # A form sent back with its errors.
    page.goto("/file")
    page.get_by_role("button", name="提交信访事项").click()
    page.wait_for_load_state()
    assert page.locator(".error-summary").is_visible()

    # The look-up result.
    page.goto("/track")
    page.locator("#tracking_no").fill(w["replied"])
    page.locator("#code").fill(w["code"])
    page.locator("main").get_by_role("button", name="查询", exact=True).click()
    page.wait_for_load_state()
    assert w["replied"] in page.locator("main").inner_text().replace(" ", "").replace("\n", "")

    # "My petitions" and rating while logged in.
    _log_in(page, CITIZEN_PHONE, CITIZEN_PASSWORD)
    _visit(page, ["/mine", f"/rate?no={w['replied']}", "/mine?lang=en", "/mine?lang=zh_CN"])
    page_checks.check_now()
    assert len(page_checks.reported) >= 20  # axe-core really ran on each of them


@pytest.mark.parametrize("width", [1280, 360])
def test_staff_supervision_and_admin_pages(page, page_checks, db, width):
    w = _world()
    page.set_viewport_size({"width": width, "height": 900})
    jtj = db.session.scalar(select(Unit).where(Unit.code == "jtj"))
    category = db.session.scalar(select(Category).where(Category.code == "jtys-dl"))
    admin = db.session.scalar(select(User).where(User.username == "admin"))

    _log_in(page, "intake")
    _visit(page, ["/staff/intake", "/staff/intake/new", "/staff/queue", f"/staff/petitions/{w['returned']}"])
    page.goto("/staff/intake/new")
    page.locator("#entry-form button[type=submit]").click()
    page.wait_for_load_state()

    _log_in(page, "jtj-handler")
    _visit(page, ["/staff/queue", f"/staff/petitions/{w['drafted']}", "/staff/petitions/XF-NO-SUCH"])

    _log_in(page, "jtj-leader")
    _visit(
        page,
        [
            "/staff/inbox",
            f"/staff/petitions/{w['drafted']}",
            f"/staff/petitions/{w['replied']}",
            f"/staff/petitions/{w['replied']}/notices/reply",
            "/supervision/rankings",
        ],
    )

    _log_in(page, "supervisor")
    _visit(
        page,
        [
            "/supervision/",
            "/supervision/rankings",
            "/supervision/rankings?measure=satisfaction_rate",
            f"/supervision/units/{jtj.code}",
            "/staff/queue",
            f"/staff/petitions/{w['late']}",
        ],
    )

    _log_in(page, "admin")
    _visit(
        page,
        [
            "/admin/",
            "/admin/units",
            f"/admin/units/{jtj.id}",
            "/admin/units/new",
            "/admin/categories",
            f"/admin/categories/{category.id}",
            "/admin/rules",
            "/admin/users",
            f"/admin/users/{admin.id}",
            "/admin/calendar",
            "/admin/open311",
            "/admin/security",
            "/admin/units?lang=en",
            "/admin/?lang=zh_CN",
        ],
    )
    # A form sent back with its errors.
    page.goto("/admin/units/new")
    page.locator("main form").get_by_role("button", name="保存").click()
    page.wait_for_load_state()
    assert page.locator(".error-summary").is_visible()
    page_checks.check_now()
    assert len(page_checks.reported) >= 35  # axe-core really ran on each of them
