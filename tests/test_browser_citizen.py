"""A citizen in a real browser (Playwright driving Debian's chromium), at phone width.

Register, file a petition with a photo, note the tracking number and query code, log out,
look the petition up with the code, log in again and find it under "my petitions".
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import pytest
from sqlalchemy import select

from petitions.models import Petition, User

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/xf-screens")


def tiny_png(path: Path) -> Path:
    """A real 2×2 PNG (signature, IHDR, IDAT, IEND), written to `path`."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xc0\x20\x20" * 2 for _ in range(2))
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    path.write_bytes(png)
    return path


def test_citizen_registers_files_looks_up_and_finds_it_again(page, db, tmp_path):
    SHOTS.mkdir(exist_ok=True)
    photo = tiny_png(tmp_path / "楼道照片.png")
    page.set_viewport_size({"width": 360, "height": 800})

    # Register; the page is Chinese by default.
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.screenshot(path=str(SHOTS / "home-360.png"), full_page=True)
    page.get_by_role("navigation").get_by_role("link", name="注册").click()
    page.get_by_label("手机号码").fill("138 0013 8000")
    page.get_by_label("您的姓名").fill("周桂兰")
    page.get_by_label("密码", exact=True).fill("qingshan-2026")
    page.get_by_label("再输一次密码").fill("qingshan-2026")
    page.get_by_role("button", name="注册").click()
    # Registering does not log in (it answers a number with an account alike): log in next.
    assert page.get_by_label("手机号码").input_value() == "13800138000"
    page.get_by_label("密码", exact=True).fill("qingshan-2026")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/mine$"))
    assert page.get_by_role("button", name="退出登录").is_visible()

    # File a petition with a photo. Name and number are already filled in.
    page.get_by_role("navigation").get_by_role("link", name="我要信访").click()
    page.wait_for_load_state()  # the page's script decides what is hidden: let it run first
    assert page.get_by_label("您的姓名").input_value() == "周桂兰"
    assert page.get_by_label("您的手机号码").input_value() == "13800138000"
    # The anonymity box is offered only with a report of misconduct.
    assert page.locator(".anonymity").is_hidden()
    page.get_by_label("反映的事项属于哪一类？").select_option("jjkg-zf")
    assert page.locator(".anonymity").is_visible()
    page.get_by_label("反映的事项属于哪一类？").select_option("cxjs-wy")
    assert page.locator(".anonymity").is_hidden()
    page.get_by_label("事情发生在哪个乡镇（街道）或园区？").select_option("dongcheng")
    page.get_by_label("标题").fill("小区电梯停运一个月")
    page.get_by_label("具体内容（用您自己的话写）").fill(
        "幸福小区3号楼电梯停运一个月，老人上下楼困难，物业一直不修。"
    )
    page.get_by_label("照片或材料（可不上传）").set_input_files(str(photo))
    page.screenshot(path=str(SHOTS / "file-form-360.png"), full_page=True)

    # A first try with a bad number: the message is beside the field, in words.
    page.get_by_label("您的手机号码").fill("1380013")
    page.get_by_role("button", name="提交信访事项").click()
    error = page.locator("#contact_phone-field .error-message")
    assert "11 位大陆手机号码" in error.inner_text()
    page.screenshot(path=str(SHOTS / "file-form-error-360.png"), full_page=True)
    page.get_by_label("您的手机号码").fill("13800138000")
    page.get_by_label("照片或材料（可不上传）").set_input_files(str(photo))
    page.get_by_role("button", name="提交信访事项").click()

    # The result: tracking number and query code, large, with a print button.
    page.wait_for_url(re.compile(r"/filed$"))
    tracking_no = re.sub(r"\s", "", page.locator("#tracking-no").inner_text())
    code = re.sub(r"\s", "", page.locator("#query-code").inner_text())
    assert re.fullmatch(r"XF\d{14}", tracking_no) and re.fullmatch(r"\d{8}", code)
    assert page.get_by_role("button", name="打印本页").is_visible()
    assert "县房产服务中心" in page.locator("#routed-to").inner_text()
    size = page.locator("#query-code").evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    body = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert body >= 18, "body text is large"
    assert size >= 1.25 * body, "the code stands out, large enough to copy without glasses"
    page.screenshot(path=str(SHOTS / "filed-360.png"), full_page=True)
    # Nothing is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    # A reload does not show the code again.
    page.reload()
    assert code not in page.content()

    petition = db.session.scalar(select(Petition).where(Petition.tracking_no == tracking_no))
    citizen = db.session.scalar(select(User).where(User.username == "13800138000"))
    assert petition.citizen_id == citizen.id
    assert [a.filename for a in petition.attachments] == ["楼道照片.png"]

    # Log out, then look it up with the code.
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url(re.compile(r"/$"))
    page.get_by_role("navigation").get_by_role("link", name="查询办理情况").click()
    page.get_by_label("信访编号").fill(tracking_no)
    page.get_by_label("查询码").fill(code)
    page.get_by_role("button", name="查询", exact=True).click()
    assert page.locator(".badge").inner_text() == "已转送责任单位"
    assert "您的信访事项已转送县房产服务中心。" in page.locator(".timeline").inner_text()
    assert "/track" in page.url and code not in page.url

    # Log in again: it is under "my petitions", with its photo by name.
    page.get_by_role("navigation").get_by_role("link", name="登录").click()
    page.get_by_label("手机号码（工作人员填用户名）").fill("13800138000")
    page.get_by_label("密码").fill("qingshan-2026")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/mine$"))
    mine = page.locator("article.petition")
    assert mine.count() == 1
    assert "小区电梯停运一个月" in mine.inner_text()
    assert tracking_no in mine.inner_text()
    assert mine.get_by_role("link", name="楼道照片.png").is_visible()

    # The English switch works on the same page.
    page.get_by_role("link", name="English").click()
    assert page.get_by_role("heading", name="My petitions").is_visible()
    assert "Sent to the responsible unit" in page.locator(".badge").inner_text()
    page.screenshot(path=str(SHOTS / "mine-en-360.png"), full_page=True)
