"""The JSON API (/api/v1): public and staff operations, declared with petitions.web.api.spec.

petitions.web.api.routes holds the public part and the token endpoint; the other modules of the
package that declare operations (staff, stats, ratings) are imported here when present.
"""

from importlib import import_module
from importlib.util import find_spec

from flask import Blueprint

bp = Blueprint("api", __name__, template_folder="templates")


@bp.record_once
def _json_provider(state) -> None:
    # JSON answers (the error shape included) keep Chinese unescaped and give times as
    # ISO 8601 with the local offset.
    from petitions.web.api.spec import ApiJSONProvider

    state.app.json = ApiJSONProvider(state.app)


from petitions.web.api import routes  # noqa: E402,F401

for _module in ("staff", "stats", "ratings"):
    if find_spec(f"petitions.web.api.{_module}") is not None:
        import_module(f"petitions.web.api.{_module}")
