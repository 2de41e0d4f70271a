"""Open311 clients' api_keys in the admin area: issue a key (shown once), deactivate, reactivate."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from petitions.domain.errors import ValidationFailed
from petitions.i18n import gettext as _
from petitions.services import open311_keys as keys
from petitions.web.admin.blueprint import bp


@bp.get("/open311")
def open311_keys():
    return render_template("admin/open311.html", keys=keys.all_keys(), new_key=None, errors={}, name="")


@bp.post("/open311")
def open311_key_create():
    name = request.form.get("name", "")
    try:
        key, row = keys.create(name, current_user)
    except ValidationFailed as exc:
        return (
            render_template(
                "admin/open311.html", keys=keys.all_keys(), new_key=None, errors=exc.text_fields(), name=name
            ),
            422,
        )
    # The key itself is shown this once; only its hash is kept.
    return render_template("admin/open311.html", keys=keys.all_keys(), new_key=(row, key), errors={}, name="")


@bp.post("/open311/<int:key_id>/active")
def open311_key_active(key_id: int):
    row = keys.set_active(key_id, request.form.get("active") == "1")
    if row is not None:
        flash(_("Saved."), "ok")
    return redirect(url_for("admin.open311_keys"), 303)
