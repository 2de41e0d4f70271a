"""The citizen's pages through the test client: filing, the one-time code, look-up, accounts.

Pages are Chinese by default, so the messages asserted here are the Chinese ones.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from petitions.models import Attachment, Event, Petition, Role, User
from petitions.services.filing import find_for_citizen
from tests.conftest import configure

pytestmark = pytest.mark.calendar

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
MB = 1024 * 1024


def token_from(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


def csrf(client, url: str) -> str:
    return token_from(client.get(url).get_data(as_text=True))


def filing_data(client, **overrides) -> dict:
    data = {
        "csrf_token": csrf(client, "/file"),
        "category": "cxjs-wy",
        "township": "dongcheng",
        "title": "小区电梯停运一个月",
        "content": "我住在东城街道幸福小区3号楼，电梯已经停运一个月，物业一直不修。",
        "contact_name": "张秀英",
        "contact_phone": "13812345678",
    }
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def post_filing(client, data: dict, files: list[tuple[bytes, str]] | None = None, **kw):
    payload = dict(data)
    if files:
        payload["attachments"] = [(io.BytesIO(content), name) for content, name in files]
    return client.post("/file", data=payload, content_type="multipart/form-data", **kw)


def shown_numbers(html: str) -> tuple[str, str]:
    """The tracking number and query code on the result page."""
    return (
        re.search(r'id="tracking-no" aria-label="(XF\d{14})"', html).group(1),
        re.search(r'id="query-code" aria-label="(\d{8})"', html).group(1),
    )


def field_block(html: str, field_id: str) -> str:
    """The markup of one form field: from its wrapper to the next field's wrapper."""
    start = html.index(f'id="{field_id}-field"')
    following = html.find('-field"', start + len(field_id) + 12)
    return html[start : following if following != -1 else len(html)]


def counts(db) -> tuple[int, int, int]:
    return (
        db.session.scalar(select(func.count(Petition.id))),
        db.session.scalar(select(func.count(Attachment.id))),
        db.session.scalar(select(func.count(Event.id))),
    )


def make_citizen(
    db, phone: str = "13900001111", name: str = "李大爷", password: str = "secret-pass-1"
) -> User:
    user = User(username=phone, phone=phone, name=name, role=Role.CITIZEN.value)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def log_in(client, username: str, password: str):
    token = csrf(client, "/login")
    return client.post("/login", data={"csrf_token": token, "username": username, "password": password})


# ---------------------------------------------------------------- home and form


def test_home_tells_a_citizen_what_they_can_do_in_chinese(client):
    page = client.get("/").get_data(as_text=True)
    assert "青山县信访局" in page
    for words in ("我要信访", "查询办理情况", "我的信访", "政务公开"):
        assert words in page
    assert 'href="/file"' in page and 'href="/track"' in page and 'href="/public"' in page
    assert 'href="/?lang=en"' in page


def test_filing_form_groups_subjects_under_their_parent_and_lists_places(client):
    page = client.get("/file").get_data(as_text=True)
    assert '<optgroup label="城乡建设">' in page
    assert re.search(r'<option data-anonymous="1" value="jjkg-wj">', page), "reports carry the anonymity flag"
    assert re.search(r'<option value="cxjs-wy">物业管理</option>', page)
    assert 'value="cxjs"' not in page, "top-level subjects are not offered"
    assert '<option value="dongcheng">东城街道</option>' in page
    assert '<option value="kaifaqu">' in page, "urban management committees are places too"
    assert 'value="jtj"' not in page, "departments are not places"
    # Every input has its label.
    for field in ("category", "township", "title", "content", "attachments", "contact_name", "contact_phone"):
        assert f'for="{field}"' in page
    assert 'enctype="multipart/form-data"' in page and "multiple" in page


