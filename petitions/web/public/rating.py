"""The citizen's rating pages: from the SMS link (/rate/<token>), or by tracking number and
query code, or logged in (/rate). The thank-you page says what happens next; unsatisfied
offers the review request right there, and /rate/<token>/review asks for review at any time
the workflow allows it.

Every page where the citizen sees their petition offers these through `rating_offers` (the
links of the SMS message, signed for the latest reply)."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms import RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from petitions.domain.errors import DomainError, NotFound
from petitions.extensions import db
from petitions.i18n import lazy_gettext as _l
from petitions.models import Petition, Role, Score
from petitions.services import actions, ratings
from petitions.services.access import CodeHolder
from petitions.web.forms import Form
from petitions.web.presenters import citizen_view
from petitions.web.ratelimits import code_holder

bp = Blueprint("rating", __name__)

SCORES = [
    (Score.SATISFIED.value, _l("Satisfied")),
    (Score.BASICALLY_SATISFIED.value, _l("Basically satisfied")),
    (Score.UNSATISFIED.value, _l("Unsatisfied")),
]
SCORE_LABELS = dict(SCORES)


class RatingForm(Form):
    score = RadioField(
        _l("How satisfied are you with the reply?"),
        choices=SCORES,
        validators=[DataRequired(_l("Please choose how satisfied you are with the reply."))],
    )
    comment = TextAreaField(
        _l("Comment (optional)"),
        validators=[Optional(), Length(max=2000, message=_l("At most %(max)d characters."))],
    )


class CodeRatingForm(RatingForm):
    tracking_no = StringField(
        _l("Tracking number"),
        validators=[DataRequired(_l("Please enter the tracking number.")), Length(max=20)],
    )
    code = StringField(
        _l("Query code"), validators=[DataRequired(_l("Please enter the query code.")), Length(max=64)]
    )


class ReviewForm(Form):
    reason = TextAreaField(
        _l("Why do you disagree with the reply?"),
        validators=[
            DataRequired(_l("Please say why you disagree with the reply.")),
            Length(max=5000, message=_l("At most %(max)d characters.")),
        ],
    )


@bp.app_template_global("score_label")
def score_label(score: str) -> str:
    return str(SCORE_LABELS.get(score, score))


@bp.app_template_global("rating_offers")
def rating_offers(petition: Petition, view: dict) -> dict:
    """Where this petition's citizen may rate the reply and ask for review now (None: not now)."""
    if not (view.get("can_rate") or view.get("can_request_review")):
        return {}
    token = ratings.link_token(petition)
    if token is None:
        return {}
    return {
        "rate": url_for("rating.by_link", token=token) if view["can_rate"] else None,
        "review": url_for("rating.review_by_link", token=token) if view["can_request_review"] else None,
        "review_due_at": view.get("review_due_at"),
    }


def _refused(form, exc: DomainError) -> None:
    """A refusal from the rules, at the top of the form with the field errors."""
    form.form_errors.append(str(exc.message))


def _page(petition: Petition | None, form, *, status: int = 200, **extra):
    reply = actions.latest_issued(petition) if petition is not None else None
    return render_template("public/rate.html", petition=petition, reply=reply, form=form, **extra), status


def _done(petition: Petition, score: str, review_action: str | None):
    """The thank-you page: what the citizen said, and what happens next."""
    view = citizen_view(petition)
    return render_template(
        "public/rated.html",
        petition=petition,
        view=view,
        score=score,
        score_label=SCORE_LABELS.get(score, score),
        # Unsatisfied: the review request right there (the other pages offer it too, while allowed).
        review_form=ReviewForm() if score == Score.UNSATISFIED.value and view["can_request_review"] else None,
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
            _refused(form, exc)
            return _page(petition, form, status=exc.status)
        return _done(petition, form.score.data, url_for("rating.review_by_link", token=token))
    return _page(petition, form, status=422 if request.method == "POST" else 200)


@bp.route("/rate/<token>/review", methods=["GET", "POST"])
def review_by_link(token: str):
    """Ask the superior unit for review (复查) of the reply, or re-review (复核) of the opinion."""
    petition, _reply_no = ratings.petition_for_token(token)
    form = ReviewForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                petition = actions.request_review(petition, form.reason.data, actor=CodeHolder(petition.id))
            except DomainError as exc:
                _refused(form, exc)
                status = exc.status
            else:
                return render_template(
                    "public/rated.html", petition=petition, view=citizen_view(petition), review_requested=True
                )
        else:
            status = 422
    view = citizen_view(petition)
    return render_template(
        "public/review.html",
        petition=petition,
        view=view,
        reply=actions.latest_issued(petition),
        form=form,
    ), status


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
        _refused(form, exc)
        return _page(None, form, status=exc.status, logged_in=logged_in)
    token = ratings.link_token(petition)
    return _done(petition, form.score.data, url_for("rating.review_by_link", token=token) if token else None)
