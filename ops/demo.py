"""Loading the demo county (idempotent: running it again changes nothing that is there)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from config import demo_county as demo
from petitions.extensions import db
from petitions.models import Category, Role, RoutingRule, Unit, UnitKind, User
from petitions.services import open311_keys


@dataclass
class Loaded:
    units: int = 0
    categories: int = 0
    rules: int = 0
    users: int = 0


def _person(index: int) -> str:
    surname = demo.SURNAMES[index % len(demo.SURNAMES)]
    given = demo.GIVEN[(index * 7) % len(demo.GIVEN)]
    return surname + given


def _unit(code: str, name: str, kind: str, parent: Unit | None, order: int, loaded: Loaded) -> Unit:
    unit = db.session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        unit = Unit(code=code, name=name, kind=kind, parent=parent, sort_order=order, active=True)
        db.session.add(unit)
        loaded.units += 1
    if unit.name_en is None:  # an English name, also for a county loaded before there were any
        unit.name_en = demo.UNIT_NAMES_EN.get(code)
    return unit


def _user(username: str, name: str, role: str, unit: Unit | None, password_hash: str, loaded: Loaded) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, name=name, role=role, unit=unit, active=True)
        user.password_hash = password_hash
        db.session.add(user)
        loaded.users += 1
    elif user.name == f"{name}（负责人）":
        # Demo leaders once carried their role in their name, which notices printed twice.
        user.name = name
    return user


def load(password: str) -> Loaded:
    """Create whatever of the demo county is missing; commit."""
    loaded = Loaded()
    # Every demo account shares one password: hash it once rather than a hundred times.
    password_hash = generate_password_hash(password)
    gov = _unit(*demo.GOVERNMENT, None, 0, loaded)
    bureau = _unit(*demo.BUREAU, gov, 1, loaded)
    discipline = _unit(*demo.DISCIPLINE, gov, 2, loaded)
    units: dict[str, Unit] = {"gov": gov, "xfj": bureau, "jw": discipline}
    order = 10
    for kind, entries in (
        (UnitKind.TOWNSHIP.value, demo.TOWNSHIPS),
        (UnitKind.COMMITTEE.value, demo.COMMITTEES),
        (UnitKind.DEPARTMENT.value, demo.DEPARTMENTS),
    ):
        for code, name in entries:
            units[code] = _unit(code, name, kind, gov, order, loaded)
            order += 1
    db.session.flush()

    places = [units[code] for code, _ in demo.TOWNSHIPS + demo.COMMITTEES]
    for top_order, top in enumerate(demo.CATEGORIES):
        parent = db.session.scalar(select(Category).where(Category.code == top["code"]))
        if parent is None:
            first_kind = top["children"][0][2]
            parent = Category(code=top["code"], name=top["name"], kind=first_kind, sort_order=top_order)
            db.session.add(parent)
            loaded.categories += 1
        if parent.name_en is None:
            parent.name_en = demo.CATEGORY_NAMES_EN.get(top["code"])
        for child_order, (code, name, kind, keywords, handled_by, limits) in enumerate(top["children"]):
            category = db.session.scalar(select(Category).where(Category.code == code))
            if category is None:
                category = Category(
                    code=code,
                    name=name,
                    kind=kind,
                    parent=parent,
                    keywords=keywords,
                    sort_order=child_order,
                    description=f"{name}方面的信访事项。",
                )
                if limits:
                    category.accept_days_committed, category.handle_days_committed = limits
                db.session.add(category)
                db.session.flush()
                loaded.categories += 1
                loaded.rules += _rules_for(category, handled_by, units, places)
            if category.name_en is None:
                category.name_en = demo.CATEGORY_NAMES_EN.get(code)
    db.session.flush()

    for username, name, role, unit_code in demo.STAFF_ACCOUNTS:
        _user(username, name, role, units.get(unit_code) if unit_code else None, password_hash, loaded)
    for index, unit in enumerate(units.values()):
        leader = _user(f"{unit.code}-leader", _person(2 * index), Role.LEADER.value, unit, password_hash, loaded)
        _user(f"{unit.code}-handler", _person(2 * index + 1), Role.HANDLER.value, unit, password_hash, loaded)
        if unit.leader_id is None:
            db.session.flush()
            unit.leader_id = leader.id
    # The demo Open311 client's api_key, `demo-open311-key`.
    open311_keys.ensure_demo_key()
    db.session.commit()
    return loaded


def _rules_for(category: Category, handled_by: str, units: dict[str, Unit], places: list[Unit]) -> int:
    if handled_by == "township":
        # The place concerned handles it itself: one rule per township or committee.
        for place in places:
            db.session.add(RoutingRule(category=category, township=place, unit=place, priority=10))
        return len(places)
    db.session.add(RoutingRule(category=category, township=None, unit=units[handled_by], priority=10))
    return 1
