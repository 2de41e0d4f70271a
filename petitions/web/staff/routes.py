"""Routes of the staff face: home, intake queue, staff entry, unit queues, the petition page,
the leader's inbox, attachment downloads.

Who sees which petition is petitions.services.access's; which actions a page offers, and whether one
may be taken, is petitions.domain.workflow's through petitions.services.actions.perform. These views parse,
call one function and render. A petition out of the user's scope is "not found" (404).
"""

from __future__ import annotations

import io
from datetime import timedelta
from functools import cache
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    has_request_context,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from petitions.domain import clocks as clock_rules
from petitions.domain import workflow as wf
from petitions.domain.clocks import now
from petitions.domain.errors import DomainError, ValidationFailed
from petitions.domain.validation import clean_filename
from petitions.extensions import db, login_manager, settings
from petitions.i18n import gettext as _
from petitions.i18n import lazy_gettext as _l
from petitions.models import (
    Attachment,
    CategoryKind,
    Clock,
    Event,
    ExtensionRequest,
    Petition,
    Role,
    User,
)
from petitions.services import (
    access,
    actions,
    clocks,
    duplicates,
    notices,
    queues,
    records,
    reference,
    suggest,
)
from petitions.services.filing import file_petition
from petitions.web import once, presenters
from petitions.web.admin.forms import ROLE_LABELS
from petitions.web.forms import filing_of, fill_filing_choices, put_errors, unit_choices
from petitions.web.presenters import (
    CHANNEL_NAMES,
    CLOCK_LABELS,
    EVENT_LABELS,
    LEVEL_LABELS,
    STATUS_LABELS,
)
from petitions.web.staff.blueprint import bp
from petitions.web.staff.forms import CHANNEL_LABELS, ActionForm, StaffFilingForm, action_form_with

# What a list shows of each petition, loaded with the page (a fixed number of statements): its
# running clock and its handler (its category, place and unit come from the reference cache).
LIST_LOADS = (queues.RUNNING_CLOCK, selectinload(Petition.handler))
PER_PAGE = 25
MAX_PER_PAGE = 100
# Shown once on the page after staff entry, then forgotten.
JUST_ENTERED = "staff_just_entered"

INTAKE_ROLES = {Role.INTAKE.value, Role.ADMIN.value}
UNIT_ROLES = {Role.HANDLER.value, Role.LEADER.value}
QUEUE_ROLES = {
    Role.INTAKE.value,
    Role.HANDLER.value,
    Role.LEADER.value,
    Role.SUPERVISOR.value,
    Role.ADMIN.value,
}

LEVELS = clock_rules.LEVELS

