"""The words of the pages: one name for the tracking number, full-width punctuation in Chinese,
the staff entry form speaking to the officer, the deadline shown alike to citizens and staff, and
every action with a name of its own in both languages."""

from __future__ import annotations

import html as htmllib
import re
from datetime import UTC, datetime

import pytest
from babel.messages.pofile import read_po

from petitions.domain import workflow as wf
from petitions.domain.clocks import set_clock
from tests.handling import act, file, logged_in
from tests.test_i18n import PO

CJK = r"[\u4e00-\u9fff\u3000-\u303f\uff01-\uff5e]"
# Half-width punctuation touching Chinese text (digits, codes and times are not Chinese text).
MIXED = re.compile(rf"{CJK}\s?[,;:!?()]|[,;:!?(]\s?{CJK}|{CJK}\)|{CJK}\.(?!\w)")


def visible_text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    page = re.sub(r"<[^>]+>", " ", page)
    return htmllib.unescape(page)


def test_the_catalogue_names_the_tracking_number_one_way():
    with open(PO, "rb") as fh:
        catalog = read_po(fh, locale="zh_CN")
    for message in catalog:
        text = message.string if isinstance(message.string, str) else (message.string or [""])[0]
        assert "受理编号" not in text, message.id
        if message.id and "tracking number" in str(message.id).lower():
            assert "信访编号" in text, (message.id, text)


