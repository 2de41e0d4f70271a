"""The staff pages through the test client: each page for each role, scope, the actions the
workflow allows and nothing else, refusals that change nothing, stale versions, CSRF."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from petitions.domain import workflow as wf
from petitions.domain.clocks import now, set_clock
from petitions.extensions import db
from petitions.models import Channel, Event, Petition
from petitions.services.filing import Filing, Upload, file_petition
from tests.handling import act, file, logged_in, no_rule_for, snapshot, user
from tests.test_browser_citizen import tiny_png

pytestmark = pytest.mark.calendar

STALE_ZH = "其他人刚刚修改了此信访事项，请刷新后重试。"


@pytest.fixture()
def as_(app):
    """A fresh client logged in as a demo account."""

    def get(username: str):
        return logged_in(app.test_client(), username)

    return get


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def _post(client, tracking_no: str, action: str, version: int | None = None, **fields):
    page = client.get(f"/staff/petitions/{tracking_no}")
    assert page.status_code == 200
    current = db.session.scalar(select(Petition).where(Petition.tracking_no == tracking_no))
    data = {"csrf_token": _csrf(page.get_data(as_text=True)), **fields}
    data["version"] = str(current.version if version is None else version)
    return client.post(f"/staff/petitions/{tracking_no}/actions/{action}", data=data)


def _offered(html: str) -> set[str]:
    return set(re.findall(r'id="action-([a-z-]+)"', html))


def _waiting(title: str = "村口道路塌陷无人修理", phone: str = "13900001234") -> Petition:
    """A petition no rule covers: it waits in the intake queue."""
    no_rule_for("jtys-dl")
    petition, _code = file(title=title, phone=phone)
    assert petition.status == wf.REGISTERED
    return petition


# ---------------------------------------------------------------- pages × roles

PAGES = ["/staff/", "/staff/intake", "/staff/intake/new", "/staff/queue", "/staff/inbox"]
EXPECTED = {
    "intake": [302, 200, 200, 200, 404],
    "jtj-handler": [302, 404, 404, 200, 404],
    "jtj-leader": [302, 404, 404, 200, 200],
    "supervisor": [302, 404, 404, 200, 404],
    "admin": [302, 200, 200, 200, 404],
}
HOMES = {
    "intake": "/staff/intake",
    "jtj-handler": "/staff/queue",
    "jtj-leader": "/staff/queue",
    "supervisor": "/supervision/",
    "admin": "/admin/",
}


@pytest.mark.parametrize("username", list(EXPECTED))
def test_each_page_for_each_role(as_, username):
    petition, _ = file()
    client = as_(username)
    for path, status in zip(PAGES, EXPECTED[username], strict=True):
        response = client.get(path)
        assert response.status_code == status, (username, path, response.status_code)
    assert client.get("/staff/").headers["Location"] == HOMES[username]
    page = client.get(f"/staff/petitions/{petition.tracking_no}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert petition.title in html
    assert 'lang="zh-CN"' in html and "退出登录" in html


def test_strangers_log_in_and_citizens_find_nothing(client, app):
    petition, _ = file()
    for path in [*PAGES, f"/staff/petitions/{petition.tracking_no}"]:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    citizen = logged_in(app.test_client(), "intake")
    with citizen.session_transaction() as session:
        from petitions.web.citizen.accounts import register_citizen

        session["_user_id"] = str(register_citizen("13700001111", "钱多多", "long-enough-pw").id)
    for path in [*PAGES, f"/staff/petitions/{petition.tracking_no}"]:
        assert citizen.get(path).status_code == 404, path


def test_leader_nav_shows_the_inbox_count(as_):
    petition, _ = file()
    act(petition, "accept", "jtj-handler")
    act(petition, "assign", "jtj-leader", handler="jtj-handler")
    act(petition, "reply", "jtj-handler", text="已安排修复。")
    html = as_("jtj-leader").get("/staff/queue").get_data(as_text=True)
    assert re.search(r'id="nav-inbox">[^<]*<span class="count count-some">1</span>', html)
    inbox = as_("jtj-leader").get("/staff/inbox").get_data(as_text=True)
    assert f'id="draft-{petition.tracking_no}"' in inbox and "已安排修复。" in inbox
    # Another unit's leader has nothing to sign.
    other = as_("dongcheng-leader").get("/staff/inbox").get_data(as_text=True)
    assert petition.tracking_no not in other


# ---------------------------------------------------------------- scope


def test_out_of_scope_petitions_answer_404(as_):
    petition, _ = file()  # routed to 县交通运输局 (jtj) by the rules
    assert petition.unit.code == "jtj"
    before = snapshot(petition)
    other = as_("dongcheng-handler")
    assert other.get(f"/staff/petitions/{petition.tracking_no}").status_code == 404
    assert other.get("/staff/petitions/XF00000000000000").status_code == 404
    # Acting needs the page's token; take it from a page this user may see.
    token = _csrf(other.get("/staff/queue").get_data(as_text=True))
    response = other.post(
        f"/staff/petitions/{petition.tracking_no}/actions/accept",
        data={"csrf_token": token, "version": str(petition.version)},
    )
    assert response.status_code == 404
    assert snapshot(petition) == before
    listed = other.get(f"/staff/queue?status=all&q={petition.tracking_no}").get_data(as_text=True)
    assert "没有符合条件的信访件。" in listed and f"/staff/petitions/{petition.tracking_no}" not in listed


def _filed_with(*uploads: Upload):
    """A petition about a collapsed road, sent with `uploads`."""
    return file_petition(
        Filing(
            title="路面塌陷",
            content="路面塌陷。",
            category="jtys-dl",
            township="dongcheng",
            contact_name="张三",
            contact_phone="13812345678",
            attachments=list(uploads),
        )
    )


def test_attachments_download_with_their_type_only_in_scope(as_, tmp_path):
    png = tiny_png(tmp_path / "路面.png").read_bytes()
    petition = _filed_with(Upload("路面.png", png)).petition
    attachment = petition.attachments[0]
    url = f"/staff/petitions/{petition.tracking_no}/attachments/{attachment.id}"
    mine = as_("jtj-handler")
    assert url in mine.get(f"/staff/petitions/{petition.tracking_no}").get_data(as_text=True)
    response = mine.get(url)
    assert response.status_code == 200
    assert response.data == png
    assert response.mimetype == "image/png"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert as_("dongcheng-handler").get(url).status_code == 404
    other, _ = file(title="另一件")
    assert mine.get(f"/staff/petitions/{other.tracking_no}/attachments/{attachment.id}").status_code == 404


def test_the_staff_view_lists_each_attachment_and_clock_once_without_their_bytes(as_, tmp_path):
    """The petition is read with its clocks and attachments joined to it: each attachment and
    each clock once, attachments in the order they were sent, and no attachment's contents."""
    from sqlalchemy import event, inspect

    from petitions.web.presenters import load_for_staff, staff_view

    png = tiny_png(tmp_path / "路面.png").read_bytes()
    filed = _filed_with(Upload("一.png", png), Upload("二.png", png), Upload("三.png", png))
    number = filed.petition.tracking_no
    act(filed.petition, "accept", "jtj-handler")
    db.session.expunge_all()
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        petition = load_for_staff(number)
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert len(seen) == 2 and "attachments" in seen[0] and "clocks" in seen[0], seen
    assert len({c.kind for c in petition.clocks}) == len(petition.clocks) >= 2
    assert [a.filename for a in petition.attachments] == ["一.png", "二.png", "三.png"]
    assert all("data" in inspect(a).unloaded for a in petition.attachments)
    view = staff_view(user("supervisor"), petition)
    assert [a["filename"] for a in view["attachments"]] == ["一.png", "二.png", "三.png"]
    assert len(view["clocks"]) == len(petition.clocks)
    html = as_("jtj-handler").get(f"/staff/petitions/{number}").get_data(as_text=True)
    assert all(html.count(name) == 1 for name in ("一.png", "二.png", "三.png"))