ACTION_LABELS = {
    "register": _l("Correct category or place"),
    "route": _l("Route to a unit"),
    "return": _l("Return to the petition bureau"),
    "accept": _l("Accept"),
    "decline": _l("Do not accept"),
    "assign": _l("Assign a handler"),
    "note": _l("Add an internal note"),
    # A leader's own reply is issued at once; signing issues the handler's draft.
    "reply": _l("Write and issue the reply yourself"),
    "sign-reply": _l("Sign and issue the handler's draft"),
    "request-extension": _l("Ask for an extension"),
    "approve-extension": _l("Approve the extension"),
    "reject-extension": _l("Reject the extension"),
    "close": _l("Close the petition"),
    "urge": _l("Urge the unit"),
    "answer-on-spot": _l("Answer on the spot and close"),
    "merge": _l("Merge into the earlier petition"),
    "review-reply": _l("Write and issue the review opinion yourself"),
    "rereview-reply": _l("Write and issue the re-review opinion yourself"),
    "follow-up": _l("Record a follow-up"),
}
# A handler's reply is a draft for the leader to sign.
DRAFT_LABELS = {
    "reply": _l("Draft the reply for the leader's signature"),
    "review-reply": _l("Draft the review opinion for the leader's signature"),
    "rereview-reply": _l("Draft the re-review opinion for the leader's signature"),
}
# What a field means in a given action (the form's own label otherwise).
FIELD_LABELS = {
    ("return", "reason"): _l("Why this is not your unit's matter"),
    ("decline", "reason"): _l("Reason for not accepting (told to the citizen)"),
    ("request-extension", "reason"): _l("Reason for the extension (told to the citizen)"),
    ("reject-extension", "reason"): _l("Reason for rejecting"),
    ("note", "text"): _l("Internal note (the citizen does not see it)"),
    ("reply", "text"): _l("Text of the reply"),
    ("review-reply", "text"): _l("Text of the review opinion"),
    ("rereview-reply", "text"): _l("Text of the re-review opinion"),
    ("sign-reply", "text"): _l("Text as signed (edit it, or leave it as drafted)"),
    ("close", "text"): _l("Remark (optional)"),
    ("urge", "text"): _l("What the unit must do"),
    ("answer-on-spot", "text"): _l("The answer given to the citizen"),
    ("register", "category"): _l("Category"),
    ("register", "township"): _l("Township or area"),
}
# What the letter adds around a reply's text, said beside the field (答复意见书 and opinions).
LETTER_HINT = _l(
    "The letter adds the salutation to the citizen, the opening that names the petition and, at the "
    "end, the sentence on asking for review (or that the opinion is final): write only the reply itself."
)
FIELD_HINTS = {
    ("reply", "text"): LETTER_HINT,
    ("sign-reply", "text"): LETTER_HINT,
    ("review-reply", "text"): LETTER_HINT,
    ("rereview-reply", "text"): LETTER_HINT,
}
# Actions that cannot be undone get a red button.
GRAVE = {"decline", "merge", "close", "return", "reject-extension"}

NOTICE_LABELS = {
    notices.NoticeKind.ACCEPTANCE: _l("Acceptance notice"),
    notices.NoticeKind.NON_ACCEPTANCE: _l("Non-acceptance notice"),
    notices.NoticeKind.REPLY: _l("Reply letter"),
    notices.NoticeKind.EXTENSION: _l("Extension notice"),
    notices.NoticeKind.REVIEW: _l("Review opinion"),
    notices.NoticeKind.RE_REVIEW: _l("Re-review opinion"),
}


# ---------------------------------------------------------------- who may come in


@bp.before_request
def staff_only():
    """Staff only: the login page for strangers, 404 for citizens (the area does not exist for them)."""
    if not current_user.is_authenticated:
        if login_manager.login_view not in current_app.view_functions:
            abort(401)
        return login_manager.unauthorized()
    if not current_user.is_staff or not current_user.active:
        abort(404)
    return None


def _user() -> User:
    return current_user._get_current_object()


def _require(roles: set[str]) -> User:
    user = _user()
    if user.role not in roles:
        abort(404)
    return user


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _inbox_count(user: User) -> int:
    if user.role != Role.LEADER.value:
        return 0
    return access.leader_inbox_count(user)


def _endpoint(name: str) -> bool:
    return name in current_app.view_functions


@bp.app_context_processor
def _staff_context() -> dict:
    """What the staff layout needs, on every staff-facing page (staff, supervision, administration)."""
    if not has_request_context() or not current_user.is_authenticated or not current_user.is_staff:
        return {}
    user = _user()
    return {
        "role_labels": ROLE_LABELS,
        "inbox_count": _inbox_count(user),
        "level_labels": LEVEL_LABELS,
        "status_labels": STATUS_LABELS,
        "clock_labels": CLOCK_LABELS,
        "has_supervision": _endpoint("supervision.index"),
        "has_admin": _endpoint("admin.index"),
        "time_left": time_left,
        "clock_of": clock_of,
    }


# ---------------------------------------------------------------- time left, level


def time_left(status: clock_rules.ClockStatus | None) -> str:
    """'3 days 5 hours left' / 'overdue by 2 days 4 hours' (whole hours, rounded down)."""
    if status is None:
        return ""
    left = status.time_left
    span = -left if left < timedelta(0) else left
    days, hours = span.days, span.seconds // 3600
    if left < timedelta(0):
        return _("overdue by %(days)s d %(hours)s h", days=days, hours=hours)
    return _("%(days)s d %(hours)s h left", days=days, hours=hours)


