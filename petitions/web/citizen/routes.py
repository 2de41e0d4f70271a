"""Routes of the citizen face: home, register, log in/out, file, result, look-up, my petitions."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import abort, current_app, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from petitions.domain.clocks import now
from petitions.domain.errors import NotFound, ValidationFailed
from petitions.domain.validation import clean_filename, normalize_mobile
from petitions.extensions import db, settings
from petitions.i18n import gettext as _
from petitions.models import Attachment, Channel, Petition
from petitions.services import lockout
from petitions.services.filing import file_petition
from petitions.web import once
from petitions.web.auth import end_sessions
from petitions.web.citizen.accounts import log_in, register_citizen
from petitions.web.citizen.blueprint import bp
from petitions.web.citizen.forms import FilingForm, LoginForm, LookupForm, RegisterForm
from petitions.web.forms import filing_of, fill_filing_choices, put_errors
from petitions.web.presenters import CLOCK_LABELS, citizen_view
from petitions.web.ratelimits import code_holder, filing_limit, lookup_limit, register_limit

# The slot of the query code that waits for the one page view that shows it (petitions.web.once).
JUST_FILED = "just_filed"

# The clocks as the citizen reads them.

# intake.validate names fields as the API does; the form spells some of them differently.
_FORM_FIELD = {"contact.name": "contact_name", "contact.phone": "contact_phone"}


@bp.app_template_filter("last_day")
def last_day(value: datetime | None) -> str:
    """The last local day of a limit: due times are the end of that day (midnight after it)."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(settings().timezone)) - timedelta(microseconds=1)
    return local.date().isoformat()  # yyyy-MM-dd in every language


@bp.app_template_global("deadline")
def deadline(due_at: datetime | None, statutory_due_at: datetime | None = None) -> str:
    """A time limit as citizens and staff both read it: its last day, and the statutory one's."""
    if due_at is None:
        return ""
    date = last_day(due_at)
    legal = last_day(statutory_due_at) if statutory_due_at is not None else date
    if legal == date:
        return _("at the latest on %(date)s", date=date)
    return _("at the latest on %(date)s (legal limit: %(legal)s)", date=date, legal=legal)


@bp.context_processor
def _labels() -> dict:
    return {"clock_labels": CLOCK_LABELS}


def _is_citizen() -> bool:
    return current_user.is_authenticated and not current_user.is_staff


def _no_store(response):
    # Pages with a query code or a petition's details must not linger in caches.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def index():
    return render_template("citizen/index.html", limits=settings().time_limits)


# ---------------------------------------------------------------- accounts


@bp.route("/register", methods=["GET", "POST"])
@register_limit
def register():
    form = RegisterForm()
    status = 200
    if form.validate_on_submit():
        try:
            register_citizen(form.phone.data, form.name.data, form.password.data)
        except ValidationFailed as exc:
            put_errors(form, exc)
            status = 422
        else:
            # The same page whether the number was new or had an account already: then log in.
            login = LoginForm(formdata=None, data={"username": normalize_mobile(form.phone.data)})
            return render_template("citizen/registered.html", form=login)
    elif form.is_submitted():
        status = 422
    return render_template("citizen/register.html", form=form), status


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: never send someone on to another host after logging in."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.get("/login")
def login():
    return render_template("citizen/login.html", form=LoginForm(), failed=False)


@bp.post("/login")
@lookup_limit  # guessing a password is guessing a secret, like guessing a query code
def login_submit():
    form = LoginForm()
    if not form.validate():
        return render_template("citizen/login.html", form=form, failed=False), 422
    # Too many failures for this username from this address: 429 until the lock ends.
    lockout.refuse_if_locked(form.username.data, request.remote_addr)
    user = log_in(form.username.data, form.password.data)
    if user is None:
        lockout.fail(form.username.data, request.remote_addr)
        # The same message whether the account exists or not.
        return render_template("citizen/login.html", form=form, failed=True), 401
    lockout.record_success(form.username.data, request.remote_addr)
    user.last_login_at = now()
    db.session.commit()
    login_user(user)
    nxt = _safe_next(request.args.get("next"))
    if user.is_staff:
        staff_home = url_for("staff.index") if "staff.index" in current_app.view_functions else "/"
        return redirect(nxt or staff_home)
    return redirect(nxt or url_for("citizen.mine"))


