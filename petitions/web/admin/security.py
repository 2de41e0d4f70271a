"""Sign-in locks in the admin area: who was locked, from which address, until when; release early."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from petitions.domain.clocks import now
from petitions.i18n import gettext as _
from petitions.services import lockout
from petitions.web.admin.blueprint import bp


@bp.get("/security")
def security():
    return render_template("admin/security.html", locks=lockout.recent_locks(), now=now())


@bp.post("/security/locks/<int:lock_id>/release")
def security_release(lock_id: int):
    if lockout.release(lock_id, current_user) is not None:
        flash(_("The lock was released."), "ok")
    return redirect(url_for("admin.security"), 303)