def clock_of(petition: Petition) -> clock_rules.ClockStatus | None:
    """The running staff clock's status (the citizen's review window is not the unit's clock)."""
    return clocks.running_status(petition)


# ---------------------------------------------------------------- home


@bp.get("/")
def index():
    user = _user()
    if user.role == Role.INTAKE.value:
        return redirect(url_for("staff.intake_queue"))
    if user.role in UNIT_ROLES:
        return redirect(url_for("staff.queue"))
    if user.role == Role.SUPERVISOR.value:
        return redirect(
            url_for("supervision.index") if _endpoint("supervision.index") else url_for("staff.queue")
        )
    if user.role == Role.ADMIN.value:
        return redirect(url_for("admin.index") if _endpoint("admin.index") else url_for("staff.queue"))
    abort(404)


# ---------------------------------------------------------------- paging and choices


def _per_page() -> int:
    return max(1, min(request.args.get("per_page", PER_PAGE, type=int) or PER_PAGE, MAX_PER_PAGE))


def _after() -> queues.Cursor | None:
    """The cursor of the page asked for (the `next` of the one before); 404 for a forged one."""
    try:
        return queues.Cursor.parse(request.args.get("after"))
    except queues.BadCursor:
        abort(404)


def _page(user: User, stmt, key, *, nullable: bool = False) -> queues.Page:
    """One keyset page of the petitions of `stmt` that `user` may see, in the order of `key`
    (nulls last) and the id."""
    page = queues.keyset_page(
        stmt, key, _per_page(), _after(), nullable=nullable, branches=access.visible_branches(user),
        options=LIST_LOADS,
    )
    reference.attach(page.items)
    return page


@cache
def _unit_handlers():
    """A unit's active handlers (parameter `unit_id`) by name, built once."""
    return (
        select(User.username, User.name)
        .where(User.role == Role.HANDLER.value, User.active, User.unit_id == bindparam("unit_id"))
        .order_by(User.name, User.id)
    )


def _handler_choices(petition: Petition) -> list[SelectChoice]:
    """The unit's active handlers (read once per request and unit)."""

    def read() -> list[SelectChoice]:
        handlers = db.session.execute(_unit_handlers(), {"unit_id": petition.unit_id}).all()
        return [SelectChoice("", _("— Please choose —"))] + [
            SelectChoice(u.username, u.name or u.username) for u in handlers
        ]

    return presenters.per_request(f"handler_choices-{petition.unit_id}", read)


def _channel_choices() -> list[SelectChoice]:
    return [SelectChoice("", _("— Please choose —"))] + [
        SelectChoice(code, text) for code, text in notices.CHANNELS.items()
    ]


def _prepare(form: ActionForm, petition: Petition, suggested_unit: str | None = None) -> ActionForm:
    """Fill a form's selects for this petition (only what its fields need is ever shown)."""
    # Start from what the petition has (or the rule suggests); a posted form keeps its values.
    if "unit" in form:
        form.unit.choices = unit_choices()
        form.unit.data = form.unit.data or suggested_unit or ""
    if "handler" in form:
        form.handler.choices = _handler_choices(petition)
        form.handler.data = form.handler.data or (petition.handler.username if petition.handler else "")
    if "channel" in form:
        form.channel.choices = _channel_choices()
    fill_filing_choices(form)
    if "category" in form:
        form.category.data = form.category.data or petition.category.code
    if "township" in form:
        form.township.data = form.township.data or (petition.township.code if petition.township else "")
    form.version.data = form.version.data or str(petition.version)
    return form


# ---------------------------------------------------------------- the actions a page offers


# Actions whose empty form starts with values of its own (the earlier petition, the draft).
OWN_FORM = {"merge", "sign-reply"}


