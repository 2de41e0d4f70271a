"""The administrator's area: units, categories, routing rules and accounts are created,
edited and deactivated (never deleted), every change is audited, bad input is refused with a
message beside the field and nothing written, and nobody but an administrator gets in."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from petitions.domain.errors import ValidationFailed
from petitions.extensions import db
from petitions.models import AdminAudit, Category, RoutingRule, Unit, User
from petitions.services import reference
from petitions.services.filing import Filing, file_petition
from tests.conftest import DEMO_PASSWORD


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


@pytest.fixture()
def admin(app, client, demo_user):
    """A client logged in as the demo administrator; `post` sends a form with its CSRF token."""
    login(client, app, demo_user("admin"))

    class Admin:
        def get(self, url, **kw):
            return client.get(url, **kw)

        def post(self, url, data):
            token = _csrf(client.get("/admin/units/new").get_data(as_text=True))
            return client.post(url, data={**data, "csrf_token": token})

    return Admin()


def _one(model, **where):
    return db.session.scalar(select(model).filter_by(**where))


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _audits(entity: str, entity_id: int) -> list[AdminAudit]:
    return list(
        db.session.scalars(
            select(AdminAudit)
            .where(AdminAudit.entity == entity, AdminAudit.entity_id == entity_id)
            .order_by(AdminAudit.id)
        )
    )


def _unit_form(**over) -> dict:
    gov = _one(Unit, code="gov")
    data = {
        "code": "tsj",
        "name": "县体育事业发展中心",
        "kind": "department",
        "parent_id": str(gov.id),
        "leader_id": "0",
        "address": "",
        "phone": "",
        "sort_order": "90",
        "active": "y",
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def _fresh() -> None:
    db.session.expire_all()


# ------------------------------------------------------------------ units


def test_admin_creates_edits_and_deactivates_a_unit(admin, demo_user):
    response = admin.post("/admin/units/new", _unit_form())
    assert response.status_code == 302
    unit = _one(Unit, code="tsj")
    assert unit.name == "县体育事业发展中心" and unit.kind == "department" and unit.active
    assert "县体育事业发展中心" in admin.get("/admin/units?q=tsj").get_data(as_text=True)

    response = admin.post(f"/admin/units/{unit.id}", _unit_form(name="县体育发展中心", phone="0571-1234567"))
    assert response.status_code == 302
    _fresh()
    assert unit.name == "县体育发展中心" and unit.phone == "0571-1234567"

    response = admin.post(f"/admin/units/{unit.id}/active", {"active": "0"})
    assert response.status_code == 302
    _fresh()
    assert unit.active is False
    assert _one(Unit, code="tsj") is not None  # deactivated, never deleted

    entries = _audits("unit", unit.id)
    assert [e.action for e in entries] == ["create", "update", "deactivate"]
    admin_user = demo_user("admin")
    assert all(e.actor_id == admin_user.id and e.at is not None for e in entries)
    assert entries[0].before is None and entries[0].after["name"] == "县体育事业发展中心"
    assert entries[1].before["name"] == "县体育事业发展中心" and entries[1].after["name"] == "县体育发展中心"
    assert entries[2].before["active"] is True and entries[2].after["active"] is False
    # The change shows on the unit's page.
    assert "县体育发展中心" in admin.get(f"/admin/units/{unit.id}").get_data(as_text=True)


def test_a_unit_leader_must_be_a_leader_of_that_unit(admin, demo_user):
    admin.post("/admin/units/new", _unit_form())
    unit = _one(Unit, code="tsj")
    other_leader = demo_user("jtj-leader")
    before = _count(AdminAudit)
    response = admin.post(f"/admin/units/{unit.id}", _unit_form(leader_id=str(other_leader.id)))
    # Not even offered as a choice for this unit.
    assert response.status_code == 422
    _fresh()
    assert unit.leader_id is None and _count(AdminAudit) == before


@pytest.mark.parametrize(
    ("over", "field", "message"),
    [
        ({"code": "jtj"}, "code", "Another unit already has this code"),
        ({"code": "Bad Code!"}, "code", "lower-case letters"),
        ({"name": ""}, "name", "Please enter a name"),
        ({"kind": "embassy"}, "kind", "Not a valid choice"),
    ],
)
def test_bad_unit_input_is_refused_and_nothing_written(admin, over, field, message):
    units, audits = _count(Unit), _count(AdminAudit)
    response = admin.post("/admin/units/new?lang=en", _unit_form(**over))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html and message in html
    assert _count(Unit) == units and _count(AdminAudit) == audits


# ------------------------------------------------------------------ categories


def _category_form(**over) -> dict:
    parent = _one(Category, code="jtys")
    data = {
        "code": "jtys-tc",
        "name": "停车收费",
        "kind": "grievance",
        "parent_id": str(parent.id),
        "keywords": "停车,收费",
        "description": "停车收费方面的信访事项。",
        "accept_days_statutory": "15",
        "accept_days_committed": "5",
        "handle_days_statutory": "60",
        "handle_days_committed": "20",
        "sort_order": "9",
        "active": "y",
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def test_admin_creates_edits_and_deactivates_a_category(admin):
    assert admin.post("/admin/categories/new", _category_form()).status_code == 302
    category = _one(Category, code="jtys-tc")
    assert category.parent.code == "jtys" and category.handle_days_committed == 20
    assert category.keyword_list() == ["停车", "收费"]

    response = admin.post(
        f"/admin/categories/{category.id}", _category_form(handle_days_committed="", name="停车管理")
    )
    assert response.status_code == 302
    _fresh()
    assert category.name == "停车管理" and category.handle_days_committed is None  # back to the default

    assert admin.post(f"/admin/categories/{category.id}/active", {"active": "0"}).status_code == 302
    _fresh()
    assert category.active is False
    assert [e.action for e in _audits("category", category.id)] == ["create", "update", "deactivate"]
    # A deactivated category takes no new petitions.
    with pytest.raises(ValidationFailed) as refused:
        file_petition(
            Filing(
                title="停车",
                content="停车收费太贵",
                category="jtys-tc",
                township="dongcheng",
                contact_name="张三",
                contact_phone="13800138000",
            )
        )
    assert set(refused.value.fields) == {"category"}


@pytest.mark.parametrize(
    ("over", "field", "message"),
    [
        ({"code": "jtys-dl"}, "code", "Another category already has this code"),
        ({"handle_days_committed": "90"}, "handle_days_committed", "cannot be longer than the statutory one"),
        ({"accept_days_statutory": "0"}, "accept_days_statutory", "Between 1 and 365 days"),
        ({"kind": ""}, "kind", "Not a valid choice"),
    ],
)
def test_bad_category_input_is_refused_and_nothing_written(admin, over, field, message):
    categories, audits = _count(Category), _count(AdminAudit)
    response = admin.post("/admin/categories/new?lang=en", _category_form(**over))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html and message in html
    assert _count(Category) == categories and _count(AdminAudit) == audits


# ------------------------------------------------------------------ routing rules


def _rule_form(category: Category, township: Unit | None, unit: Unit, **over) -> dict:
    data = {
        "category_id": str(category.id),
        "township_id": str(township.id if township else 0),
        "unit_id": str(unit.id),
        "priority": "100",
        "active": "y",
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def test_admin_creates_edits_and_deactivates_a_rule_and_sees_where_petitions_go(admin):
    admin.post("/admin/units/new", _unit_form())
    tsj = _one(Unit, code="tsj")
    road = _one(Category, code="jtys-dl")
    dongcheng = _one(Unit, code="dongcheng")
    preview = f"/admin/rules?category={road.id}&township={dongcheng.id}&lang=en"
    assert "县交通运输局" in admin.get(preview).get_data(as_text=True)

    assert admin.post("/admin/rules/new", _rule_form(road, dongcheng, tsj)).status_code == 302
    rule = db.session.scalar(select(RoutingRule).where(RoutingRule.unit_id == tsj.id))
    assert rule.category_id == road.id and rule.township_id == dongcheng.id and rule.priority == 100
    assert reference.route_for(road, dongcheng).code == "tsj"
    assert "goes to: 县体育事业发展中心" in admin.get(preview).get_data(as_text=True)

    assert (
        admin.post(f"/admin/rules/{rule.id}", _rule_form(road, dongcheng, tsj, priority="50")).status_code
        == 302
    )
    _fresh()
    assert rule.priority == 50

    assert admin.post(f"/admin/rules/{rule.id}/active", {"active": "0"}).status_code == 302
    _fresh()
    assert rule.active is False
    assert reference.route_for(road, dongcheng).code == "jtj"
    assert [e.action for e in _audits("routing_rule", rule.id)] == ["create", "update", "deactivate"]


def test_a_rule_for_one_place_routes_that_place_alone(admin):
    """The rule that decides (category, place), kept per pair, is the pair's own: a rule for
    one township does not send the same category elsewhere or without a place there."""
    admin.post("/admin/units/new", _unit_form())
    tsj, road, dongcheng = _one(Unit, code="tsj"), _one(Category, code="jtys-dl"), _one(Unit, code="dongcheng")
    other = db.session.scalar(select(Unit).where(Unit.kind == "township", Unit.code != "dongcheng").limit(1))
    assert reference.route_for(road, other).code == "jtj"
    assert admin.post("/admin/rules/new", _rule_form(road, dongcheng, tsj)).status_code == 302
    for _ in range(2):
        assert reference.route_for(road, other).code == "jtj"
        assert reference.route_for(road, dongcheng).code == "tsj"
        assert reference.route_for(road, None).code == "jtj"


def test_a_deactivated_unit_no_longer_receives_routed_petitions(admin):
    admin.post("/admin/units/new", _unit_form())
    tsj = _one(Unit, code="tsj")
    road = _one(Category, code="jtys-dl")
    dongcheng = _one(Unit, code="dongcheng")
    admin.post("/admin/rules/new", _rule_form(road, dongcheng, tsj))

    def file() -> str:
        filing = Filing(
            title="路面塌陷",
            content="东城街道路面塌陷，请尽快修复。",
            category="jtys-dl",
            township="dongcheng",
            contact_name="张三",
            contact_phone="13800138000",
        )
        return file_petition(filing).petition.unit.code

    assert file() == "tsj"
    assert admin.post(f"/admin/units/{tsj.id}/active", {"active": "0"}).status_code == 302
    _fresh()
    assert file() == "jtj"  # the next rule in line takes over
    # ... and a rule cannot be pointed at it, nor switched back on, while it is deactivated.
    rules, audits = _count(RoutingRule), _count(AdminAudit)
    response = admin.post("/admin/rules/new?lang=en", _rule_form(road, None, tsj))
    assert response.status_code == 422
    assert "This unit is deactivated" in response.get_data(as_text=True)
    assert _count(RoutingRule) == rules and _count(AdminAudit) == audits


def test_a_report_category_may_be_routed_to_the_discipline_office_only(admin):
    report = _one(Category, code="jjkg-zf")
    jtj, jw = _one(Unit, code="jtj"), _one(Unit, code="jw")
    rules, audits = _count(RoutingRule), _count(AdminAudit)
    response = admin.post("/admin/rules/new?lang=en", _rule_form(report, None, jtj))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="unit_id-error"' in html and "discipline office only" in html
    assert _count(RoutingRule) == rules and _count(AdminAudit) == audits
    assert admin.post("/admin/rules/new", _rule_form(report, None, jw, priority="5")).status_code == 302
    assert _count(RoutingRule) == rules + 1


def test_a_category_with_rules_elsewhere_cannot_become_a_report_category(admin):
    admin.post("/admin/categories/new", _category_form())
    category = _one(Category, code="jtys-tc")
    admin.post("/admin/rules/new", _rule_form(category, None, _one(Unit, code="jtj")))
    audits = _count(AdminAudit)
    response = admin.post(f"/admin/categories/{category.id}?lang=en", _category_form(kind="report"))
    assert response.status_code == 422
    assert "Reports go to the discipline office only" in response.get_data(as_text=True)
    _fresh()
    assert category.kind == "grievance" and _count(AdminAudit) == audits


# ------------------------------------------------------------------ accounts


def _user_form(**over) -> dict:
    jtj = _one(Unit, code="jtj")
    data = {
        "username": "jtj-clerk",
        "name": "陈晓",
        "phone": "13700137000",
        "role": "handler",
        "unit_id": str(jtj.id),
        "active": "y",
        "password": "first-pass-1",
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def test_admin_creates_edits_resets_and_deactivates_an_account(admin):
    assert admin.post("/admin/users/new", _user_form()).status_code == 302
    user = _one(User, username="jtj-clerk")
    assert user.role == "handler" and user.unit.code == "jtj" and user.check_password("first-pass-1")
    assert "first-pass-1" not in str([e.after for e in _audits("user", user.id)])

    # Editing without a password keeps it; with one, resets it.
    assert admin.post(f"/admin/users/{user.id}", _user_form(name="陈晓明", password="")).status_code == 302
    _fresh()
    assert user.name == "陈晓明" and user.check_password("first-pass-1")
    assert (
        admin.post(f"/admin/users/{user.id}", _user_form(name="陈晓明", password="second-pass-2")).status_code
        == 302
    )
    _fresh()
    assert user.check_password("second-pass-2") and not user.check_password("first-pass-1")

    assert admin.post(f"/admin/users/{user.id}/active", {"active": "0"}).status_code == 302
    _fresh()
    assert user.active is False
    actions = [e.action for e in _audits("user", user.id)]
    assert actions == ["create", "update", "reset_password", "deactivate"]
    assert all("password_hash" not in (e.after or {}) for e in _audits("user", user.id))


@pytest.mark.parametrize(
    ("over", "field", "message"),
    [
        ({"username": "jtj-handler"}, "username", "This user name is taken"),
        ({"unit_id": "0"}, "unit_id", "Handlers and leaders must belong to a unit"),
        ({"role": "leader", "unit_id": "0"}, "unit_id", "Handlers and leaders must belong to a unit"),
        ({"password": "short"}, "password", "At least 8 characters"),
        ({"phone": "12345"}, "phone", "11-digit mobile number"),
    ],
)
def test_bad_account_input_is_refused_and_nothing_written(admin, over, field, message):
    users, audits = _count(User), _count(AdminAudit)
    response = admin.post("/admin/users/new?lang=en", _user_form(**over))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html and message in html
    assert _count(User) == users and _count(AdminAudit) == audits


def test_an_administrator_cannot_lock_themselves_out(admin, demo_user):
    me = demo_user("admin")
    response = admin.post(f"/admin/users/{me.id}/active", {"active": "0"})
    assert response.status_code == 302
    _fresh()
    assert me.active is True


# ------------------------------------------------------------------ who gets in


def test_nobody_but_an_administrator_gets_in(app, client, demo_user):
    anonymous = client.get("/admin/")
    assert anonymous.status_code in (302, 401)
    if anonymous.status_code == 302:
        assert "/login" in anonymous.headers["Location"]
    for username in ("intake", "supervisor", "jtj-handler", "jtj-leader", "xfj-leader"):
        other = app.test_client()
        login(other, app, demo_user(username))
        for url in ("/admin/", "/admin/units", "/admin/units/new", "/admin/users", "/admin/rules"):
            assert other.get(url).status_code == 404, (username, url)
        units = _count(Unit)
        token = _csrf(other.get("/").get_data(as_text=True)) if "citizen.index" in app.view_functions else ""
        refused = other.post("/admin/units/new", data={**_unit_form(), "csrf_token": token})
        assert refused.status_code == 404, username
        assert _count(Unit) == units