def test_chinese_pages_use_full_width_punctuation(app):
    """Every page in Chinese, with its errors too: no half-width punctuation beside Chinese text."""
    set_clock(lambda: datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    petition, code = file()
    act(petition, "accept", "jtj-handler")
    act(petition, "assign", "jtj-leader", handler="jtj-handler")
    act(petition, "reply", "jtj-handler", text="已安排施工队修补路面。")
    no = petition.tracking_no
    returned, _ = file(title="小区垃圾无人清运")
    act(returned, "return", "jtj-handler", reason="此事属于环卫部门职责。")
    from petitions.services import ratings

    replied, _ = file(title="路灯不亮")
    act(replied, "accept", "jtj-handler")
    act(replied, "assign", "jtj-leader", handler="jtj-handler")
    act(replied, "reply", "jtj-leader", text="已更换路灯。")
    token = ratings.link_token(replied)
    pages = [
        (None, "get", f"/rate/{token}", None),
        (None, "post", f"/rate/{token}", {}),
        (None, "get", f"/rate/{token}/review", None),
        (None, "post", f"/rate/{token}/review", {}),
        (None, "get", "/", None),
        (None, "get", "/file", None),
        (None, "post", "/file", {}),
        (None, "get", "/track", None),
        (None, "post", "/track", {"tracking_no": no, "code": code}),
        (None, "post", "/track", {"tracking_no": "", "code": ""}),
        (None, "get", "/register", None),
        (None, "post", "/register", {"phone": "1"}),
        (None, "get", "/public/", None),
        (None, "get", "/rate", None),
        (None, "post", "/rate", {}),
        ("intake", "get", "/staff/intake", None),
        ("intake", "get", "/staff/intake/new", None),
        ("intake", "get", f"/staff/petitions/{returned.tracking_no}", None),
        ("supervisor", "get", "/supervision/units/jtj", None),
        ("admin", "get", "/admin/users", None),
        ("admin", "get", "/admin/security", None),
        ("admin", "get", "/admin/open311", None),
        ("intake", "post", "/staff/intake/new", {"channel": "visit"}),
        ("intake", "get", "/staff/queue", None),
        ("jtj-handler", "get", f"/staff/petitions/{no}", None),
        ("jtj-handler", "post", f"/staff/petitions/{no}/actions/note", {"version": "1", "text": ""}),
        ("jtj-leader", "get", "/staff/inbox", None),
        ("jtj-leader", "get", f"/staff/petitions/{no}", None),
        ("supervisor", "get", "/supervision/", None),
        ("supervisor", "get", "/supervision/rankings", None),
        ("admin", "get", "/admin/", None),
        ("admin", "get", "/admin/units", None),
        ("admin", "get", "/admin/categories", None),
        ("admin", "get", "/admin/rules", None),
        ("admin", "post", "/admin/units/new", {}),
        ("admin", "get", "/admin/calendar", None),
    ]
    found = []
    for who, method, path, data in pages:
        client = app.test_client()
        if who:
            logged_in(client, who)
        if method == "get":
            response = client.get(path)
        else:
            form = client.get(path).get_data(as_text=True)
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
            response = client.post(path, data={"csrf_token": token, **data})
        text = visible_text(response.get_data(as_text=True))
        for match in MIXED.finditer(text):
            found.append(f"{method.upper()} {path}: …{text[max(0, match.start() - 20):match.end() + 20]}…")
    assert not found, "\n".join(found)


def test_the_staff_entry_form_speaks_to_the_officer(app):
    client = logged_in(app.test_client(), "intake")
    zh = client.get("/staff/intake/new").get_data(as_text=True)
    labels = " ".join(re.findall(r"<label[^>]*>(.*?)</label>", zh, re.S))
    assert "您" not in labels and "你" not in labels, labels
    assert "信访人的姓名" in labels and "信访人的手机号码" in labels
    en = client.get("/staff/intake/new?lang=en").get_data(as_text=True)
    labels = " ".join(re.findall(r"<label[^>]*>(.*?)</label>", en, re.S))
    assert not re.search(r"\b[Yy]our\b", labels), labels
    assert "The citizen's name" in labels


def test_the_deadline_reads_the_same_to_citizen_and_staff(app, client):
    set_clock(lambda: datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    petition, code = file()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/track").get_data(as_text=True)).group(1)
    citizen = visible_text(
        client.post("/track", data={"csrf_token": token, "tracking_no": petition.tracking_no, "code": code}).get_data(
            as_text=True
        )
    )
    staff = visible_text(
        logged_in(app.test_client(), "jtj-handler").get(f"/staff/petitions/{petition.tracking_no}").get_data(as_text=True)
    )
    seen = re.search(r"最迟 (\d{4}-\d\d-\d\d)（法定时限：(\d{4}-\d\d-\d\d)）", citizen)
    assert seen, citizen
    assert seen.group(0) in staff  # the same words and days on the staff page
    queue = visible_text(logged_in(app.test_client(), "jtj-handler").get("/staff/queue").get_data(as_text=True))
    assert f"最迟 {seen.group(1)}" in queue
    assert "00:00 到期" not in staff + queue


def _labels(lang: str) -> dict[str, str]:
    from flask_babel import force_locale

    from petitions.web.staff.routes import ACTION_LABELS, DRAFT_LABELS

    with force_locale(lang):
        named = {f"action:{k}": str(v) for k, v in ACTION_LABELS.items()}
        named.update({f"draft:{k}": str(v) for k, v in DRAFT_LABELS.items()})
    return named


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_every_action_has_a_name_of_its_own(app, lang):
    with app.test_request_context():
        names = _labels(lang)
    seen: dict[str, str] = {}
    for key, name in names.items():
        assert name not in seen, f"{key} and {seen.get(name)} are both called {name!r}"
        seen[name] = key
    # Every staff action of the workflow has its name.
    for action in wf.STAFF_ACTIONS:
        assert f"action:{action}" in names, action


def test_the_leaders_page_names_each_offered_action_once(app):
    petition, _code = file()
    act(petition, "accept", "jtj-handler")
    act(petition, "assign", "jtj-leader", handler="jtj-handler")
    act(petition, "reply", "jtj-handler", text="草稿")
    for lang in ("zh_CN", "en"):
        html = logged_in(app.test_client(), "jtj-leader").get(
            f"/staff/petitions/{petition.tracking_no}?lang={lang}"
        ).get_data(as_text=True)
        summaries = [visible_text(s).strip() for s in re.findall(r"<summary>(.*?)</summary>", html, re.S)]
        assert {"reply", "sign-reply"} <= set(re.findall(r'id="action-([a-z-]+)"', html))
        assert len(summaries) == len(set(summaries)), summaries