def _action_forms(
    user: User,
    petition: Petition,
    posted: dict | None = None,
    record: records.Record | None = None,
    draft_text: str | None = None,
) -> list[dict[str, Any]]:
    """One small form per action this user may take now (workflow decides; nothing else shown)."""
    record = record or records.of(petition)
    if draft_text is None and record.pending_draft is not None:
        draft = actions.pending_draft(petition, record)
        draft_text = draft.draft_text if draft else None
    state = records.state_of(petition, record)
    scopes = access.scopes(user, petition, record)
    suggested = reference.route_for(petition.category, petition.township)
    forms = []
    # The actions whose forms start from the same values share one (each renders its own
    # fields under ids of its own); a posted form, the merge's and the signing's have theirs.
    # An empty form binds only the fields its actions show.
    shared: ActionForm | None = None
    offered = []
    for action in wf.allowed_actions(user.role, scopes, state):
        if action in wf.STAFF_ACTIONS:
            rule = wf.decide(action, user.role, scopes, state).rule
            assert rule is not None
            offered.append((action, rule))
    shared_fields = frozenset(
        name for action, rule in offered if action not in OWN_FORM for name in (*rule.required, *rule.optional)
    )
    for action, rule in offered:
        mine = posted if posted is not None and posted["action"] == action else None
        if mine:
            form = mine["form"]
        elif action in OWN_FORM:
            form = action_form_with(frozenset((*rule.required, *rule.optional)))(formdata=None)
        else:
            form = shared = shared or action_form_with(shared_fields)(formdata=None)
        _prepare(form, petition, suggested.code if suggested else None)
        if action == "merge" and not form.duplicate_of.data:
            earlier = presenters.possible_duplicates(petition)
            form.duplicate_of.data = earlier[0].tracking_no if earlier else ""
        if action == "sign-reply" and not mine:
            form.text.data = draft_text if draft_text is not None else ""
        fields = [
            {
                "field": form[name],
                "label": FIELD_LABELS.get((action, name), form[name].label.text),
                "hint": FIELD_HINTS.get((action, name)),
                "required": name in rule.required,
            }
            for name in (*rule.required, *rule.optional)
            if name in form
        ]
        label = DRAFT_LABELS.get(action) if rule.change == "draft" else None
        forms.append(
            {
                "action": action,
                "label": label or ACTION_LABELS.get(action, action),
                "form": form,
                "fields": fields,
                "grave": action in GRAVE,
                "errors": mine["errors"] if mine else [],
                "open": bool(mine),
            }
        )
    return forms


def _action_label(user: User, petition: Petition, action: str) -> str:
    """The action's name as this user takes it now (a handler's reply is a draft)."""
    record = records.of(petition)
    state = records.state_of(petition, record)
    rule = wf.decide(action, user.role, access.scopes(user, petition, record), state).rule
    if rule is not None and rule.change == "draft":
        return str(DRAFT_LABELS.get(action, action))
    return str(ACTION_LABELS.get(action, action))


def _fields_of(action: str, form: ActionForm) -> dict[str, str]:
    """The posted values of the fields the action's rules name (the others are not passed on)."""
    names = {n for r in wf.rules_for(action) for n in (*r.required, *r.optional)}
    return {n: (form[n].data or "") for n in names if n in form}


# ---------------------------------------------------------------- intake queue


