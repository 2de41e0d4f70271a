"""The public pages (政务公开): catalogue, measures, published replies."""

from flask import Blueprint

bp = Blueprint("public", __name__, template_folder="templates")

from petitions.web.public import routes  # noqa: E402,F401
from petitions.web.public.rating import bp as rating_bp  # noqa: E402


@bp.record_once
def _rating_pages(state) -> None:
    # The rating pages live at /rate (the SMS link's address), outside /public.
    state.app.register_blueprint(rating_bp)
