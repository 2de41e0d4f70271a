"""The JSON API (/api/v1): public and staff operations, declared with petitions.web.api.spec.

petitions.web.api.routes holds the public part and the token endpoint; staff, stats and
ratings the other operations.
"""

from flask import Blueprint

from petitions.web.jsonout import ApiJSONProvider

bp = Blueprint("api", __name__, template_folder="templates")


@bp.record_once
def _json_provider(state) -> None:
    # JSON answers (the error shape included) keep Chinese unescaped and give times as
    # ISO 8601 with the local offset.
    state.app.json = ApiJSONProvider(state.app)


from petitions.web.api import ratings, routes, staff, stats  # noqa: E402,F401