@bp.get("/intake")
def intake_queue():
    user = _require(INTAKE_ROLES)
    stmt = select(Petition).where(Petition.status == wf.REGISTERED)
    page = _page(user, stmt, Petition.created_at)
    found = records.of_many(p.id for p in page.items)
    returns = _returns([p.id for p in page.items])
    earlier = duplicates.first_duplicates(page.items)
    rows = []
    for petition in page.items:
        rule_unit = reference.route_for(petition.category, petition.township)
        record = found[petition.id]
        returned = returns.get(petition.id, [])
        # Never suggest sending it back to a unit that returned it.
        refused = {ev.unit.code for ev in returned if ev.unit is not None}
        candidates = [rule_unit] if rule_unit else []
        suggestions = suggest.suggest(f"{petition.title}\n{petition.content}", petition.township)
        candidates += [s.unit for s in suggestions if s.unit is not None]
        preselect = next((u.code for u in candidates if u.code not in refused), "")
        rows.append(
            {
                "petition": petition,
                "rule_unit": rule_unit,
                "suggestions": suggestions,
                "returned": returned[-1] if returned else None,
                "refused": refused,
                "preselect": preselect,
                "duplicates": [earlier[petition.id]] if earlier[petition.id] else [],
                "consultation": petition.category.kind == CategoryKind.CONSULTATION.value,
                "clock": clock_of(petition),
                # Only what the workflow lets this user do (an administrator looks, intake acts).
                "allowed": set(
                    wf.allowed_actions(
                        user.role, access.scopes(user, petition, record), records.state_of(petition, record)
                    )
                ),
            }
        )
    page_html = render_template("staff/intake.html", page=page, rows=rows, units=unit_choices())
    return _no_store(current_app.make_response(page_html))


def _returns(petition_ids: list[int]) -> dict[int, list[Event]]:
    """The returns (退回) of these petitions, oldest first, with who returned them (one query)."""
    if not petition_ids:
        return {}
    found: dict[int, list[Event]] = {}
    events = db.session.scalars(
        select(Event)
        .where(Event.petition_id.in_(petition_ids), Event.type == "returned")
        .options(selectinload(Event.unit), selectinload(Event.actor))
        .order_by(Event.at, Event.id)
    )
    for ev in events:
        found.setdefault(ev.petition_id, []).append(ev)
    return found


# ---------------------------------------------------------------- staff entry (letters, calls, visits)


def _render_entry(form: StaffFilingForm, status: int = 200):
    return render_template(
        "staff/new.html", form=form, rules=settings(), channels=CHANNEL_LABELS
    ), status


@bp.get("/intake/new")
def intake_new():
    _require(INTAKE_ROLES)
    form = StaffFilingForm()
    fill_filing_choices(form)
    return _render_entry(form)


@bp.post("/intake/new")
def intake_new_submit():
    user = _require(INTAKE_ROLES)
    form = StaffFilingForm()
    fill_filing_choices(form)
    if not form.validate():
        return _render_entry(form, 422)
    filing = filing_of(
        form, channel=form.channel.data or "", address=form.address.data, offered_channels=frozenset(CHANNEL_LABELS)
    )
    try:
        filed = file_petition(filing, actor=user)
    except ValidationFailed as exc:
        put_errors(form, exc)
        return _render_entry(form, 422)
    once.put(JUST_ENTERED, {"tracking_no": filed.petition.tracking_no, "code": filed.query_code})
    return redirect(url_for("staff.intake_entered"), 303)


@bp.get("/intake/entered")
def intake_entered():
    _require(INTAKE_ROLES)
    shown = once.take(JUST_ENTERED)
    petition = None
    if shown:
        petition = db.session.scalar(select(Petition).where(Petition.tracking_no == shown["tracking_no"]))
    page = render_template("staff/entered.html", shown=shown, petition=petition)
    return _no_store(current_app.make_response(page))


# ---------------------------------------------------------------- unit queues


def _level_filter(stmt, level: str):
    """Petitions whose running staff clock has `level` now (set-based, so paging stays right)."""
    return stmt.join(
        Clock,
        and_(
            Clock.petition_id == Petition.id,
            Clock.stopped_at.is_(None),
            Clock.kind.in_(clock_rules.SUPERVISED),
            Clock.at_level(clock_rules.LEVEL_FILTERS[level], now(), settings().thresholds),
        ),
    )


CLOSED_STATUSES = (wf.CLOSED, wf.NOT_ACCEPTED)