BAD_INPUT = [
    pytest.param({"title": None}, None, "title", "请填写标题。", id="missing-title"),
    pytest.param({"title": "   "}, None, "title", "请填写标题。", id="blank-title"),
    pytest.param({"content": ""}, None, "content", "请写明您要反映的事情。", id="empty-content"),
    pytest.param({"title": "长" * 101}, None, "title", "标题最多 100 个字。", id="title-over-100"),
    pytest.param(
        {"content": "字" * 5001}, None, "content", "具体内容最多 5000 个字。", id="content-over-5000"
    ),
    pytest.param({"category": ""}, None, "category", "请选择事项类别。", id="no-category"),
    pytest.param({"category": "no-such"}, None, "category", "没有这个事项类别。", id="unknown-category"),
    pytest.param({"category": "cxjs"}, None, "category", "没有这个事项类别。", id="top-level-category"),
    pytest.param(
        {"township": None}, None, "township", "请选择所涉及的乡镇（街道）或园区。", id="no-township"
    ),
    pytest.param(
        {"township": "atlantis"}, None, "township", "没有这个乡镇（街道）或园区。", id="unknown-township"
    ),
    pytest.param(
        {"township": "jtj"}, None, "township", "没有这个乡镇（街道）或园区。", id="department-as-place"
    ),
    pytest.param({"contact_name": ""}, None, "contact_name", "请填写姓名。", id="no-name"),
    pytest.param({"contact_phone": ""}, None, "contact_phone", "请填写手机号码。", id="no-mobile"),
    pytest.param({"contact_phone": "12345"}, None, "contact_phone", "11 位大陆手机号码", id="short-mobile"),
    pytest.param(
        {"contact_phone": "010-66778899"}, None, "contact_phone", "11 位大陆手机号码", id="landline"
    ),
    pytest.param(
        {"anonymous": "y"}, None, "anonymous", "只有检举控告类事项可以匿名。", id="anonymous-grievance"
    ),
    pytest.param(
        {}, [(PNG + b"\x00" * (10 * MB), "big.png")], "attachments", "“big.png”超过了 10 MB。", id="over-10mb"
    ),
    pytest.param(
        {},
        [(b"just some text, not a photo", "photo.jpg")],
        "attachments",
        "“photo.jpg”不是 JPEG、PNG 或 PDF 文件。",
        id="fake-jpg",
    ),
    pytest.param(
        {}, [(PNG, f"p{i}.png") for i in range(6)], "attachments", "附件最多 5 个。", id="six-attachments"
    ),
]


@pytest.mark.parametrize(("overrides", "files", "field", "message"), BAD_INPUT)
def test_bad_input_is_explained_beside_its_field_and_nothing_is_written(
    client, db, overrides, files, field, message
):
    before = counts(db)
    response = post_filing(client, filing_data(client, **overrides), files)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    block = field_block(html, field)
    assert message in block, block
    assert "错误：" in block, "the error is said in words, not colour alone"
    assert 'aria-invalid="true"' in block or field == "anonymous"
    assert "有些内容需要修改。" in html, "a summary at the top lists what needs correcting"
    assert counts(db) == before
    # What was typed is kept, so nothing has to be entered twice.
    if field != "title":
        assert "小区电梯停运一个月" in html


