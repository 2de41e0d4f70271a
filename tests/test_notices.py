"""Written notices (书面告知): every kind renders as HTML and as a PDF whose Chinese text is
extractable (the CJK font is embedded); the staff print view and PDF are for staff only."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from petitions.domain.clocks import set_clock
from petitions.domain.errors import NotFound, ValidationFailed
from petitions.extensions import db
from petitions.models import Petition, Role, Unit, User
from petitions.services import actions, notices
from petitions.services.filing import Filing, file_petition
from tests.conftest import DEMO_PASSWORD

# 2026-11-21 16:30 UTC is already 22 November in Shanghai: the notice carries the local day.
ISSUED = datetime(2026, 11, 21, 16, 30, tzinfo=UTC)
DUE = datetime(2027, 2, 10, 8, 0, tzinfo=UTC)

FACTS: dict[str, dict] = {
    "acceptance": {},
    "non-acceptance": {"reason": "你反映的事项属于劳动争议", "channel": "arbitration"},
    "reply": {"text": "经核实，该路段已列入今年维修计划，将于12月底前完成修复。"},
    "extension": {"reason": "需要会同县财政局核实维修资金", "days": 30, "due_at": DUE},
    "review": {"text": "经复查，原答复意见认定事实清楚，予以维持。"},
    "re-review": {"text": "经复核，复查意见适用依据正确，予以维持。"},
}


def _file(anonymous: bool = False) -> Petition:
    set_clock(lambda: datetime(2026, 11, 2, 2, 0, tzinfo=UTC))
    filing = Filing(
        title="村干部吃拿卡要" if anonymous else "村口道路坑洼严重",
        content="东城街道村口道路坑洼严重，雨天积水，车辆通行困难，请尽快维修。",
        category="jjkg-zf" if anonymous else "jtys-dl",
        township="dongcheng",
        contact_name=None if anonymous else "张三",
        contact_phone=None if anonymous else "13800138000",
        anonymous=anonymous,
    )
    petition = file_petition(filing).petition
    set_clock(lambda: ISSUED)
    return petition


def _unit(code: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.code == code))


def _pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "".join(page.extract_text() for page in reader.pages).replace("\n", "")


def _embedded_fonts(pdf: bytes) -> list[tuple[str, bool]]:
    """(font name, whether its glyphs are embedded) for every font the pages use."""
    reader = PdfReader(io.BytesIO(pdf))
    found = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            for part in font.get("/DescendantFonts", [font]):
                descriptor = part.get_object()["/FontDescriptor"].get_object()
                embedded = any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
                found.append((str(part.get_object()["/BaseFont"]), embedded))
    return found


@pytest.mark.parametrize("kind", [k.value for k in notices.NoticeKind])
def test_every_notice_renders_as_pdf_with_its_chinese_text_extractable(app, kind):
    petition = _file()
    jtj = _unit("jtj")
    assert petition.unit_id == jtj.id  # routed to 县交通运输局 at filing
    pdf = notices.render_notice_pdf(kind, petition, **FACTS[kind])

    assert pdf.startswith(b"%PDF")
    text = _pdf_text(pdf)
    assert "县交通运输局" in text
    assert petition.tracking_no in text
    # The page footer carries the tracking number too (taken from the document: no inline style).
    assert f"{petition.tracking_no}　第 1 页" in text
    assert jtj.leader.name in text
    assert notices.TITLES[notices.NoticeKind(kind)] in text
    assert "2026年11月22日" in text  # issued: local day, not the UTC one
    assert "张三" in text
    fonts = _embedded_fonts(pdf)
    assert fonts and all(embedded for _name, embedded in fonts), fonts
    assert any("CJK" in name for name, _embedded in fonts)


@pytest.mark.parametrize("kind", [k.value for k in notices.NoticeKind])
def test_every_notice_renders_as_html(app, kind):
    petition = _file()
    with app.test_request_context():
        html = notices.render_notice_html(kind, petition, leader="王建国", **FACTS[kind])
    assert "县交通运输局" in html
    assert petition.tracking_no in html
    assert "王建国" in html
    assert "2026年11月22日" in html
    assert "data-print" not in html  # the bare document has no controls


def test_each_kind_says_what_the_rules_require(app):
    petition = _file()
    with app.test_request_context():

        def words(kind):
            return notices.render_notice_html(kind, petition, **FACTS[kind])

        assert "决定予以受理" in words("acceptance")
        assert "15日内办理完毕" in words("acceptance")  # 道路桥梁维修 commits to 15 days
        declined = words("non-acceptance")
        assert "不予受理" in declined and "你反映的事项属于劳动争议" in declined
        assert "申请劳动人事争议仲裁" in declined  # the channel code, in words
        reply = words("reply")
        assert "如对本答复意见不服，可自收到本意见书之日起30日内向上一级行政机关请求复查。" in reply
        assert FACTS["reply"]["text"] in reply
        extension = words("extension")
        assert "延长30日" in extension and "2027年2月10日" in extension and "会同县财政局" in extension
        assert "请求复核" in words("review")
        assert "不再受理" in words("re-review")
        free = notices.render_notice_html(
            "non-acceptance", petition, reason="该事项已进入诉讼程序", channel="依法通过诉讼程序解决"
        )
        assert "可以依法通过诉讼程序解决" in free


def test_an_anonymous_report_names_nobody(app):
    petition = _file(anonymous=True)
    assert petition.unit.code == "jw"  # reports go to the discipline office
    text = _pdf_text(notices.render_notice_pdf("reply", petition, **FACTS["reply"]))
    assert "信访人：匿名" in text and "张三" not in text
    assert "青山县纪委监委" in text


def test_missing_facts_and_unknown_kinds_are_refused(app):
    petition = _file()
    with pytest.raises(ValidationFailed) as raised:
        notices.build_notice("reply", petition, text="  ")
    assert set(raised.value.fields) == {"text"}
    with pytest.raises(ValidationFailed) as raised:
        notices.build_notice("extension", petition, reason="核实")
    assert set(raised.value.fields) == {"days", "due_at"}
    with pytest.raises(NotFound):
        notices.build_notice("apology", petition)


# ------------------------------------------------------------------ the staff pages


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def login(client, app, user: User, password: str = DEMO_PASSWORD) -> None:
    """Log in through the login page where it exists, else straight into the session."""
    if "citizen.login" in app.view_functions:
        token = _csrf(client.get("/login").get_data(as_text=True))
        response = client.post(
            "/login", data={"username": user.username, "password": password, "csrf_token": token}
        )
        assert response.status_code == 302, response.status_code
        return
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True


def _act(petition: Petition, action: str, username: str, **fields) -> Petition:
    user = db.session.scalar(select(User).where(User.username == username))
    petition = db.session.get(Petition, petition.id)
    return actions.perform(petition, action, user, petition.version, **fields)


def _accept(petition: Petition, leader: User | None = None) -> None:
    _act(petition, "accept", "jtj-handler")


def test_staff_print_view_and_pdf(app, client, demo_user):
    petition = _file()
    leader = demo_user("jtj-leader")
    _accept(petition)
    login(client, app, demo_user("jtj-handler"))

    page = client.get(f"/staff/petitions/{petition.tracking_no}/notices/acceptance")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "县交通运输局" in html and petition.tracking_no in html and leader.name in html
    assert "data-print" in html and "<style" not in html and "onclick" not in html
    assert f"/staff/petitions/{petition.tracking_no}/notices/acceptance.pdf" in html

    pdf = client.get(f"/staff/petitions/{petition.tracking_no}/notices/acceptance.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "no-store" in pdf.headers["Cache-Control"]
    text = _pdf_text(pdf.data)
    assert "县交通运输局" in text and petition.tracking_no in text and leader.name in text


def test_a_wrong_kind_or_a_notice_not_yet_issued_is_404(app, client, demo_user):
    petition = _file()
    login(client, app, demo_user("jtj-handler"))
    base = f"/staff/petitions/{petition.tracking_no}/notices"
    assert client.get(f"{base}/apology").status_code == 404
    assert client.get(f"{base}/apology.pdf").status_code == 404
    assert client.get(f"{base}/reply").status_code == 404  # no reply has been given
    assert client.get("/staff/petitions/XF00000000000000/notices/acceptance").status_code == 404


def test_non_staff_are_refused(app, client, demo_user):
    petition = _file()
    _accept(petition)
    url = f"/staff/petitions/{petition.tracking_no}/notices/acceptance"

    anonymous = client.get(url)
    assert anonymous.status_code in (302, 401)
    if anonymous.status_code == 302:
        assert "/login" in anonymous.headers["Location"]
    assert client.get(url + ".pdf").status_code in (302, 401)

    citizen = User(username="13900139000", name="李四", phone="13900139000", role=Role.CITIZEN.value)
    citizen.set_password("citizen-pass-1")
    db.session.add(citizen)
    db.session.commit()
    login(client, app, citizen, "citizen-pass-1")
    assert client.get(url).status_code == 404
    assert client.get(url + ".pdf").status_code == 404


def test_the_pages_show_what_the_handling_recorded(app, client, demo_user):
    """Through the real actions: acceptance, an approved extension and the leader's reply."""
    petition = _file()
    _accept(petition)
    _act(petition, "assign", "jtj-leader", handler="jtj-handler")
    _act(petition, "request-extension", "jtj-handler", days="20", reason="需要会同县财政局核实维修资金")
    _act(petition, "approve-extension", "jtj-leader")
    _act(petition, "reply", "jtj-handler", text="经核实，该路段已列入今年维修计划。")
    _act(petition, "sign-reply", "jtj-leader")
    leader = demo_user("jtj-leader")
    login(client, app, demo_user("jtj-handler"))
    base = f"/staff/petitions/{petition.tracking_no}/notices"

    extension = _pdf_text(client.get(f"{base}/extension.pdf").data)
    assert (
        "延长20日" in extension and "需要会同县财政局核实维修资金" in extension and leader.name in extension
    )
    reply = client.get(f"{base}/reply").get_data(as_text=True)
    assert "经核实，该路段已列入今年维修计划。" in reply and leader.name in reply
    assert "青山县人民政府请求复查" in reply  # the superior unit, by name
    assert client.get(f"{base}/review").status_code == 404  # nobody asked for a review

    other = _file()
    _act(other, "decline", "jtj-handler", reason="你反映的事项属于劳动争议", channel="arbitration")
    declined = _pdf_text(client.get(f"/staff/petitions/{other.tracking_no}/notices/non-acceptance.pdf").data)
    assert "不予受理" in declined and "劳动争议" in declined and "申请劳动人事争议仲裁" in declined