@bp.get("/queue")
def queue():
    user = _require(QUEUE_ROLES)
    status = request.args.get("status", "open")
    level = request.args.get("level", "")
    q = (request.args.get("q") or "").strip()[:100]
    stmt = select(Petition)
    if status == "open":
        stmt = stmt.where(Petition.status.not_in(CLOSED_STATUSES))
    elif status in wf.STATUSES:
        stmt = stmt.where(Petition.status == status)
    else:
        status = "all"
    if level in LEVELS:
        stmt = _level_filter(stmt, level)
    else:
        level = ""
    if q:
        stmt = queues.search(stmt, q)
    page = _page(user, stmt, Petition.due_at, nullable=True)
    rows = [{"petition": p, "clock": clock_of(p)} for p in page.items]
    return _no_store(
        current_app.make_response(
            render_template(
                "staff/queue.html",
                page=page,
                rows=rows,
                filters={"status": status, "level": level, "q": q, "per_page": _per_page()},
                statuses=wf.STATUSES,
                level_names=LEVELS,
            )
        )
    )


# ---------------------------------------------------------------- the petition page


def _visible(tracking_no: str) -> tuple[Petition, records.Record]:
    """The petition with its sub-records, or 404 for one the user may not see."""
    petition = presenters.load_for_staff(tracking_no)
    # With the petitions merged into it, which the page lists.
    record = records.of(petition, merged=True) if petition is not None else None
    if petition is None or not access.can_view(_user(), petition, record):
        abort(404)
    return petition, record


def _notices(petition: Petition, record: records.Record) -> list[dict[str, Any]]:
    """The written notices that exist for this petition (their step has happened)."""
    return [
        {"kind": kind.value, "label": NOTICE_LABELS[kind]} for kind in notices.issued(petition, record.replies)
    ]


# Which reply a rating is of (Rating.reply_no).
RATED_REPLY_LABELS = {
    1: _l("Reply"),
    2: _l("Review opinion"),
    3: _l("Re-review opinion"),
}


def _ratings(user: User, petition: Petition, record: records.Record) -> list[dict[str, Any]]:
    """The citizen's ratings of the replies, for the unit to read (a report's filer may be named in
    a comment: then only the score is shown to those who may not know who filed it)."""
    if not record.ratings:
        return []
    assert record.texts, "a record read without the ratings' comments"
    withheld = not access.sees_reporter(user, petition)
    return [
        {
            "of": RATED_REPLY_LABELS.get(r.reply_no, r.reply_no),
            "score": r.score,
            "comment": None if withheld else r.comment,
            "withheld": withheld and bool(r.comment),
            "at": r.at,
        }
        for r in record.ratings
    ]


def _render_petition(
    petition: Petition, posted: dict | None = None, status: int = 200, record: records.Record | None = None
):
    user = _user()
    record = record or records.of(petition, merged=True)
    view = presenters.staff_view(user, petition, record)
    page = render_template(
        "staff/petition.html",
        view=view,
        petition=petition,
        clock=clock_of(petition),
        forms=_action_forms(
            user, petition, posted, record, view["draft"]["text"] if view["draft"] else None
        ),
        notices=_notices(petition, record),
        ratings=_ratings(user, petition, record),
        event_labels=EVENT_LABELS,
        channel_labels=CHANNEL_NAMES,
        citizen_windows=clock_rules.CITIZEN_WINDOWS,
        refusal=posted["message"] if posted else None,
        stale=bool(posted and posted.get("stale")),
    )
    return _no_store(current_app.make_response((page, status)))


@bp.get("/petitions/<tracking_no>")
def petition(tracking_no: str):
    found, record = _visible(tracking_no)
    return _render_petition(found, record=record)


