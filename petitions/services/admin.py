"""The administrator's changes to units, categories, routing rules and users.

Each function checks everything first and raises ValidationFailed naming the bad fields,
writing nothing; otherwise it makes the change and its `AdminAudit` row (who, what, when,
before and after) in one transaction and commits. Nothing is ever deleted: petitions and
their history refer to these rows, so they are deactivated instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from petitions.domain.clocks import now
from petitions.domain.errors import ValidationFailed
from petitions.domain.validation import CODE_PATTERN, USERNAME_PATTERN, is_mainland_mobile, normalize_mobile
from petitions.extensions import db
from petitions.i18n import lazy_gettext as _l
from petitions.models import (
    AdminAudit,
    Category,
    CategoryKind,
    Role,
    RoutingRule,
    Unit,
    UnitKind,
    User,
)
from petitions.services import reference

CODE_RE = re.compile(CODE_PATTERN)
USERNAME_RE = re.compile(USERNAME_PATTERN)
PLACE_KINDS = (UnitKind.TOWNSHIP.value, UnitKind.COMMITTEE.value)
# Roles whose work is always for one unit.
UNIT_ROLES = (Role.HANDLER.value, Role.LEADER.value)
PASSWORD_MIN = 8
MAX_DAYS = 365

Entity = Unit | Category | RoutingRule | User

_SNAPSHOT_COLUMNS: dict[type, tuple[str, ...]] = {
    Unit: ("code", "name", "name_en", "kind", "parent_id", "leader_id", "address", "phone", "sort_order", "active"),
    Category: (
        "code",
        "name",
        "name_en",
        "kind",
        "parent_id",
        "keywords",
        "description",
        "accept_days_statutory",
        "accept_days_committed",
        "handle_days_statutory",
        "handle_days_committed",
        "sort_order",
        "active",
    ),
    RoutingRule: ("category_id", "township_id", "unit_id", "priority", "active"),
    # Never the password hash.
    User: ("username", "name", "phone", "role", "unit_id", "active"),
}
_ENTITY_NAMES = {Unit: "unit", Category: "category", RoutingRule: "routing_rule", User: "user"}


def snapshot(obj: Entity) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in _SNAPSHOT_COLUMNS[type(obj)]}


def _audit(actor: User, obj: Entity, action: str, before: dict | None, after: dict | None) -> AdminAudit:
    row = AdminAudit(
        at=now(),
        actor_id=actor.id,
        entity=_ENTITY_NAMES[type(obj)],
        entity_id=obj.id,
        action=action,
        before=before,
        after=after,
    )
    db.session.add(row)
    return row


def _fail(errors: dict[str, object]) -> None:
    if errors:
        raise ValidationFailed(_l("Some fields need correcting."), errors)


def _clean(value: str | None) -> str:
    return (value or "").strip()


def _save(actor: User, obj: Entity, before: dict | None, action: str | None = None) -> Entity:
    """Flush, audit the difference, commit."""
    if before is None:
        db.session.add(obj)
    db.session.flush()
    after = snapshot(obj)
    if before is not None and after == before and action is None:
        db.session.rollback()
        return obj
    _audit(actor, obj, action or ("create" if before is None else "update"), before, after)
    db.session.commit()
    # Filing reads categories, units and rules from a cache: this process forgets it at once.
    reference.invalidate()
    return obj


def _taken(model: type, column, value: str, own_id: int | None) -> bool:
    stmt = select(func.count()).select_from(model).where(func.lower(column) == value.lower())
    if own_id is not None:
        stmt = stmt.where(model.id != own_id)
    return bool(db.session.scalar(stmt))


# ------------------------------------------------------------------ units


@dataclass
class UnitData:
    code: str
    name: str
    kind: str
    name_en: str = ""
    parent_id: int | None = None
    leader_id: int | None = None
    address: str = ""
    phone: str = ""
    sort_order: int = 0
    active: bool = True


def _ancestors(unit: Unit | None) -> set[int]:
    seen: set[int] = set()
    while unit is not None and unit.id not in seen:
        seen.add(unit.id)
        unit = unit.parent
    return seen


def save_unit(actor: User, unit: Unit | None, data: UnitData) -> Unit:
    """Create (`unit` None) or edit a unit (单位)."""
    errors: dict[str, object] = {}
    code = _clean(data.code).lower()
    own_id = unit.id if unit else None
    if not CODE_RE.match(code):
        errors["code"] = _l("Use 1–32 lower-case letters, digits, “-” or “_”.")
    elif _taken(Unit, Unit.code, code, own_id):
        errors["code"] = _l("Another unit already has this code.")
    if not _clean(data.name):
        errors["name"] = _l("Please enter the unit's name.")
    if data.kind not in UnitKind.values():
        errors["kind"] = _l("Choose a kind of unit.")
    parent = db.session.get(Unit, data.parent_id) if data.parent_id else None
    if data.parent_id and parent is None:
        errors["parent_id"] = _l("Choose an existing unit.")
    elif parent is not None and own_id is not None and own_id in _ancestors(parent):
        errors["parent_id"] = _l("A unit cannot sit under itself.")
    leader = db.session.get(User, data.leader_id) if data.leader_id else None
    if data.leader_id:
        if leader is None or leader.role != Role.LEADER or own_id is None or leader.unit_id != own_id:
            errors["leader_id"] = _l("The leader must be a leader account of this unit.")
        elif not leader.active:
            errors["leader_id"] = _l("This account is deactivated.")
    _fail(errors)

    before = snapshot(unit) if unit else None
    unit = unit or Unit()
    unit.code = code
    unit.name = _clean(data.name)
    unit.name_en = _clean(data.name_en) or None
    unit.kind = data.kind
    unit.parent = parent
    unit.leader = leader
    unit.address = _clean(data.address) or None
    unit.phone = _clean(data.phone) or None
    unit.sort_order = data.sort_order or 0
    unit.active = bool(data.active)
    return _save(actor, unit, before)  # type: ignore[return-value]


# ------------------------------------------------------------------ categories


@dataclass
class CategoryData:
    code: str
    name: str
    kind: str
    name_en: str = ""
    parent_id: int | None = None
    keywords: str = ""
    description: str = ""
    accept_days_statutory: int | None = None
    accept_days_committed: int | None = None
    handle_days_statutory: int | None = None
    handle_days_committed: int | None = None
    sort_order: int = 0
    active: bool = True


def _routes_elsewhere_than_discipline(category: Category) -> bool:
    stmt = (
        select(func.count())
        .select_from(RoutingRule)
        .join(Unit, Unit.id == RoutingRule.unit_id)
        .where(
            RoutingRule.category_id == category.id,
            RoutingRule.active.is_(True),
            Unit.kind != UnitKind.DISCIPLINE.value,
        )
    )
    return bool(db.session.scalar(stmt))


def save_category(actor: User, category: Category | None, data: CategoryData) -> Category:
    """Create or edit a subject (信访事项分类) with its kind, keywords and limits."""
    errors: dict[str, object] = {}
    code = _clean(data.code).lower()
    own_id = category.id if category else None
    if not CODE_RE.match(code):
        errors["code"] = _l("Use 1–32 lower-case letters, digits, “-” or “_”.")
    elif _taken(Category, Category.code, code, own_id):
        errors["code"] = _l("Another category already has this code.")
    if not _clean(data.name):
        errors["name"] = _l("Please enter the category's name.")
    if data.kind not in CategoryKind.values():
        errors["kind"] = _l("Choose a kind of petition.")
    parent = db.session.get(Category, data.parent_id) if data.parent_id else None
    if data.parent_id and parent is None:
        errors["parent_id"] = _l("Choose an existing category.")
    elif parent is not None and (parent.parent_id is not None or parent.id == own_id):
        errors["parent_id"] = _l("Subjects have two levels: choose a top-level category.")
    elif parent is not None and category is not None and category.children:
        errors["parent_id"] = _l("This category has subcategories and must stay at the top level.")
    for kind in ("accept", "handle"):
        statutory = getattr(data, f"{kind}_days_statutory")
        committed = getattr(data, f"{kind}_days_committed")
        for name, value in ((f"{kind}_days_statutory", statutory), (f"{kind}_days_committed", committed)):
            if value is not None and not 1 <= value <= MAX_DAYS:
                errors[name] = _l("Between 1 and %(max)s days, or empty for the default.", max=MAX_DAYS)
        if (
            statutory is not None
            and committed is not None
            and f"{kind}_days_committed" not in errors
            and committed > statutory
        ):
            errors[f"{kind}_days_committed"] = _l(
                "The committed limit cannot be longer than the statutory one."
            )
    if (
        category is not None
        and data.kind == CategoryKind.REPORT
        and category.kind != CategoryKind.REPORT
        and _routes_elsewhere_than_discipline(category)
    ):
        errors["kind"] = _l(
            "Reports go to the discipline office only: change this category's routing rules first."
        )
    _fail(errors)

    before = snapshot(category) if category else None
    category = category or Category()
    category.code = code
    category.name = _clean(data.name)
    category.name_en = _clean(data.name_en) or None
    category.kind = data.kind
    category.parent = parent
    category.keywords = _clean(data.keywords)
    category.description = _clean(data.description)
    category.accept_days_statutory = data.accept_days_statutory
    category.accept_days_committed = data.accept_days_committed
    category.handle_days_statutory = data.handle_days_statutory
    category.handle_days_committed = data.handle_days_committed
    category.sort_order = data.sort_order or 0
    category.active = bool(data.active)
    return _save(actor, category, before)  # type: ignore[return-value]


# ------------------------------------------------------------------ routing rules


@dataclass
class RuleData:
    unit_id: int | None
    category_id: int | None = None
    township_id: int | None = None
    priority: int = 0
    active: bool = True


def _rule_errors(data: RuleData) -> tuple[dict[str, object], Category | None, Unit | None, Unit | None]:
    errors: dict[str, object] = {}
    category = db.session.get(Category, data.category_id) if data.category_id else None
    if data.category_id and category is None:
        errors["category_id"] = _l("Choose an existing category.")
    township = db.session.get(Unit, data.township_id) if data.township_id else None
    if data.township_id and (township is None or township.kind not in PLACE_KINDS):
        errors["township_id"] = _l("Choose a township or an urban management committee.")
    unit = db.session.get(Unit, data.unit_id) if data.unit_id else None
    if unit is None:
        errors["unit_id"] = _l("Choose the unit that handles these petitions.")
    elif data.active and not unit.active:
        errors["unit_id"] = _l("This unit is deactivated: petitions cannot be routed to it.")
    elif category is not None and category.kind == CategoryKind.REPORT and unit.kind != UnitKind.DISCIPLINE:
        # A reported unit must never receive the report (domain.md, 检举控告类).
        errors["unit_id"] = _l("Reports may be routed to the discipline office only.")
    return errors, category, township, unit


def save_rule(actor: User, rule: RoutingRule | None, data: RuleData) -> RoutingRule:
    """Create or edit a routing rule (category × township → unit)."""
    errors, category, township, unit = _rule_errors(data)
    if data.priority is None or not -1000 <= data.priority <= 1000:
        errors["priority"] = _l("A whole number between -1000 and 1000.")
    _fail(errors)

    before = snapshot(rule) if rule else None
    rule = rule or RoutingRule()
    rule.category = category
    rule.township = township
    rule.unit = unit  # type: ignore[assignment]
    rule.priority = data.priority
    rule.active = bool(data.active)
    return _save(actor, rule, before)  # type: ignore[return-value]


# ------------------------------------------------------------------ users


@dataclass
class UserData:
    username: str
    name: str
    role: str
    unit_id: int | None = None
    phone: str = ""
    active: bool = True
    password: str = ""


def save_user(actor: User, user: User | None, data: UserData) -> User:
    """Create or edit an account; a password given sets a new one (a reset when editing)."""
    errors: dict[str, object] = {}
    username = _clean(data.username)
    own_id = user.id if user else None
    if not USERNAME_RE.match(username):
        errors["username"] = _l("Use 2–64 letters, digits, “.”, “-” or “_”.")
    elif _taken(User, User.username, username, own_id):
        errors["username"] = _l("This user name is taken.")
    if not _clean(data.name):
        errors["name"] = _l("Please enter the person's name.")
    phone = normalize_mobile(data.phone) if _clean(data.phone) else ""
    if phone and not is_mainland_mobile(phone):
        errors["phone"] = _l("Please enter an 11-digit mobile number.")
    if data.role not in Role.values():
        errors["role"] = _l("Choose a role.")
    unit = db.session.get(Unit, data.unit_id) if data.unit_id else None
    if data.unit_id and unit is None:
        errors["unit_id"] = _l("Choose an existing unit.")
    elif unit is None and data.role in UNIT_ROLES:
        errors["unit_id"] = _l("Handlers and leaders must belong to a unit.")
    elif unit is not None and not unit.active and (user is None or user.unit_id != unit.id):
        errors["unit_id"] = _l("This unit is deactivated.")
    # A new account needs a password; an existing one keeps its own unless a new one is given.
    if (user is None or data.password) and len(data.password or "") < PASSWORD_MIN:
        errors["password"] = _l("At least %(n)s characters.", n=PASSWORD_MIN)
    if user is not None and user.id == actor.id:
        # An administrator cannot lock themselves out.
        if not data.active:
            errors["active"] = _l("You cannot deactivate your own account.")
        if data.role != Role.ADMIN:
            errors["role"] = _l("You cannot take away your own administrator role.")
    _fail(errors)

    before = snapshot(user) if user else None
    user = user or User()
    user.username = username
    user.name = _clean(data.name)
    user.phone = phone or None
    user.role = data.role
    user.unit = unit
    user.active = bool(data.active)
    if data.password:
        user.set_password(data.password)
    if before is not None and data.password:
        # A password reset is a change of its own even when nothing else moved.
        db.session.flush()
        after = snapshot(user)
        if after != before:
            _audit(actor, user, "update", before, after)
        _audit(actor, user, "reset_password", None, None)
        db.session.commit()
        return user
    return _save(actor, user, before)  # type: ignore[return-value]


# ------------------------------------------------------------------ activation


def set_active(actor: User, obj: Entity, active: bool) -> Entity:
    """Deactivate (never delete) or reactivate a unit, category, rule or user."""
    errors: dict[str, object] = {}
    if isinstance(obj, User) and obj.id == actor.id and not active:
        errors["active"] = _l("You cannot deactivate your own account.")
    if isinstance(obj, RoutingRule) and active:
        errors.update(
            _rule_errors(RuleData(obj.unit_id, obj.category_id, obj.township_id, obj.priority, True))[0]
        )
    if isinstance(obj, User) and active and obj.unit is not None and not obj.unit.active:
        errors["unit_id"] = _l("This unit is deactivated.")
    _fail(errors)
    if bool(obj.active) == bool(active):
        return obj
    before = snapshot(obj)
    obj.active = bool(active)
    return _save(actor, obj, before, "activate" if active else "deactivate")
