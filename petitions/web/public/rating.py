"""The citizen's rating pages: from the SMS link (/rate/<token>), or by tracking number and
query code, or logged in (/rate). Unsatisfied offers the review request right there."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from petitions.domain.errors import DomainError, NotFound
from petitions.extensions import db
from petitions.models import Petition, Role, Score
from petitions.services import actions, ratings
from petitions.services.access import CodeHolder
from petitions.web.ratelimits import code_holder

bp = Blueprint("rating", __name__)

SCORES = [
    (Score.SATISFIED.value, _l("Satisfied")),
    (Score.BASICALLY_SATISFIED.value, _l("Basically satisfied")),
    (Score.UNSATISFIED.value, _l("Unsatisfied")),
]


class RatingForm(FlaskForm):
    score = RadioField(
        _l("How satisfied are you with the reply?"), choices=SCORES, validators=[DataRequired()]
    )
    comment = TextAreaField(_l("Comment (optional)"), validators=[Optional(), Length(max=2000)])


class CodeRatingForm(RatingForm):
    tracking_no = StringField(_l("Tracking number"), validators=[DataRequired(), Length(max=20)])
    code = StringField(_l("Query code"), validators=[DataRequired(), Length(max=64)])


class ReviewForm(FlaskForm):
    reason = TextAreaField(
        _l("Why do you disagree with the reply?"), validators=[DataRequired(), Length(max=5000)]
    )


def _reply_of(petition: Petition):
    reply = actions.latest_issued(petition)
    return reply


def _page(petition: Petition | None, form, *, error: str | None = None, status: int = 200, **extra):
    reply = _reply_of(petition) if petition is not None else None
    return (
        render_template("public/rate.html", petition=petition, reply=reply, form=form, error=error, **extra),
        status,
    )


def _done(petition: Petition, score: str, review_action: str | None):
    return render_template(
        "public/rated.html",
        petition=petition,
        score=score,
        review_form=ReviewForm() if score == Score.UNSATISFIED.value else None,
        review_action=review_action,
    )


@bp.route("/rate/<token>", methods=["GET", "POST"])
def by_link(token: str):
    petition, _reply_no = ratings.petition_for_token(token)
    form = RatingForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            petition = ratings.rate_by_token(token, form.score.data, form.comment.data or "")
        except DomainError as exc:
            return _page(petition, form, error=str(exc), status=exc.status)
        return _done(petition, form.score.data, f"/rate/{token}/review")
    return _page(petition, form, status=422 if request.method == "POST" else 200)


@bp.post("/rate/<token>/review")
def review_by_link(token: str):
    petition, _reply_no = ratings.petition_for_token(token)
    form = ReviewForm()
    if not form.validate_on_submit():
        return _done(petition, Score.UNSATISFIED.value, f"/rate/{token}/review"), 422
    petition = actions.request_review(petition, form.reason.data, actor=CodeHolder(petition.id))
    return render_template("public/rated.html", petition=petition, score=None, review_requested=True)


def _own_petition(tracking_no: str) -> Petition:
    petition = db.session.scalar(select(Petition).where(Petition.tracking_no == tracking_no))
    if petition is None or petition.citizen_id != current_user.id:
        raise NotFound(_l("No petition matches this tracking number and query code."))
    return petition


@bp.route("/rate", methods=["GET", "POST"])
def by_code():
    """With tracking number and query code; a logged-in citizen rates their own without the code."""
    logged_in = current_user.is_authenticated and current_user.role == Role.CITIZEN
    form = CodeRatingForm()
    if logged_in:
        form.code.validators = [Optional()]
    if request.method == "GET":
        form.tracking_no.data = request.args.get("no", "")[:20]
        petition = None
        if logged_in and form.tracking_no.data:
            petition = _own_petition(form.tracking_no.data)
        return _page(petition, form, logged_in=logged_in)
    if not form.validate_on_submit():
        return _page(None, form, status=422, logged_in=logged_in)
    number = form.tracking_no.data.strip()
    try:
        if logged_in and not form.code.data:
            petition, actor = _own_petition(number), current_user._get_current_object()
        else:
            petition, actor = code_holder(number, form.code.data)
        petition = ratings.rate(petition, form.score.data, form.comment.data or "", actor=actor)
    except DomainError as exc:
        return _page(None, form, error=str(exc), status=exc.status, logged_in=logged_in)
    return _done(petition, form.score.data, None)
