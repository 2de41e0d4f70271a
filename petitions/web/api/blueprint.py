"""The api face's blueprint: its views register on it (imported by the package)."""

from flask import Blueprint

from petitions.web.jsonout import ApiJSONProvider

bp = Blueprint("api", __name__, template_folder="templates")


@bp.record_once
def _json_provider(state) -> None:
    # JSON answers (the error shape included) keep Chinese unescaped and give times as
    # ISO 8601 with the local offset.
    state.app.json = ApiJSONProvider(state.app)
