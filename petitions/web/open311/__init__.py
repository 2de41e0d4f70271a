"""Open311 GeoReport v2 (/open311/v2/, JSON): categories as services, filing and following petitions.

Errors have the specification's shape, `[{"code": 400, "description": "..."}]`, with the
same HTTP status; petitions.web sends every error under /open311/ through `error_response`.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, Response

from petitions.web import ERROR_SHAPES
from petitions.web.jsonout import json_response

bp = Blueprint("open311", __name__)


def error_response(
    status: int, description: str, headers: Mapping[str, str] | None = None, details: list[str] | None = None
) -> Response:
    descriptions = details or [description]
    return json_response([{"code": status, "description": d} for d in descriptions], status, headers)


# Every error under /open311/ answers in the specification's shape.
ERROR_SHAPES["/open311/"] = error_response

from petitions.web.open311 import routes  # noqa: E402,F401