def test_bad_input_messages_speak_english_when_chosen(client, db):
    client.get("/?lang=en")
    response = post_filing(client, filing_data(client, title=None, contact_phone="123"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Please enter a title." in field_block(html, "title")
    assert "Please enter an 11-digit mainland mobile number" in field_block(html, "contact_phone")
    assert "Error:" in html


def test_a_post_without_csrf_token_is_refused_and_writes_nothing(client, db):
    before = counts(db)
    data = filing_data(client, csrf_token=None)
    response = post_filing(client, data)
    assert response.status_code == 400
    assert "页面已过期" in response.get_data(as_text=True)
    assert counts(db) == before


# ---------------------------------------------------------------- filing and the one-time code


def test_filing_shows_tracking_number_and_code_once(client, db):
    response = post_filing(
        client, filing_data(client, public_consent="y"), [(PNG, "电梯.png"), (PDF, "合同.pdf")]
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/filed")

    first = client.get("/filed")
    html = first.get_data(as_text=True)
    assert first.headers["Cache-Control"] == "no-store"
    tracking_no, code = shown_numbers(html)
    # Shown in groups that are easy to read out: XF 20261122 123456 / 1234 5678.
    assert f'<span class="group">{code[:4]}</span><span class="group">{code[4:]}</span>' in html
    assert "data-print" in html and "打印本页" in html
    assert "查询码只显示这一次" in html

    petition = find_for_citizen(tracking_no, code)
    assert petition.title == "小区电梯停运一个月"
    assert petition.public_consent is True and petition.anonymous is False
    assert petition.contact_phone == "13812345678"
    assert petition.citizen_id is None
    assert sorted((a.filename, a.content_type) for a in petition.attachments) == [
        ("合同.pdf", "application/pdf"),
        ("电梯.png", "image/png"),
    ]
    # Where it went and by when.
    assert petition.unit is not None and petition.unit.code == "fcfw"
    assert re.search(r'id="routed-to">\s*县房产服务中心', html)
    clock = petition.open_clock
    assert clock.kind == "accept"
    last_day = (clock.due_at.astimezone(ZoneInfo("Asia/Shanghai")) - timedelta(microseconds=1)).date()
    assert "决定是否受理" in html and f"最迟 {last_day:%Y-%m-%d}" in html

    again = client.get("/filed").get_data(as_text=True)
    assert code not in again and tracking_no not in again and 'id="query-code"' not in again
    assert "此页面已经显示过了" in again


def test_anonymous_report_needs_no_contact_and_goes_to_the_discipline_office(client, db):
    data = filing_data(client, category="jjkg-zf", anonymous="y", contact_name="", contact_phone="")
    response = post_filing(client, data)
    assert response.status_code == 302
    petition = db.session.scalars(select(Petition).order_by(Petition.id.desc())).first()
    assert petition.anonymous is True
    assert petition.contact_name is None and petition.contact_phone is None
    assert petition.unit.code == "jw"


def test_rate_limit_the_31st_filing_in_a_minute_gets_429_with_retry_after(client, db):
    data = filing_data(client, title=None)  # invalid: counts against the budget, writes nothing
    for _ in range(30):
        assert post_filing(client, data).status_code == 422
    response = post_filing(client, data)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "操作太频繁了" in response.get_data(as_text=True)
    # Another address has its own budget, and reading the form is not limited.
    assert post_filing(client, data, environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 422
    assert client.get("/file").status_code == 200


def test_a_lower_configured_filing_limit_applies(app, client, db):
    configure(app, ratelimit_filing="2 per minute")
    try:
        data = filing_data(client, title=None)
        assert post_filing(client, data).status_code == 422
        assert post_filing(client, data).status_code == 422
        assert post_filing(client, data).status_code == 429
    finally:
        pass


# ---------------------------------------------------------------- look-up


def file_one(client) -> tuple[str, str]:
    post_filing(client, filing_data(client), [(PNG, "现场.png")])
    html = client.get("/filed").get_data(as_text=True)
    return shown_numbers(html)


def lookup(client, tracking_no: str, code: str):
    token = csrf(client, "/track")
    return client.post("/track", data={"csrf_token": token, "tracking_no": tracking_no, "code": code})


def test_lookup_with_the_code_shows_status_unit_deadline_and_timeline(client, db):
    tracking_no, code = file_one(client)
    form = client.get("/track").get_data(as_text=True)
    assert 'method="post"' in form
    response = lookup(client, tracking_no, code)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "已转送责任单位" in html  # status
    assert "县房产服务中心" in html  # unit
    assert "决定是否受理" in html and "法定时限" in html  # deadline
    assert "您的信访事项已登记。" in html and "您的信访事项已转送县房产服务中心。" in html  # timeline
    assert "现场.png" in html  # attachments by name
    assert code not in html, "the code is never echoed back"


def test_lookup_accepts_the_numbers_as_grouped_on_the_result_page(client, db):
    tracking_no, code = file_one(client)
    spaced = f"{tracking_no[:2].lower()} {tracking_no[2:10]} {tracking_no[10:]}"
    response = lookup(client, spaced, f" {code[:4]} {code[4:]} ")
    assert response.status_code == 200
    assert "已转送责任单位" in response.get_data(as_text=True)


def normalized(html: str, *values: str) -> str:
    html = re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', "", html)
    html = re.sub(r'name="csrf_token" value="[^"]+"', "", html)
    for value in values:
        html = html.replace(value, "<typed>")
    return html


def test_wrong_code_answers_exactly_like_an_unknown_tracking_number(client, db):
    tracking_no, code = file_one(client)
    wrong = "0" * 8 if code != "0" * 8 else "1" * 8
    wrong_code = lookup(client, tracking_no, wrong)
    unknown = lookup(client, "XF20990101000000", wrong)
    assert wrong_code.status_code == unknown.status_code == 404
    assert "没有与这个信访编号和查询码相符的事项。" in wrong_code.get_data(as_text=True)
    assert normalized(wrong_code.get_data(as_text=True), tracking_no) == normalized(
        unknown.get_data(as_text=True), "XF20990101000000"
    )
    assert dict(wrong_code.headers).keys() == dict(unknown.headers).keys()


def test_lookup_with_empty_fields_says_which(client):
    response = lookup(client, "", "")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "请填写信访编号。" in field_block(html, "tracking_no")
    assert "请填写查询码。" in field_block(html, "code")


def test_lookup_is_rate_limited(app, client):
    configure(app, ratelimit_lookup="3 per minute")
    try:
        for _ in range(3):
            assert lookup(client, "", "").status_code == 422
        response = lookup(client, "", "")
        assert response.status_code == 429 and "Retry-After" in response.headers
    finally:
        pass


# ---------------------------------------------------------------- accounts


def register(client, phone="+86 139-0000-2222", name="王阿姨", password="long-enough-1", confirm=None):
    token = csrf(client, "/register")
    return client.post(
        "/register",
        data={
            "csrf_token": token,
            "phone": phone,
            "name": name,
            "password": password,
            "confirm": confirm if confirm is not None else password,
        },
    )


def test_register_creates_a_citizen_with_a_hashed_password_then_logs_in(client, db):
    response = register(client)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "注册信息已收到" in html and 'value="13900002222"' in html  # the number, ready to log in
    user = db.session.scalar(select(User).where(User.username == "13900002222"))
    assert user.role == Role.CITIZEN and user.phone == "13900002222" and user.name == "王阿姨"
    assert "long-enough-1" not in user.password_hash and user.check_password("long-enough-1")
    assert client.get("/mine").status_code == 302, "registering does not log in"
    assert log_in(client, "139 0000 2222", "long-enough-1").status_code == 302
    assert "退出登录" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"phone": "1234"}, "phone", "11 位大陆手机号码"),
        ({"phone": ""}, "phone", "请填写手机号码。"),
        ({"name": ""}, "name", "请填写姓名。"),
        ({"password": "short"}, "password", "密码至少要 8 位。"),
        ({"confirm": "something-else"}, "confirm", "两次输入的密码不一样。"),
    ],
)
def test_register_bad_input(client, db, kwargs, field, message):
    before = db.session.scalar(select(func.count(User.id)))
    response = register(client, **kwargs)
    assert response.status_code == 422
    assert message in field_block(response.get_data(as_text=True), field)
    assert db.session.scalar(select(func.count(User.id))) == before


