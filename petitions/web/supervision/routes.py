"""The electronic supervision board (电子监察): every unit's open clocks by level, cards, the
oldest overdue petitions with the urge (督办) action, and texts that could not be sent.

Supervisors and administrators only. The board refreshes itself every 30 seconds from
/supervision/board.json (no reload, no CDN).
"""

from __future__ import annotations

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from petitions.domain.errors import DomainError
from petitions.i18n import gettext as _
from petitions.models import Role
from petitions.services import actions
from petitions.web.supervision import board as boards
from petitions.web.supervision.blueprint import bp

ALLOWED = {Role.SUPERVISOR.value, Role.ADMIN.value}
REFRESH_SECONDS = 30


def _supervisor():
    if not current_user.is_authenticated:
        return None
    if current_user.role not in ALLOWED:
        abort(404)
    return current_user._get_current_object()


def _login():
    return redirect(url_for(current_app.login_manager.login_view, next=request.full_path))


@bp.get("/")
def index():
    if _supervisor() is None:
        return _login()
    board = boards.build()
    return render_template("supervision/board.html", board=board, refresh=REFRESH_SECONDS)


@bp.get("/board.json")
def board_json():
    if _supervisor() is None:
        abort(401)
    board = boards.build()
    body = board.to_json()
    body["html"] = render_template("supervision/_board.html", board=board)
    return jsonify(body)


@bp.post("/urge/<tracking_no>")
def urge(tracking_no: str):
    """督办: a formal urging to the unit, through the workflow like every other action."""
    user = _supervisor()
    if user is None:
        return _login()
    try:
        version = int(request.form.get("version", ""))
    except ValueError:
        version = None
    try:
        actions.perform(tracking_no, "urge", user, version, text=request.form.get("text", ""))
    except DomainError as exc:
        flash(_("Not urged: %(why)s", why=str(exc.message)), "error")
        fields = exc.text_fields() if hasattr(exc, "text_fields") else {}
        for why in fields.values():
            flash(why, "error")
        return redirect(url_for("supervision.index")), 303
    flash(_("Urged %(no)s. The unit's leader is notified.", no=tracking_no), "ok")
    return redirect(url_for("supervision.index")), 303
