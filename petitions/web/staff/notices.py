"""The written notices of a petition, for staff: the print view and the PDF."""

from __future__ import annotations

from flask import Response, abort, current_app, url_for
from flask_login import current_user
from sqlalchemy import select

from petitions.domain.errors import NotFound
from petitions.extensions import db, login_manager
from petitions.models import Petition
from petitions.services import access, notices
from petitions.web.staff.blueprint import bp


def _petition_for_staff(tracking_no: str) -> Petition:
    """The petition if the logged-in staff user may see it (access.can_view). Out of scope
    answers 404, as an unknown tracking number does, so nothing leaks."""
    user = current_user._get_current_object()
    petition = db.session.scalar(select(Petition).where(Petition.tracking_no == tracking_no))
    if petition is None or not user.is_staff or not access.can_view(user, petition):
        abort(404)
    return petition


def _facts(kind: notices.NoticeKind, petition: Petition) -> dict:
    try:
        facts = notices.facts_from_petition(kind, petition)
    except NotFound:
        abort(404)
    if not access.sees_reporter(current_user._get_current_object(), petition):
        facts["citizen"] = notices.WITHHELD
    return facts


def _guard():
    if not current_user.is_authenticated:
        if login_manager.login_view not in current_app.view_functions:
            abort(401)
        return login_manager.unauthorized()
    return None


@bp.route("/petitions/<tracking_no>/notices/<kind>")
def notice_view(tracking_no: str, kind: str):
    if (refused := _guard()) is not None:
        return refused
    notice_kind = notices.notice_kind(kind)
    petition = _petition_for_staff(tracking_no)
    html = notices.render_notice_html(
        notice_kind,
        petition,
        controls={"pdf_url": url_for("staff.notice_pdf", tracking_no=tracking_no, kind=notice_kind.value)},
        **_facts(notice_kind, petition),
    )
    return Response(html, mimetype="text/html", headers={"Cache-Control": "no-store"})


@bp.route("/petitions/<tracking_no>/notices/<kind>.pdf")
def notice_pdf(tracking_no: str, kind: str):
    if (refused := _guard()) is not None:
        return refused
    notice_kind = notices.notice_kind(kind)
    petition = _petition_for_staff(tracking_no)
    pdf = notices.render_notice_pdf(notice_kind, petition, **_facts(notice_kind, petition))
    filename = notices.pdf_filename(notice_kind, petition)
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "no-store"},
    )
