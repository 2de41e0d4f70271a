"""Routes of the admin face: units, categories, routing rules and users (administrators only).

Each page parses its form, calls one function of `petitions.services.admin`, and renders.
Anyone else gets the login page (not logged in) or a 404 (logged in without the role), so
the area does not even show that it exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

from petitions.domain.errors import ValidationFailed
from petitions.extensions import db, login_manager
from petitions.i18n import gettext as _
from petitions.i18n import lazy_gettext as _l
from petitions.models import AdminAudit, Category, Role, RoutingRule, Unit, UnitKind, User
from petitions.services import admin as changes
from petitions.services import reference
from petitions.web.admin.blueprint import bp
from petitions.web.admin.forms import (
    CATEGORY_KIND_LABELS,
    NONE,
    ROLE_LABELS,
    UNIT_KIND_LABELS,
    CategoryForm,
    PreviewForm,
    RuleForm,
    UnitForm,
    UserForm,
)
from petitions.web.forms import put_errors

PER_PAGE = 50


@bp.before_request
def admins_only():
    if not current_user.is_authenticated:
        if login_manager.login_view not in current_app.view_functions:
            abort(401)
        return login_manager.unauthorized()
    if current_user.role != Role.ADMIN:
        abort(404)
    return None


@bp.context_processor
def labels() -> dict:
    return {
        "unit_kinds": UNIT_KIND_LABELS,
        "category_kinds": CATEGORY_KIND_LABELS,
        "roles": ROLE_LABELS,
    }


def _none(value: int | None) -> int | None:
    return value or None


def _label(obj) -> str:
    return obj.name if obj.active else _("%(name)s (deactivated)", name=obj.name)


def _units() -> list[Unit]:
    return list(db.session.scalars(select(Unit).order_by(Unit.sort_order, Unit.id)))


def _places() -> list[Unit]:
    return list(
        db.session.scalars(
            select(Unit).where(Unit.kind.in_(changes.PLACE_KINDS)).order_by(Unit.sort_order, Unit.id)
        )
    )


def _category_choices(blank) -> list[tuple[int, str]]:
    parent = aliased(Category)
    rows = db.session.execute(
        select(Category, parent.name)
        .outerjoin(parent, parent.id == Category.parent_id)
        .order_by(
            func.coalesce(parent.sort_order, Category.sort_order),
            func.coalesce(parent.id, Category.id),
            Category.parent_id.is_not(None),
            Category.sort_order,
            Category.id,
        )
    ).all()
    choices = [(NONE, blank)]
    for category, parent_name in rows:
        label = f"{parent_name} / {_label(category)}" if parent_name else _label(category)
        choices.append((category.id, label))
    return choices


def _page(stmt):
    return db.paginate(stmt, page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)


def _form_page(form, save: Callable[[], Any], done: Callable[[Any], tuple[str, str]], **page: Any):
    """An administration form: a valid post is saved through the service and goes back to the
    list (`done(saved)`: the message and where to); a refusal puts each message beside its field
    and changes nothing (422). `page`: the title, subject, back link and history shown."""
    if form.validate_on_submit():
        try:
            saved = save()
        except ValidationFailed as exc:
            put_errors(form, exc)
        else:
            message, to = done(saved)
            flash(message, "success")
            return redirect(to)
    status = 422 if form.is_submitted() else 200
    return render_template("admin/form.html", form=form, **page), status


# ------------------------------------------------------------------ home


@bp.get("/")
def index():
    counts = {
        "units": db.session.scalar(select(func.count()).select_from(Unit)),
        "categories": db.session.scalar(select(func.count()).select_from(Category)),
        "rules": db.session.scalar(select(func.count()).select_from(RoutingRule)),
        "users": db.session.scalar(select(func.count()).select_from(User)),
    }
    recent = db.session.scalars(
        select(AdminAudit).order_by(AdminAudit.at.desc(), AdminAudit.id.desc()).limit(20)
    )
    return render_template("admin/index.html", counts=counts, recent=list(recent))


# ------------------------------------------------------------------ units


def _unit_choices(form: UnitForm, unit: Unit | None) -> None:
    form.parent_id.choices = [(NONE, _("(none)"))] + [
        (u.id, _label(u)) for u in _units() if unit is None or u.id != unit.id
    ]
    leaders = []
    if unit is not None:
        leaders = db.session.scalars(
            select(User).where(User.unit_id == unit.id, User.role == Role.LEADER.value).order_by(User.id)
        )
    form.leader_id.choices = [(NONE, _("(none)"))] + [(u.id, f"{_label(u)} ({u.username})") for u in leaders]


def _unit_data(form: UnitForm) -> changes.UnitData:
    return changes.UnitData(
        code=form.code.data or "",
        name=form.name.data or "",
        name_en=form.name_en.data or "",
        kind=form.kind.data,
        parent_id=_none(form.parent_id.data),
        leader_id=_none(form.leader_id.data),
        address=form.address.data or "",
        phone=form.phone.data or "",
        sort_order=form.sort_order.data or 0,
        active=form.active.data,
    )


@bp.get("/units")
def units():
    q = request.args.get("q", "").strip()
    kind = request.args.get("kind", "")
    stmt = select(Unit).order_by(Unit.sort_order, Unit.id)
    if q:
        stmt = stmt.where(or_(Unit.code.ilike(f"%{q}%"), Unit.name.ilike(f"%{q}%")))
    if kind in UnitKind.values():
        stmt = stmt.where(Unit.kind == kind)
    return render_template("admin/units.html", page=_page(stmt), q=q, kind=kind)


@bp.route("/units/new", methods=["GET", "POST"])
def unit_new():
    form = UnitForm()
    _unit_choices(form, None)
    return _form_page(
        form,
        lambda: changes.save_unit(current_user, None, _unit_data(form)),
        lambda unit: (_("Unit “%(name)s” created.", name=unit.name), url_for("admin.units", q=unit.code)),
        title=_l("New unit"),
        back=url_for("admin.units"),
    )


@bp.route("/units/<int:unit_id>", methods=["GET", "POST"])
def unit_edit(unit_id: int):
    unit = db.get_or_404(Unit, unit_id)
    form = UnitForm(obj=unit)
    _unit_choices(form, unit)
    return _form_page(
        form,
        lambda: changes.save_unit(current_user, unit, _unit_data(form)),
        lambda saved: (_("Unit “%(name)s” saved.", name=saved.name), url_for("admin.units", q=saved.code)),
        title=_l("Edit unit"),
        subject=unit.name,
        back=url_for("admin.units"),
        history=_history("unit", unit.id),
    )


# ------------------------------------------------------------------ categories


def _category_form_choices(form: CategoryForm, category: Category | None) -> None:
    tops = db.session.scalars(
        select(Category).where(Category.parent_id.is_(None)).order_by(Category.sort_order, Category.id)
    )
    form.parent_id.choices = [(NONE, _("(top level)"))] + [
        (c.id, _label(c)) for c in tops if category is None or c.id != category.id
    ]


def _category_data(form: CategoryForm) -> changes.CategoryData:
    return changes.CategoryData(
        code=form.code.data or "",
        name=form.name.data or "",
        name_en=form.name_en.data or "",
        kind=form.kind.data,
        parent_id=_none(form.parent_id.data),
        keywords=form.keywords.data or "",
        description=form.description.data or "",
        accept_days_statutory=form.accept_days_statutory.data,
        accept_days_committed=form.accept_days_committed.data,
        handle_days_statutory=form.handle_days_statutory.data,
        handle_days_committed=form.handle_days_committed.data,
        sort_order=form.sort_order.data or 0,
        active=form.active.data,
    )


@bp.get("/categories")
def categories():
    q = request.args.get("q", "").strip()
    parent = aliased(Category)
    stmt = (
        select(Category)
        .outerjoin(parent, parent.id == Category.parent_id)
        .order_by(
            func.coalesce(parent.sort_order, Category.sort_order),
            func.coalesce(parent.id, Category.id),
            Category.parent_id.is_not(None),
            Category.sort_order,
            Category.id,
        )
    )
    if q:
        stmt = stmt.where(
            or_(
                Category.code.ilike(f"%{q}%"),
                Category.name.ilike(f"%{q}%"),
                Category.keywords.ilike(f"%{q}%"),
            )
        )
    return render_template("admin/categories.html", page=_page(stmt), q=q)


@bp.route("/categories/new", methods=["GET", "POST"])
def category_new():
    form = CategoryForm()
    _category_form_choices(form, None)
    return _form_page(
        form,
        lambda: changes.save_category(current_user, None, _category_data(form)),
        lambda saved: (
            _("Category “%(name)s” created.", name=saved.name),
            url_for("admin.categories", q=saved.code),
        ),
        title=_l("New category"),
        back=url_for("admin.categories"),
    )


@bp.route("/categories/<int:category_id>", methods=["GET", "POST"])
def category_edit(category_id: int):
    category = db.get_or_404(Category, category_id)
    form = CategoryForm(obj=category)
    _category_form_choices(form, category)
    return _form_page(
        form,
        lambda: changes.save_category(current_user, category, _category_data(form)),
        lambda saved: (
            _("Category “%(name)s” saved.", name=category.name),
            url_for("admin.categories", q=category.code),
        ),
        title=_l("Edit category"),
        subject=category.name,
        back=url_for("admin.categories"),
        history=_history("category", category.id),
    )


# ------------------------------------------------------------------ routing rules


def _rule_form_choices(form: RuleForm) -> None:
    form.category_id.choices = _category_choices(_("(any category)"))
    form.township_id.choices = [(NONE, _("(any place)"))] + [(u.id, _label(u)) for u in _places()]
    form.unit_id.choices = [(NONE, _("(choose a unit)"))] + [(u.id, _label(u)) for u in _units()]


def _rule_data(form: RuleForm) -> changes.RuleData:
    return changes.RuleData(
        unit_id=_none(form.unit_id.data),
        category_id=_none(form.category_id.data),
        township_id=_none(form.township_id.data),
        priority=form.priority.data or 0,
        active=form.active.data,
    )


@bp.get("/rules")
def rules():
    q = request.args.get("q", "").strip()
    category = aliased(Category)
    township = aliased(Unit)
    unit = aliased(Unit)
    stmt = (
        select(RoutingRule)
        .outerjoin(category, category.id == RoutingRule.category_id)
        .outerjoin(township, township.id == RoutingRule.township_id)
        .join(unit, unit.id == RoutingRule.unit_id)
        .order_by(
            RoutingRule.category_id, RoutingRule.township_id, RoutingRule.priority.desc(), RoutingRule.id
        )
    )
    if q:
        like = f"%{q}%"
        stmt = stmt.where(
            or_(
                category.name.ilike(like),
                category.code.ilike(like),
                township.name.ilike(like),
                unit.name.ilike(like),
                unit.code.ilike(like),
            )
        )
    preview = PreviewForm(request.args, meta={"csrf": False})
    preview.category.choices = _category_choices(_("(choose a category)"))
    preview.township.choices = [(NONE, _("(choose a place)"))] + [(u.id, _label(u)) for u in _places()]
    result = None
    if preview.category.data and preview.township.data:
        chosen = db.session.get(Category, preview.category.data)
        place = db.session.get(Unit, preview.township.data)
        if chosen is not None and place is not None:
            rule = reference.match_rule(chosen, place)
            result = {"category": chosen, "place": place, "rule": rule, "unit": rule.unit if rule else None}
    return render_template("admin/rules.html", page=_page(stmt), q=q, preview=preview, result=result)


@bp.route("/rules/new", methods=["GET", "POST"])
def rule_new():
    form = RuleForm()
    _rule_form_choices(form)
    return _form_page(
        form,
        lambda: changes.save_rule(current_user, None, _rule_data(form)),
        lambda saved: (_("Routing rule created."), url_for("admin.rules")),
        title=_l("New routing rule"),
        back=url_for("admin.rules"),
    )


@bp.route("/rules/<int:rule_id>", methods=["GET", "POST"])
def rule_edit(rule_id: int):
    rule = db.get_or_404(RoutingRule, rule_id)
    form = RuleForm(obj=rule)
    _rule_form_choices(form)
    return _form_page(
        form,
        lambda: changes.save_rule(current_user, rule, _rule_data(form)),
        lambda saved: (_("Routing rule saved."), url_for("admin.rules")),
        title=_l("Edit routing rule"),
        back=url_for("admin.rules"),
        history=_history("routing_rule", rule.id),
    )


# ------------------------------------------------------------------ users


def _user_form_choices(form: UserForm) -> None:
    form.unit_id.choices = [(NONE, _("(none)"))] + [(u.id, _label(u)) for u in _units()]


def _user_data(form: UserForm) -> changes.UserData:
    return changes.UserData(
        username=form.username.data or "",
        name=form.name.data or "",
        role=form.role.data,
        unit_id=_none(form.unit_id.data),
        phone=form.phone.data or "",
        active=form.active.data,
        password=form.password.data or "",
    )


@bp.get("/users")
def users():
    q = request.args.get("q", "").strip()
    role = request.args.get("role", "")
    stmt = select(User).order_by(User.id)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(User.username.ilike(like), User.name.ilike(like), User.phone.ilike(like)))
    if role in Role.values():
        stmt = stmt.where(User.role == role)
    return render_template("admin/users.html", page=_page(stmt), q=q, role=role)


@bp.route("/users/new", methods=["GET", "POST"])
def user_new():
    form = UserForm()
    _user_form_choices(form)
    return _form_page(
        form,
        lambda: changes.save_user(current_user, None, _user_data(form)),
        lambda saved: (
            _("Account “%(name)s” created.", name=saved.username),
            url_for("admin.users", q=saved.username),
        ),
        title=_l("New account"),
        back=url_for("admin.users"),
    )


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user_edit(user_id: int):
    user = db.get_or_404(User, user_id)
    form = UserForm(obj=user)
    form.password.label.text = _("New password (leave empty to keep the current one)")
    if request.method == "GET":
        form.password.data = ""
    _user_form_choices(form)
    return _form_page(
        form,
        lambda: changes.save_user(current_user, user, _user_data(form)),
        lambda saved: (
            _("Account “%(name)s” saved.", name=user.username),
            url_for("admin.users", q=user.username),
        ),
        title=_l("Edit account"),
        subject=user.username,
        back=url_for("admin.users"),
        history=_history("user", user.id),
    )


# ------------------------------------------------------------------ activation and history

_ENTITIES = {"units": Unit, "categories": Category, "rules": RoutingRule, "users": User}


@bp.post("/<any(units, categories, rules, users):entity>/<int:obj_id>/active")
def set_active(entity: str, obj_id: int):
    obj = db.get_or_404(_ENTITIES[entity], obj_id)
    active = request.form.get("active") == "1"
    try:
        changes.set_active(current_user, obj, active)
    except ValidationFailed as exc:
        for why in exc.fields.values():
            flash(str(why), "error")
    else:
        flash(_("Activated.") if active else _("Deactivated."), "success")
    back = request.form.get("back", "")
    return redirect(back if back.startswith("/admin/") else url_for(f"admin.{entity}"))


def _history(entity: str, entity_id: int) -> list[AdminAudit]:
    return list(
        db.session.scalars(
            select(AdminAudit)
            .where(AdminAudit.entity == entity, AdminAudit.entity_id == entity_id)
            .order_by(AdminAudit.at.desc(), AdminAudit.id.desc())
            .limit(20)
        )
    )