def test_another_units_staff_do_not_see_the_notices(app, client, demo_user):
    petition = _file()
    _accept(petition)
    url = f"/staff/petitions/{petition.tracking_no}/notices/acceptance"
    login(client, app, demo_user("zjj-handler"))
    assert client.get(url).status_code == 404
    supervisor = app.test_client()
    login(supervisor, app, demo_user("supervisor"))
    assert supervisor.get(url).status_code == 200


def test_a_withheld_reporter_is_not_named(app):
    petition = _file()
    with app.test_request_context():
        html = notices.render_notice_html("reply", petition, citizen=notices.WITHHELD, **FACTS["reply"])
    assert "张三" not in html and "信访人：" in html


@pytest.mark.parametrize(
    ("kind", "text", "rights"),
    [
        (
            "reply",
            "张三：\n经现场核查，该路段已修复。\n如对本答复意见不服，可自收到本意见书之日起30日内向县人民政府请求复查。",
            "请求复查",
        ),
        ("reply", "尊敬的张三先生您好！\n经现场核查，该路段已修复。", "请求复查"),
        (
            "review",
            "张三：\n经复查，原答复意见予以维持。\n如不服本复查意见，可在三十日内申请复核。",
            "请求复核",
        ),
        ("re-review", "您好：\n经复核，予以维持。\n本复核意见为最终意见。", "最终意见"),
    ],
)
def test_the_letter_says_the_salutation_and_the_rights_once(app, kind, text, rights):
    """A unit that writes its own salutation or review-rights sentence does not get them twice."""
    petition = _file()
    with app.test_request_context():
        html = notices.render_notice_html(kind, petition, text=text)
    body = re.sub(r"<[^>]+>", "", html)
    assert body.count("张三：") == 1  # the letter's own salutation, once
    assert body.count(rights) == 1
    assert "经" in body and "予以维持" in body or "已修复" in body  # the unit's own words stay