def test_registering_a_number_that_has_an_account_answers_as_for_a_new_one(client, db):
    """Registration tells no more than log-in: the same page, and the account stays as it was."""
    make_citizen(db, phone="13900002222", password="secret-pass-1")
    fresh = register(client, phone="139 0000 3333", password="long-enough-1")
    before = db.session.scalar(select(func.count(User.id)))
    taken = register(client, phone="+86 139-0000-2222", name="冒名者", password="long-enough-1")
    assert taken.status_code == fresh.status_code == 200
    assert normalized(taken.get_data(as_text=True), "13900002222") == normalized(
        fresh.get_data(as_text=True), "13900003333"
    )
    assert db.session.scalar(select(func.count(User.id))) == before
    db.session.expire_all()
    owner = db.session.scalar(select(User).where(User.username == "13900002222"))
    assert owner.name == "李大爷" and owner.check_password("secret-pass-1")
    assert not owner.check_password("long-enough-1")
    assert log_in(client, "13900002222", "long-enough-1").status_code == 401


def test_registration_is_rate_limited(app, client, db, monkeypatch):
    configure(app, ratelimit_register="2 per hour")
    assert register(client, phone="13900003331").status_code == 200
    assert register(client, phone="13900003332").status_code == 200
    refused = register(client, phone="13900003333")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert db.session.scalar(select(User).where(User.username == "13900003333")) is None
    assert client.get("/register").status_code == 200, "the form itself still opens"


def test_login_by_mobile_number_and_bad_login_gives_no_hint(client, db):
    make_citizen(db, phone="13900001111", password="secret-pass-1")
    wrong_password = log_in(client, "13900001111", "nope-nope")
    no_account = log_in(client, "13900009999", "nope-nope")
    assert wrong_password.status_code == no_account.status_code == 401
    for response in (wrong_password, no_account):
        assert "手机号（或用户名）或密码不对" in response.get_data(as_text=True)
    assert normalized(wrong_password.get_data(as_text=True), "13900001111") == normalized(
        no_account.get_data(as_text=True), "13900009999"
    )

    ok = log_in(client, "139 0000 1111", "secret-pass-1")
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/mine")
    assert client.get("/mine").status_code == 200