# ---------------------------------------------------------------- the actions offered


def test_only_the_actions_valid_for_this_user_in_this_state_are_offered(as_):
    routed, _ = file(title="另一条路坏了")
    waiting = _waiting()
    assert _offered(as_("intake").get(f"/staff/petitions/{waiting.tracking_no}").get_data(as_text=True)) == {
        "register",
        "route",
        "note",
        "answer-on-spot",
        "merge",
    }
    assert as_("jtj-handler").get(f"/staff/petitions/{waiting.tracking_no}").status_code == 404

    page = as_("jtj-handler").get(f"/staff/petitions/{routed.tracking_no}").get_data(as_text=True)
    assert _offered(page) == {"return", "accept", "decline", "note", "answer-on-spot"}
    act(routed, "accept", "jtj-handler")
    # The handler who accepted it handles it: drafting the reply is offered at once.
    assert _offered(
        as_("jtj-handler").get(f"/staff/petitions/{routed.tracking_no}").get_data(as_text=True)
    ) == {
        "note",
        "reply",
        "request-extension",
    }
    assert _offered(
        as_("jtj-leader").get(f"/staff/petitions/{routed.tracking_no}").get_data(as_text=True)
    ) == {
        "assign",
        "note",
        "reply",
        "request-extension",
    }
    # Supervisors urge and change no content.
    assert _offered(
        as_("supervisor").get(f"/staff/petitions/{routed.tracking_no}").get_data(as_text=True)
    ) == {"urge"}
    # The handler select lists only the unit's own active handlers.
    leader_page = as_("jtj-leader").get(f"/staff/petitions/{routed.tracking_no}").get_data(as_text=True)
    assign = leader_page.split('id="action-assign"')[1].split("</details>")[0]
    assert 'value="jtj-handler"' in assign and "dongcheng-handler" not in assign