@bp.post("/logout")
def logout():
    # The CSRF token is checked by CSRFProtect before we get here.
    if current_user.is_authenticated:
        # Every session of the user ends, so that a copy of this one's cookie opens nothing.
        end_sessions(current_user._get_current_object(), "log-out")
    logout_user()
    once.take(JUST_FILED)
    return redirect(url_for("citizen.index"))


# ---------------------------------------------------------------- filing


def _render_file_form(form: FilingForm, status: int = 200):
    return render_template("citizen/file.html", form=form, rules=settings()), status


@bp.get("/file")
def file():
    form = FilingForm()
    fill_filing_choices(form)
    if _is_citizen():
        form.contact_name.data = current_user.name
        form.contact_phone.data = current_user.phone
    return _render_file_form(form)


@bp.post("/file")
@filing_limit
def file_submit():
    form = FilingForm()
    fill_filing_choices(form)
    if not form.validate():
        return _render_file_form(form, 422)
    filing = filing_of(form, offered_channels=frozenset({Channel.WEB.value}))
    try:
        filed = file_petition(filing, citizen=current_user if _is_citizen() else None)
    except ValidationFailed as exc:
        put_errors(form, exc)
        return _render_file_form(form, 422)
    # Shown on the next page view only (post/redirect/get: a reload never files twice); the code
    # waits on the server, the session holds only the key to it.
    once.put(JUST_FILED, {"tracking_no": filed.petition.tracking_no, "code": filed.query_code})
    return redirect(url_for("citizen.filed"))


@bp.get("/filed")
def filed():
    shown = once.take(JUST_FILED)
    if not shown:
        return _no_store(current_app.make_response(render_template("citizen/filed.html", shown=None)))
    petition = db.session.scalar(select(Petition).where(Petition.tracking_no == shown["tracking_no"]))
    if petition is None:  # pragma: no cover - removed between two requests
        abort(404)
    page = render_template("citizen/filed.html", shown=shown, view=citizen_view(petition), petition=petition)
    return _no_store(current_app.make_response(page))


# ---------------------------------------------------------------- look-up


def _tracking_no(raw: str | None) -> str:
    """A tracking number as people copy it (grouped with spaces, in lower case), made plain."""
    return re.sub(r"\s", "", raw or "").upper()


@bp.get("/track")
def track():
    """The look-up form; the SMS link (/track?no=XF…) comes with the tracking number filled in."""
    form = LookupForm()
    number = _tracking_no(request.args.get("no"))[:20]
    if number:
        form.tracking_no.data = number
    return render_template("citizen/track.html", form=form, view=None)


@bp.post("/track")
@lookup_limit
def track_submit():
    form = LookupForm()
    if not form.validate():
        return _no_store(current_app.make_response((render_template("citizen/track.html", form=form), 422)))
    # People copy the numbers as the result page groups them: "XF 20261122 123456", "1234 5678".
    tracking_no = _tracking_no(form.tracking_no.data)
    code = re.sub(r"\s", "", form.code.data or "")
    try:
        petition, _holder = code_holder(tracking_no, code)
    except NotFound as exc:
        # Unknown tracking number and wrong code give the very same page.
        page = render_template("citizen/track.html", form=form, not_found=str(exc.message))
        return _no_store(current_app.make_response((page, 404)))
    page = render_template("citizen/track.html", form=form, view=citizen_view(petition), petition=petition)
    return _no_store(current_app.make_response(page))


# ---------------------------------------------------------------- my petitions


def _require_citizen() -> None:
    if current_user.is_staff:
        abort(403)


@bp.get("/mine")
@login_required
def mine():
    _require_citizen()
    petitions = db.session.scalars(
        select(Petition)
        .where(Petition.citizen_id == current_user.id)
        .order_by(Petition.created_at.desc(), Petition.id.desc())
    ).all()
    items = [(p, citizen_view(p)) for p in petitions]
    return _no_store(current_app.make_response(render_template("citizen/mine.html", items=items)))


@bp.get("/mine/<tracking_no>/attachments/<int:attachment_id>")
@login_required
def attachment(tracking_no: str, attachment_id: int):
    """The bytes of an attachment, for the citizen who filed the petition only."""
    _require_citizen()
    row = db.session.scalar(
        select(Attachment)
        .join(Petition)
        .where(
            Attachment.id == attachment_id,
            Petition.tracking_no == tracking_no,
            Petition.citizen_id == current_user.id,
        )
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
