"""The handling road in a real browser (Playwright driving Debian's chromium), at desktop width.

A citizen's petition that no routing rule covers waits in the intake queue. The intake
officer routes it; the unit's handler accepts it; the leader assigns the handler; the
handler asks for an extension, which the leader approves; the handler drafts the reply and
the leader signs it. Each logs in as their demo account through /login. The citizen's
look-up then shows the public steps in order.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from petitions.extensions import db
from petitions.models import Petition, Unit
from petitions.services import reference
from petitions.services.filing import Filing, file_petition
from tests.conftest import DEMO_PASSWORD
from tests.handling import no_rule_for

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/xf-screens")
TITLE = "村口道路塌陷无人修理"


def _waiting_petition() -> tuple[str, str]:
    """File a road petition in 东城街道 with its routing rules switched off: it waits for intake."""
    category = no_rule_for("jtys-dl")
    township = db.session.scalar(select(Unit).where(Unit.code == "dongcheng"))
    assert reference.route_for(category, township) is None
    filed = file_petition(
        Filing(
            title=TITLE,
            content="东城街道村口的道路塌陷了一个大坑，路灯也不亮，晚上很危险，请尽快修理。",
            category="jtys-dl",
            township="dongcheng",
            contact_name="赵桂英",
            contact_phone="13900001234",
        )
    )
    assert filed.petition.status == "registered"
    return filed.petition.tracking_no, filed.query_code


def _log_in(page, username: str) -> None:
    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("main").get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/staff/"))


def _log_out(page) -> None:
    page.get_by_role("navigation").get_by_role("button", name="退出登录").click()
    page.wait_for_url(re.compile(r"/$"))


def _open_petition(page, tracking_no: str) -> None:
    page.goto(f"/staff/petitions/{tracking_no}")
    assert page.locator("h1").inner_text() == TITLE


def _act(page, action: str, **fields: str) -> None:
    """Open the action's form on the petition page, fill its fields, submit, expect success."""
    box = page.locator(f"#action-{action}")
    box.locator("summary").click()
    for name, value in fields.items():
        control = box.locator(f"[name={name}]")
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    box.locator(f"button[data-action='{action}']").click()
    page.wait_for_load_state()
    assert page.locator(".panel-success").is_visible(), page.locator("main").inner_text()


def _status(tracking_no: str) -> str:
    db.session.expire_all()
    return db.session.scalar(select(Petition.status).where(Petition.tracking_no == tracking_no))


def test_intake_handler_and_leader_take_a_petition_to_a_signed_reply(page, db):
    SHOTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    tracking_no, code = _waiting_petition()

    # The intake officer finds it in the intake queue, with keyword suggestions, and routes it.
    _log_in(page, "intake")
    page.wait_for_url(re.compile(r"/staff/intake$"))
    case = page.locator(f"#case-{tracking_no}")
    assert case.is_visible()
    assert "此类别和地点没有匹配的规则" in case.inner_text()
    assert "道路桥梁维修" in case.locator(".suggest").inner_text()
    page.screenshot(path=str(SHOTS / "staff-intake-1280.png"), full_page=True)
    case.locator("select[name=unit]").select_option("jtj")
    case.get_by_role("button", name="交办", exact=True).click()
    page.wait_for_url(re.compile(r"/staff/intake$"))
    assert page.locator(".panel-success").is_visible()
    assert _status(tracking_no) == "routed"
    _log_out(page)

    # The unit's handler sees it in the unit queue with its level and time left, and accepts it.
    _log_in(page, "jtj-handler")
    page.wait_for_url(re.compile(r"/staff/queue"))
    row = page.locator("table.queue tr", has_text=tracking_no)
    assert row.locator(".level").inner_text() == "绿色：正常"
    assert "剩余" in row.locator(".time-left").inner_text()
    page.screenshot(path=str(SHOTS / "staff-queue-1280.png"), full_page=True)
    row.get_by_role("link", name=tracking_no).click()
    # A handler may not assign: the page does not offer it.
    assert page.locator("#action-assign").count() == 0
    _act(page, "accept")
    # The handler who accepts it handles it.
    assert _status(tracking_no) == "in_progress"
    _log_out(page)

    # The leader may assign another handler (here: the same one again).
    _log_in(page, "jtj-leader")
    _open_petition(page, tracking_no)
    _act(page, "assign", handler="jtj-handler")
    assert _status(tracking_no) == "in_progress"
    _log_out(page)

    # The handler asks for an extension.
    _log_in(page, "jtj-handler")
    _open_petition(page, tracking_no)
    _act(page, "request-extension", days="10", reason="需协调县财政安排维修资金。")
    _log_out(page)

    # The leader approves it from the inbox.
    _log_in(page, "jtj-leader")
    assert page.locator("#nav-inbox .count").inner_text() == "1"
    page.locator("#nav-inbox").click()
    item = page.locator(f"#extension-{tracking_no}")
    assert "需协调县财政安排维修资金" in item.inner_text()
    item.get_by_role("button", name="批准延期").click()
    page.wait_for_url(re.compile(r"/staff/inbox$"))
    assert page.locator(".panel-success").is_visible()
    _log_out(page)

    # The handler drafts the reply.
    _log_in(page, "jtj-handler")
    _open_petition(page, tracking_no)
    _act(page, "reply", text="经现场查看，已安排施工队于本月内修复塌陷路面并更换路灯。")
    assert _status(tracking_no) == "in_progress"
    page.screenshot(path=str(SHOTS / "staff-petition-1280.png"), full_page=True)
    _log_out(page)

    # The leader signs it from the inbox.
    _log_in(page, "jtj-leader")
    page.goto("/staff/inbox")
    draft = page.locator(f"#draft-{tracking_no}")
    assert "已安排施工队" in draft.locator("textarea").input_value()
    draft.get_by_role("button", name="签发承办人起草的稿件").click()
    page.wait_for_url(re.compile(r"/staff/inbox$"))
    assert _status(tracking_no) == "replied"
    _open_petition(page, tracking_no)
    assert page.locator(".notices").get_by_role("link", name="答复意见书").is_visible()
    page.screenshot(path=str(SHOTS / "staff-petition-replied-1280.png"), full_page=True)
    _log_out(page)

    # The citizen's look-up shows the public steps in order, and no internal ones.
    page.goto("/track")
    page.locator("#tracking_no").fill(tracking_no)
    page.locator("#code").fill(code)
    page.locator("main").get_by_role("button", name="查询").click()
    steps = page.locator(".timeline li").all_inner_texts()
    text = "\n".join(steps)
    expected = ["已登记", "已转送县交通运输局", "已受理", "期限已延长", "已书面答复"]
    positions = [text.find(word) for word in expected]
    assert all(p >= 0 for p in positions), (expected, text)
    assert positions == sorted(positions), text
    assert "需协调县财政" in text  # the extension's reason is told to the citizen
    assert "起草" not in text