def test_a_handlers_reply_is_a_draft_the_leader_signs_and_notices_appear(as_):
    petition, _ = file()
    act(petition, "accept", "jtj-handler")
    act(petition, "assign", "jtj-leader", handler="jtj-handler")
    handler = as_("jtj-handler")
    page = handler.get(f"/staff/petitions/{petition.tracking_no}").get_data(as_text=True)
    assert "起草答复意见（报负责人签发）" in page
    response = _post(handler, petition.tracking_no, "reply", text="已安排施工队修复。")
    assert response.status_code == 303
    page = handler.get(response.headers["Location"]).get_data(as_text=True)
    assert "已完成：起草答复意见（报负责人签发）。" in page
    assert "内部，信访人看不到" in page  # the draft event is internal
    leader = as_("jtj-leader")
    assert "sign-reply" in _offered(
        leader.get(f"/staff/petitions/{petition.tracking_no}").get_data(as_text=True)
    )
    response = _post(
        leader, petition.tracking_no, "sign-reply", text="已安排施工队于本月内修复。", back="inbox"
    )
    assert response.status_code == 303 and response.headers["Location"] == "/staff/inbox"
    db.session.expire_all()
    assert db.session.get(Petition, petition.id).status == wf.REPLIED
    page = leader.get(f"/staff/petitions/{petition.tracking_no}").get_data(as_text=True)
    assert f"/staff/petitions/{petition.tracking_no}/notices/reply" in page
    assert f"/staff/petitions/{petition.tracking_no}/notices/acceptance" in page
    assert "/notices/non-acceptance" not in page


# ---------------------------------------------------------------- refusals change nothing


def _routed():
    petition, _ = file()
    return petition


def _accepted():
    petition = _routed()
    act(petition, "accept", "jtj-handler")
    return petition


def _in_progress():
    petition = _accepted()
    act(petition, "assign", "jtj-leader", handler="jtj-handler")
    return petition


def _pending_extension():
    petition = _in_progress()
    act(petition, "request-extension", "jtj-handler", days="10", reason="需协调。")
    return petition