@bp.post("/petitions/<tracking_no>/actions/<action>")
def act(tracking_no: str, action: str):
    """Take one action. A refusal shows its message and changes nothing; success goes back (303)."""
    user = _user()
    petition, _record = _visible(tracking_no)
    if action not in wf.STAFF_ACTIONS:
        abort(404)
    form = ActionForm()
    back = form.back.data if form.back.data in ("intake", "inbox") else None
    errors: list[str] = []
    message = None
    stale = False
    status = 422
    if not form.validate():
        # Only the version can be missing here (the selects are not checked against choices).
        message = _("Some fields need correcting.")
        errors = [str(e) for name in form.errors for e in form.errors[name]]
    else:
        try:
            version = int(form.version.data)
        except (TypeError, ValueError):
            version = None
        label = _action_label(user, petition, action)
        try:
            actions.perform(petition, action, user, version, **_fields_of(action, form))
        except DomainError as exc:
            db.session.rollback()
            message = str(exc.message)
            stale = getattr(exc, "code", "") == "stale"
            for name, why in exc.text_fields().items():
                field = form._fields.get(name)
                if field is not None:
                    field.errors = [*field.errors, why]
                named = FIELD_LABELS.get((action, name), field.label.text if field else name)
                errors.append(_("%(field)s: %(error)s", field=str(named).rstrip("?？:："), error=why))
            if exc.status == 404:
                abort(404)
            status = exc.status
        else:
            flash(_("Done: %(action)s.", action=label), "ok")
            if back == "intake":
                return redirect(url_for("staff.intake_queue"), 303)
            if back == "inbox":
                return redirect(url_for("staff.inbox"), 303)
            db.session.expire_all()
            after = db.session.scalar(select(Petition).where(Petition.tracking_no == tracking_no))
            if after is None or not access.can_view(user, after):
                # Out of this user's hands now (returned, routed elsewhere): back to their queue.
                flash(_("%(no)s is no longer with your unit.", no=tracking_no), "ok")
                return redirect(url_for("staff.index"), 303)
            return redirect(url_for("staff.petition", tracking_no=tracking_no), 303)
    if back in ("intake", "inbox"):
        flash(_("%(no)s: not done. %(why)s", no=tracking_no, why=message), "error")
        for line in errors:
            flash(line, "error")
        return redirect(url_for("staff.intake_queue" if back == "intake" else "staff.inbox"), 303)
    db.session.expire_all()
    petition, record = _visible(tracking_no)
    # A stale form is not shown again with the old version: the officer reads the new state first.
    if stale:
        form = ActionForm(formdata=None)
    posted = {"action": action, "form": form, "errors": errors, "message": message, "stale": stale}
    return _render_petition(petition, posted, status, record)


@bp.get("/petitions/<tracking_no>/attachments/<int:attachment_id>")
def attachment(tracking_no: str, attachment_id: int):
    """The bytes of an attachment, for staff who may see the petition (404 otherwise)."""
    petition, _record = _visible(tracking_no)
    row = db.session.scalar(
        select(Attachment).where(Attachment.id == attachment_id, Attachment.petition_id == petition.id)
    )
    if row is None:
        abort(404)
    response = send_file(
        io.BytesIO(row.data),
        mimetype=row.content_type,
        as_attachment=True,
        download_name=clean_filename(row.filename),  # also names kept before they were cleaned
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return _no_store(response)


# ---------------------------------------------------------------- the leader's inbox


@bp.get("/inbox")
def inbox():
    user = _require({Role.LEADER.value})
    box = access.leader_inbox(user)
    found = records.of_many(p.id for p in (*box.drafts, *box.extensions))
    drafts = []
    for p in box.drafts:
        form = _prepare(ActionForm(formdata=None), p)
        draft = actions.pending_draft(p, found[p.id])
        form.text.data = draft.draft_text if draft else ""
        drafts.append({"petition": p, "draft": draft, "form": form, "clock": clock_of(p)})
    extensions = []
    for p in box.extensions:
        pending = found[p.id].pending_extension_id
        request_ = db.session.get(ExtensionRequest, pending) if pending is not None else None
        form = _prepare(ActionForm(formdata=None), p)
        extensions.append({"petition": p, "extension": request_, "form": form, "clock": clock_of(p)})
    page = render_template("staff/inbox.html", drafts=drafts, extensions=extensions, letter_hint=LETTER_HINT)
    return _no_store(current_app.make_response(page))