def test_password_guessing_is_rate_limited(app, client, db):
    make_citizen(db)
    configure(app, ratelimit_lookup="3 per minute")
    try:
        for _ in range(3):
            assert log_in(client, "13900001111", "guess-guess").status_code == 401
        response = log_in(client, "13900001111", "secret-pass-1")
        assert response.status_code == 429 and "Retry-After" in response.headers
        assert client.get("/mine").status_code == 302, "not logged in"
        assert client.get("/login").status_code == 200, "the page itself still opens"
    finally:
        pass


def test_staff_log_in_on_the_same_page(app, client):
    response = log_in(client, "intake", "petition-demo")
    assert response.status_code == 302
    expected = "/staff/" if "staff.index" in app.view_functions else "/"
    assert response.headers["Location"].endswith(expected)
    assert client.get("/mine").status_code == 403, "my petitions is for citizens"


def test_login_never_redirects_to_another_site(client, db):
    make_citizen(db)
    token = csrf(client, "/login")
    response = client.post(
        "/login?next=//evil.example/x",
        data={"csrf_token": token, "username": "13900001111", "password": "secret-pass-1"},
    )
    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]


def test_session_cookie_is_httponly_and_samesite(client, db):
    make_citizen(db)
    response = log_in(client, "13900001111", "secret-pass-1")
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies
    assert "HttpOnly" in cookies[0]
    assert "SameSite=Lax" in cookies[0]


def test_logout_is_a_post_with_csrf(client, db):
    make_citizen(db)
    log_in(client, "13900001111", "secret-pass-1")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/mine").status_code == 200, "still logged in after a forged logout"
    token = csrf(client, "/")
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    mine = client.get("/mine")
    assert mine.status_code == 302 and "/login" in mine.headers["Location"]


# ---------------------------------------------------------------- my petitions


def test_logged_in_citizen_files_with_prefilled_contact_and_sees_it_in_my_petitions(client, db):
    user = make_citizen(db)
    other = make_citizen(db, phone="13900003333", name="别人")
    log_in(client, "13900001111", "secret-pass-1")
    form = client.get("/file").get_data(as_text=True)
    assert 'value="李大爷"' in form and 'value="13900001111"' in form

    post_filing(
        client, filing_data(client, title="第一件", contact_name="李大爷", contact_phone="13900001111")
    )
    client.get("/filed")
    post_filing(
        client,
        filing_data(client, title="第二件", contact_name="李大爷", contact_phone="13900001111"),
        [(PNG, "门口.png")],
    )
    client.get("/filed")
    mine = db.session.scalars(select(Petition).where(Petition.citizen_id == user.id)).all()
    assert len(mine) == 2

    # Someone else's petition never shows.
    other_client = client.application.test_client()
    log_in(other_client, "13900003333", "secret-pass-1")
    post_filing(other_client, filing_data(other_client, title="别人的事", contact_name="别人"))
    assert db.session.scalar(select(func.count(Petition.id)).where(Petition.citizen_id == other.id)) == 1

    page = client.get("/mine")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.index("第二件") < html.index("第一件"), "newest first"
    assert "别人的事" not in html
    assert html.count("您的信访事项已登记。") == 2
    assert "门口.png" in html


def test_my_petitions_needs_login(client):
    response = client.get("/mine")
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


def test_attachment_bytes_only_for_their_citizen(client, db):
    make_citizen(db)
    make_citizen(db, phone="13900003333")
    log_in(client, "13900001111", "secret-pass-1")
    post_filing(client, filing_data(client), [(PNG, "门口.png")])
    petition = db.session.scalars(select(Petition).order_by(Petition.id.desc())).first()
    attachment = petition.attachments[0]
    url = f"/mine/{petition.tracking_no}/attachments/{attachment.id}"
    response = client.get(url)
    assert response.status_code == 200 and response.data == PNG
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"

    stranger = client.application.test_client()
    log_in(stranger, "13900003333", "secret-pass-1")
    assert stranger.get(url).status_code == 404