# (setup, who, action, fields, status, words on the page)
REFUSALS = [
    (_waiting, "intake", "route", {"unit": ""}, 422, "此项必须填写"),
    (_waiting, "intake", "route", {"unit": "no-such-unit"}, 422, None),
    (_waiting, "intake", "register", {"category": "no-such-category"}, 422, None),
    (_waiting, "intake", "merge", {"duplicate_of": "XF00000000000000"}, 422, None),
    (_waiting, "intake", "answer-on-spot", {"text": ""}, 422, "此项必须填写"),
    (_waiting, "intake", "note", {"text": "   "}, 422, "此项必须填写"),
    (_routed, "jtj-handler", "return", {"reason": ""}, 422, "此项必须填写"),
    (_routed, "jtj-handler", "decline", {"reason": "属诉讼事项", "channel": ""}, 422, "此项必须填写"),
    (_routed, "jtj-leader", "assign", {"handler": "jtj-handler"}, 409, None),
    (_accepted, "jtj-leader", "assign", {"handler": "dongcheng-handler"}, 422, None),
    (_accepted, "jtj-handler", "assign", {"handler": "jtj-handler"}, 403, None),
    (_accepted, "jtj-handler", "request-extension", {"days": "31", "reason": "太忙"}, 422, "30"),
    (_accepted, "jtj-handler", "request-extension", {"days": "abc", "reason": "太忙"}, 422, None),
    (_in_progress, "jtj-handler", "reply", {"text": ""}, 422, "此项必须填写"),
    (_in_progress, "jtj-leader", "sign-reply", {}, 409, None),
    (_in_progress, "jtj-leader", "approve-extension", {}, 409, None),
    (_pending_extension, "jtj-leader", "reject-extension", {"reason": ""}, 422, "此项必须填写"),
    (_pending_extension, "jtj-handler", "request-extension", {"days": "5", "reason": "再延"}, 409, None),
    (_in_progress, "jtj-leader", "close", {}, 409, None),
    (_routed, "supervisor", "urge", {"text": ""}, 422, "此项必须填写"),
    (_routed, "supervisor", "accept", {}, 403, None),
]


@pytest.mark.parametrize(
    ("setup", "username", "action", "fields", "status", "words"),
    REFUSALS,
    ids=[f"{r[1]}-{r[2]}-{i}" for i, r in enumerate(REFUSALS)],
)
def test_every_refusal_shows_its_message_and_writes_nothing(
    as_, setup, username, action, fields, status, words
):
    petition = setup()
    before = snapshot(petition)
    response = _post(as_(username), petition.tracking_no, action, **fields)
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert 'id="refusal"' in html and "未作任何更改。" in html
    if words:
        assert words in html
    assert snapshot(petition) == before


def test_a_refusal_from_the_intake_queue_comes_back_there_with_its_message(as_):
    petition = _waiting()
    before = snapshot(petition)
    client = as_("intake")
    token = _csrf(client.get("/staff/intake").get_data(as_text=True))
    response = client.post(
        f"/staff/petitions/{petition.tracking_no}/actions/route",
        data={"csrf_token": token, "version": str(petition.version), "unit": "", "back": "intake"},
    )
    assert response.status_code == 303 and response.headers["Location"] == "/staff/intake"
    page = client.get("/staff/intake").get_data(as_text=True)
    assert f"{petition.tracking_no}：未办理。" in page
    assert snapshot(petition) == before


def test_a_stale_version_says_reload_and_changes_nothing(as_):
    petition = _routed()
    seen = petition.version
    act(petition, "note", "jtj-leader", text="请尽快受理。")
    before = snapshot(petition)
    response = _post(as_("jtj-handler"), petition.tracking_no, "accept", version=seen)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert STALE_ZH in html and "重新载入" in html
    assert snapshot(petition) == before
    # The forms on the page now carry the new version.
    assert f'name="version" value="{before[1]}"' in html


def test_csrf_is_required(as_):
    petition = _routed()
    before = snapshot(petition)
    client = as_("jtj-handler")
    response = client.post(
        f"/staff/petitions/{petition.tracking_no}/actions/accept", data={"version": str(petition.version)}
    )
    assert response.status_code == 400
    assert snapshot(petition) == before
    response = client.post("/staff/intake/new", data={"title": "x"})
    assert response.status_code == 400


