"""The open311 face's blueprint: its views register on it (imported by the package)."""

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