def test_a_paragraph_that_only_looks_like_a_salutation_stays(app):
    petition = _file()
    notice = notices.build_notice("reply", petition, text="经核查：\n路面已修复。")
    assert notice.paragraphs[1:] == ["经核查：", "路面已修复。"]


def test_the_signing_leader_is_named_once_with_the_role_once(app):
    petition = _file()
    with app.test_request_context():
        html = notices.render_notice_html("acceptance", petition)
    leader = _unit("jtj").leader
    assert "负责人" not in leader.name  # a name is a name: the role is the notice's to say
    assert re.search(rf"负责人：{leader.name}</p>", html)
    assert html.count("负责人") == 1 + html.count("本机关负责人")


def test_reply_forms_say_what_the_letter_adds(app, client, demo_user):
    petition = _file()
    _accept(petition)
    actions.perform(petition, "assign", demo_user("jtj-leader"), petition.version, handler="jtj-handler")
    for username in ("jtj-handler", "jtj-leader"):
        login(client, app, demo_user(username))
        html = client.get(f"/staff/petitions/{petition.tracking_no}").get_data(as_text=True)
        form = re.search(r'<details class="action[^"]*" id="action-reply".*?</details>', html, re.S).group(0)
        assert "答复意见书会自动加上对信访人的称呼" in form
        assert 'aria-describedby="reply-text-hint"' in form