# ---------------------------------------------------------------- intake queue


def test_intake_queue_shows_suggestions_duplicates_and_merges(as_):
    earlier = _waiting(title="村口道路塌陷无人修理")
    later = _waiting(title="村口道路塌陷一直无人修理")
    client = as_("intake")
    html = client.get("/staff/intake").get_data(as_text=True)
    assert html.index(earlier.tracking_no) < html.index(later.tracking_no)  # oldest first
    assert "此类别和地点没有匹配的规则" in html
    assert "道路桥梁维修" in html.split(f'id="case-{later.tracking_no}"')[1]
    later_case = html.split(f'id="case-{later.tracking_no}"')[1]
    assert f"/staff/petitions/{earlier.tracking_no}" in later_case
    assert f"并入 {earlier.tracking_no}" in later_case
    token = _csrf(html)
    response = client.post(
        f"/staff/petitions/{later.tracking_no}/actions/merge",
        data={
            "csrf_token": token,
            "version": str(later.version),
            "duplicate_of": earlier.tracking_no,
            "back": "intake",
        },
    )
    assert response.status_code == 303
    db.session.expire_all()
    merged = db.session.get(Petition, later.id)
    assert merged.status == wf.CLOSED and merged.duplicate_of_id == earlier.id
    assert later.tracking_no not in client.get("/staff/intake").get_data(as_text=True)


def test_the_intake_queue_offers_only_what_the_workflow_allows(as_):
    petition = _waiting()
    case = f'id="case-{petition.tracking_no}"'
    intake = as_("intake").get("/staff/intake").get_data(as_text=True).split(case)[1]
    assert "/actions/route" in intake.split("</article>")[0]
    # An administrator may look at the queue; routing is the intake officer's.
    admin = as_("admin").get("/staff/intake").get_data(as_text=True).split(case)[1].split("</article>")[0]
    assert petition.title in admin and "/actions/" not in admin


def test_intake_routes_from_the_queue(as_):
    petition = _waiting()
    client = as_("intake")
    token = _csrf(client.get("/staff/intake").get_data(as_text=True))
    response = client.post(
        f"/staff/petitions/{petition.tracking_no}/actions/route",
        data={"csrf_token": token, "version": str(petition.version), "unit": "jtj", "back": "intake"},
    )
    assert response.status_code == 303
    db.session.expire_all()
    routed = db.session.get(Petition, petition.id)
    assert routed.status == wf.ROUTED and routed.unit.code == "jtj"
    assert "已完成：交办到单位。" in client.get("/staff/intake").get_data(as_text=True)


def test_intake_queue_keyword_suggestion_names_the_unit(as_):
    # Filed under roads (no rule covers it here), but the text is about the estate's management.
    petition = _waiting(title="小区物业费乱涨，电梯经常坏")
    html = as_("intake").get("/staff/intake").get_data(as_text=True)
    case = html.split(f'id="case-{petition.tracking_no}"')[1].split("</article>")[0]
    suggestions = case.split('class="suggest"')[1]
    assert "物业管理 → 县房产服务中心" in suggestions
    # ... and the route select starts at that unit.
    assert re.search(r'<option value="fcfw" selected>', case)


# ---------------------------------------------------------------- staff entry


def _entry(client, **overrides):
    token = _csrf(client.get("/staff/intake/new").get_data(as_text=True))
    data = {
        "csrf_token": token,
        "channel": "phone",
        "category": "jtys-dl",
        "township": "dongcheng",
        "title": "来电反映村道塌陷",
        "content": "来电人反映村道塌陷，请求修复。",
        "contact_name": "孙大爷",
        "contact_phone": "13600001111",
        "address": "东城街道幸福村3组",
    }
    data.update(overrides)
    return client.post("/staff/intake/new", data=data)


