"""A citizen finds the rating in a real browser, at phone width: "my petitions" offers it after
the reply, the choices are large targets, a forgotten choice is explained, and the thank-you page
says what happens next. The SMS look-up link arrives with the tracking number filled in."""

from __future__ import annotations

import re

import pytest

from petitions.extensions import db
from petitions.web.citizen.accounts import register_citizen
from tests.handling import act, file

pytestmark = pytest.mark.browser

PHONE, PASSWORD = "13700002222", "qingshan-2026"


def test_citizen_rates_from_my_petitions_and_asks_for_review_from_the_look_up(page):
    citizen = register_citizen(PHONE, "吴秀英", PASSWORD)
    db.session.commit()
    petition, code = file(title="村道路灯不亮", citizen=citizen)
    act(petition, "accept", "jtj-handler")
    act(petition, "assign", "jtj-leader", handler="jtj-handler")
    act(petition, "reply", "jtj-leader", text="已更换路灯，今晚起恢复照明。")
    page.set_viewport_size({"width": 360, "height": 800})

    page.goto("/login")
    page.locator("#username").fill(PHONE)
    page.locator("#password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/mine$"))
    mine = page.locator("article.petition", has_text="村道路灯不亮")
    mine.get_by_role("link", name="评价答复").click()
    page.wait_for_load_state()
    assert "已更换路灯" in page.locator("main").inner_text()

    # Forgot to choose: the summary says so, focused, and links to the question.
    page.get_by_role("button", name="提交评价").click()
    page.wait_for_load_state()
    summary = page.locator("#error-summary")
    assert "请选择您对答复的满意程度。" in summary.inner_text()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert summary.get_by_role("link").get_attribute("href") == "#score-field"

    # Large targets: each choice is a row at least 48 px high, chosen by a tap anywhere on it.
    rows = page.locator(".radio-row")
    assert rows.count() == 3
    for i in range(3):
        box = rows.nth(i).bounding_box()
        assert box is not None and box["height"] >= 48 and box["width"] >= 300
    row = rows.filter(has_text="基本满意")
    row.scroll_into_view_if_needed()
    box = row.bounding_box()
    page.mouse.click(box["x"] + box["width"] - 20, box["y"] + box["height"] / 2)  # the far end of the row
    assert page.get_by_label("基本满意").is_checked()
    page.screenshot(path="/tmp/xf-rate-360.png", full_page=True)
    page.get_by_label("评价意见（可不填）").fill("修得及时，但希望以后巡查。")
    page.get_by_role("button", name="提交评价").click()
    page.wait_for_load_state()
    main = page.locator("main").inner_text()
    assert "感谢您的评价" in main and "接下来" in main and "无需再做什么" in main
    assert petition.tracking_no in main.replace(" ", "")

    # Back on the look-up (the SMS link fills in the number): rated, and review still offered.
    page.context.clear_cookies()
    page.goto(f"/track?no={petition.tracking_no}")
    assert page.locator("#tracking_no").input_value() == petition.tracking_no
    assert page.evaluate("document.activeElement.id") == "code"
    page.locator("#code").fill(code)
    page.locator("main").get_by_role("button", name="查询", exact=True).click()
    page.wait_for_load_state()
    article = page.locator("article.petition")
    assert "您的评价：基本满意" in article.inner_text()
    assert article.get_by_role("link", name="评价答复").count() == 0
    article.get_by_role("link", name="请求复查").click()
    page.wait_for_load_state()
    page.get_by_label("您不服答复意见的理由").fill("路灯仍然时亮时不亮。")
    page.locator("main form").get_by_role("button", name="请求复查").click()
    page.wait_for_load_state()
    assert "您的复查请求已收到" in page.locator("main").inner_text()
