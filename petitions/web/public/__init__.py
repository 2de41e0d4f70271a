"""The public pages (政务公开): catalogue, measures, published replies."""

from petitions.web.public import routes  # noqa: F401
from petitions.web.public.blueprint import bp
from petitions.web.public.rating import bp as rating_bp


@bp.record_once
def _rating_pages(state) -> None:
    # The rating pages live at /rate (the SMS link's address), outside /public.
    state.app.register_blueprint(rating_bp)

__all__ = ["bp"]