def test_staff_entry_files_with_channel_and_shows_the_numbers_once(as_):
    client = as_("intake")
    form = client.get("/staff/intake/new").get_data(as_text=True)
    assert 'name="channel"' in form and "来电" in form and "来信" in form and "来访" in form
    response = _entry(client)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    number = re.search(r'id="tracking-no" aria-label="([^"]+)"', page).group(1)
    code = re.search(r'id="query-code" aria-label="([^"]+)"', page).group(1)
    assert "data-print" in page
    petition = db.session.scalar(select(Petition).where(Petition.tracking_no == number))
    assert petition.channel == Channel.PHONE.value
    assert petition.created_by.username == "intake"
    assert petition.address == "东城街道幸福村3组"
    from petitions.services.filing import find_for_citizen

    assert find_for_citizen(number, code).id == petition.id
    again = client.get("/staff/intake/entered").get_data(as_text=True)
    assert code not in again and number not in again


def test_staff_entry_refuses_bad_input_and_files_nothing(as_):
    client = as_("intake")
    count = db.session.scalar(select(func.count()).select_from(Petition))
    response = _entry(client, title="", contact_phone="12345")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "请填写标题" in html or "标题" in html
    response = _entry(client, channel="telegram")
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Petition)) == count
    assert as_("jtj-handler").get("/staff/intake/new").status_code == 404


# ---------------------------------------------------------------- queues


def _row(html: str, tracking_no: str) -> str:
    return next(r for r in html.split("<tr")[2:] if tracking_no in r)


def test_queue_filters_by_level_status_and_text_and_pages(as_, app):
    petition, _ = file(title="桥梁护栏损坏")
    other, _ = file(title="路灯不亮", phone="13700002222")
    act(other, "accept", "jtj-handler")
    client = as_("jtj-handler")
    html = client.get("/staff/queue").get_data(as_text=True)
    assert petition.tracking_no in html and other.tracking_no in html
    row = _row(html, petition.tracking_no)
    assert 'class="level level-green"' in row and "绿色：正常" in row and "剩余" in row
    assert "未指定" in row

    by_status = client.get("/staff/queue?status=in_progress").get_data(as_text=True)
    assert other.tracking_no in by_status and petition.tracking_no not in by_status
    by_text = client.get("/staff/queue?q=护栏").get_data(as_text=True)
    assert petition.tracking_no in by_text and other.tracking_no not in by_text

    # Past the acceptance limit the routed one turns red, showing how long it is overdue.
    due = db.session.get(Petition, petition.id).open_clock.due_at
    set_clock(lambda: due + timedelta(days=1, hours=5))
    red = client.get("/staff/queue?level=red").get_data(as_text=True)
    assert petition.tracking_no in red and other.tracking_no not in red
    row = _row(red, petition.tracking_no)
    assert "红牌：已超期" in row and "已超期 1 天 5 小时" in row
    set_clock(lambda: due + timedelta(days=4))
    urged = client.get("/staff/queue?level=urged").get_data(as_text=True)
    assert petition.tracking_no in urged
    # "Red" is every overdue clock, urged ones included (the API's filter says the same).
    assert petition.tracking_no in client.get("/staff/queue?level=red").get_data(as_text=True)
    assert petition.tracking_no not in client.get("/staff/queue?level=yellow").get_data(as_text=True)
    set_clock(None)

    # Paging: at most 100 a page, whatever is asked.
    for i in range(3):
        file(title=f"道路坑洼第{i}处", phone=f"1390000{i:04d}")
    first = client.get("/staff/queue?per_page=2").get_data(as_text=True)
    assert first.count('<tr class="row-') == 2 and "下一页" in first
    assert client.get("/staff/queue?per_page=1000").status_code == 200


def test_time_left_is_told_in_days_and_hours():
    from petitions.domain.clocks import ClockStatus
    from petitions.web.staff.routes import time_left

    at = now()
    assert time_left(ClockStatus("accept", "green", timedelta(days=3, hours=5, minutes=59), at)) == (
        "剩余 3 天 5 小时"
    )
    assert time_left(ClockStatus("accept", "red", -timedelta(days=2, hours=4), at)) == "已超期 2 天 4 小时"
    assert time_left(None) == ""


