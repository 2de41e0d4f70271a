"""Every staff-facing page (staff, supervision, administration, and their error pages) shares the
staff layout: the staff styles and menu, who is logged in, the staff footer, never the citizen's;
records are bordered tables whose every column has a name, and their actions are buttons."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from petitions.extensions import db
from petitions.models import Category, Unit, User
from tests.handling import act, file, logged_in, user

CITIZEN_FOOTER = "您也可以写信、打电话或直接到信访局来"


def _staff_pages() -> list[tuple[str, str]]:
    petition, _code = file()
    act(petition, "accept", "jtj-handler")
    jtj = db.session.scalar(select(Unit).where(Unit.code == "jtj"))
    category = db.session.scalar(select(Category).where(Category.code == "jtys-dl"))
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    no = petition.tracking_no
    return [
        ("jtj-handler", "/staff/queue"),
        ("jtj-handler", f"/staff/petitions/{no}"),
        ("jtj-handler", "/staff/petitions/XF-NO-SUCH"),  # the error page too
        ("jtj-leader", "/staff/inbox"),
        ("jtj-leader", "/supervision/rankings"),
        ("jtj-leader", "/supervision/units/jtj"),
        ("intake", "/staff/intake"),
        ("intake", "/staff/intake/new"),
        ("supervisor", "/supervision/"),
        ("supervisor", "/supervision/rankings"),
        ("supervisor", f"/supervision/units/{jtj.code}"),
        ("supervisor", "/supervision/units/no-such-unit"),
        ("admin", "/admin/"),
        ("admin", "/admin/units"),
        ("admin", f"/admin/units/{jtj.id}"),
        ("admin", "/admin/units/new"),
        ("admin", "/admin/categories"),
        ("admin", f"/admin/categories/{category.id}"),
        ("admin", "/admin/rules"),
        ("admin", "/admin/users"),
        ("admin", f"/admin/users/{admin.id}"),
        ("admin", "/admin/calendar"),
        ("admin", "/admin/open311"),
        ("admin", "/admin/security"),
        ("admin", "/admin/units/999999"),
    ]


def test_every_staff_facing_page_has_the_staff_layout(app):
    for who, path in _staff_pages():
        client = logged_in(app.test_client(), who)
        response = client.get(path)
        html = response.get_data(as_text=True)
        assert response.mimetype == "text/html", path
        assert "/static/staff.css" in html, path
        assert 'class="site-nav staff-nav"' in html, path
        # Who is logged in, by name and role.
        me = user(who)
        who_line = re.search(r'<li class="who" id="who">(.*?)</li>', html, re.S)
        assert who_line and me.name in who_line.group(1), path
        assert CITIZEN_FOOTER not in html, path
        assert "工作人员页面" in html, path  # the staff footer


def test_staff_tables_are_bordered_named_and_act_with_buttons(app):
    for who, path in _staff_pages():
        client = logged_in(app.test_client(), who)
        html = client.get(path).get_data(as_text=True)
        for table in re.findall(r"<table\b[^>]*>", html):
            assert re.search(r'class="[^"]*\b(table|queue)\b', table), (path, table)
        # No empty column header, no bare default-styled button, no action styled as a link.
        assert not re.search(r"<th[^>]*>\s*</th>", html), path
        for button in re.findall(r"<button\b[^>]*>", html):
            assert 'class="' in button, (path, button)
        assert 'class="link">停用' not in html and 'class="link">Deactivate' not in html, path


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_deactivate_reads_as_an_action_that_names_its_object(app, lang):
    client = logged_in(app.test_client(), "admin")
    html = client.get(f"/admin/units?lang={lang}").get_data(as_text=True)
    word = "停用" if lang == "zh_CN" else "Deactivate"
    state = "启用" if lang == "zh_CN" else "Active"
    assert re.search(rf'<button type="submit" class="button[^"]*">{word}<span class="visually-hidden"> 东城街道</span>', html)
    assert f'<span class="state state-active">{state}</span>' in html
