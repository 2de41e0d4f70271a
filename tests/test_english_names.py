"""Units and categories may have an English name (name_en): with ?lang=en the pages show it where
one is given, the Chinese name otherwise; the demo county gives every one of them; an
administrator sets it."""

from __future__ import annotations

import re

from sqlalchemy import select

from petitions.extensions import db
from petitions.models import AdminAudit, Category, Unit
from tests.handling import file, logged_in
from tests.test_admin import _csrf, _unit_form, admin, login  # noqa: F401  (the admin fixture)


def test_the_demo_county_names_every_unit_and_category_in_english(app):
    assert db.session.scalar(select(Unit.id).where(Unit.name_en.is_(None))) is None
    assert db.session.scalar(select(Category.id).where(Category.name_en.is_(None))) is None
    jtj = db.session.scalar(select(Unit).where(Unit.code == "jtj"))
    assert jtj.name == "县交通运输局" and jtj.name_en == "County Transport Bureau"


def test_citizen_pages_show_english_names_with_english(client):
    form = client.get("/file?lang=en").get_data(as_text=True)
    assert '<optgroup label="Transport">' in form
    assert ">Road and bridge repairs</option>" in form and ">Dongcheng Sub-district</option>" in form
    assert "道路桥梁维修" not in form and "东城街道" not in form

    petition, code = file()
    token = _csrf(client.get("/track?lang=en").get_data(as_text=True))
    html = client.post(
        "/track", data={"csrf_token": token, "tracking_no": petition.tracking_no, "code": code}
    ).get_data(as_text=True)
    assert "Your petition was sent to County Transport Bureau." in html
    assert "Road and bridge repairs" in html and "Dongcheng Sub-district" in html
    assert "县交通运输局" not in html

    # Back in Chinese, the Chinese names.
    zh = client.get("/file?lang=zh_CN").get_data(as_text=True)
    assert ">道路桥梁维修</option>" in zh and "Road and bridge repairs" not in zh


def test_public_and_staff_pages_show_english_names_with_english(app, client):
    public = client.get("/public/?lang=en").get_data(as_text=True)
    assert "Road and bridge repairs" in public and "County Transport Bureau" in public
    petition, _code = file()
    staff = logged_in(app.test_client(), "jtj-handler")
    html = staff.get(f"/staff/petitions/{petition.tracking_no}?lang=en").get_data(as_text=True)
    facts = re.search(r'<dl class="side-facts">.*?</dl>', html, re.S).group(0)
    assert "Road and bridge repairs" in facts and "Dongcheng Sub-district" in facts
    assert "County Transport Bureau" in facts
    queue = staff.get("/staff/queue?lang=en").get_data(as_text=True)
    assert "Petitions of County Transport Bureau" in queue


def test_a_name_without_an_english_one_stays_chinese(client):
    db.session.execute(Unit.__table__.update().where(Unit.code == "dongcheng").values(name_en=None))
    db.session.commit()
    form = client.get("/file?lang=en").get_data(as_text=True)
    assert ">东城街道</option>" in form and ">Xicheng Sub-district</option>" in form


def test_the_administrator_sets_an_english_name(admin):  # noqa: F811
    response = admin.post("/admin/units/new", _unit_form(name_en="County Sports Centre"))
    assert response.status_code == 302
    unit = db.session.scalar(select(Unit).where(Unit.code == "tsj"))
    assert unit.name_en == "County Sports Centre"
    assert admin.get(f"/admin/units/{unit.id}").get_data(as_text=True).count('value="County Sports Centre"') == 1
    response = admin.post(f"/admin/units/{unit.id}", _unit_form(name_en=""))
    db.session.expire_all()
    assert db.session.get(Unit, unit.id).name_en is None  # cleared: the Chinese name is shown
    audit = db.session.scalars(
        select(AdminAudit).where(AdminAudit.entity_id == unit.id).order_by(AdminAudit.id.desc())
    ).first()
    assert audit.before["name_en"] == "County Sports Centre" and audit.after["name_en"] is None