def test_internal_notes_are_marked_and_kept_from_the_citizen(as_):
    petition, _ = file()
    act(petition, "note", "jtj-handler", text="已电话联系信访人。")
    page = as_("jtj-leader").get(f"/staff/petitions/{petition.tracking_no}").get_data(as_text=True)
    note = page.split('data-type="note"')[1].split("</li>")[0]
    assert "内部，信访人看不到" in note and "已电话联系信访人。" in note
    events = db.session.scalars(
        select(Event).where(Event.petition_id == petition.id, Event.type == "note")
    ).all()
    assert [e.public for e in events] == [False]


def test_inbox_decides_extensions(as_):
    petition = _pending_extension()
    leader = as_("jtj-leader")
    html = leader.get("/staff/inbox").get_data(as_text=True)
    assert f'id="extension-{petition.tracking_no}"' in html and "需协调。" in html
    response = leader.post(
        f"/staff/petitions/{petition.tracking_no}/actions/reject-extension",
        data={"csrf_token": _csrf(html), "version": str(petition.version), "reason": "", "back": "inbox"},
    )
    assert response.status_code == 303
    refused = leader.get("/staff/inbox").get_data(as_text=True)
    assert "未办理" in refused and f'id="extension-{petition.tracking_no}"' in refused
    response = leader.post(
        f"/staff/petitions/{petition.tracking_no}/actions/approve-extension",
        data={"csrf_token": _csrf(refused), "version": str(petition.version), "back": "inbox"},
    )
    assert response.status_code == 303
    after = leader.get("/staff/inbox").get_data(as_text=True)
    assert f'id="extension-{petition.tracking_no}"' not in after
    db.session.expire_all()
    clock = db.session.get(Petition, petition.id).open_clock
    assert clock.extended_days == 10


# ---------------------------------------------------------------- out of scope after an action


def test_a_returned_petition_keeps_its_reason_and_the_returner_lands_on_its_queue(as_):
    """The unit returns it: the handler lands on their queue with a message (not a 404); the intake
    queue shows that it was returned, by which unit and why, and does not pre-select that unit."""
    petition, _code = file(title="小区垃圾无人清运")  # routed to 县交通运输局 by its rule
    assert petition.unit.code == "jtj"
    handler = as_("jtj-handler")
    response = _post(handler, petition.tracking_no, "return", reason="此事属于环卫部门职责，请转城管局。")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/staff/")
    landed = handler.get(response.headers["Location"], follow_redirects=True)
    html = landed.get_data(as_text=True)
    assert landed.status_code == 200 and landed.request.path == "/staff/queue"
    assert "已完成：退回信访局。" in html and f"{petition.tracking_no} 已不在本单位办理。" in html

    intake = as_("intake").get("/staff/intake").get_data(as_text=True)
    case = re.search(rf'<article class="case" id="case-{petition.tracking_no}">.*?</article>', intake, re.S).group(0)
    returned = re.search(r'<div class="warning returned"[^>]*>.*?</div>', case, re.S).group(0)
    assert "县交通运输局于" in returned and "退回" in returned and "此事属于环卫部门职责，请转城管局。" in returned
    assert user("jtj-handler").name in returned
    # The rule still names 县交通运输局, marked as the unit that returned it, and it is not pre-selected.
    assert "（已退回）" in case
    selected = re.findall(r'<option value="([^"]*)" selected>', case)
    assert "jtj" not in selected


def test_every_action_that_ends_the_actors_scope_lands_on_their_queue(as_):
    """Re-routing by the bureau keeps the intake officer's scope: they stay on the petition."""
    petition, _code = file()
    intake = as_("intake")
    response = _post(intake, petition.tracking_no, "route", unit="zjj")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/staff/petitions/{petition.tracking_no}")
    # The unit it left no longer sees it: a leader's own action elsewhere is not in question, but
    # a late look at the page is a 404 in the staff layout, not the citizen's.
    gone = as_("jtj-handler").get(f"/staff/petitions/{petition.tracking_no}")
    assert gone.status_code == 404
    page = gone.get_data(as_text=True)
    assert 'class="site-nav staff-nav"' in page and "返回我的工作页" in page
