"""The one input layer of the web faces: every path, query string and form passes here before
any view reads it (a before_request hook), so that no page meets input it cannot store or count.

- Characters no input may carry (FORBIDDEN_CHARS): the C0 controls but tab, line feed and
  carriage return, DEL and the C1 controls, and the bidirectional embeddings, overrides and
  isolates (they reorder what a reader sees). PostgreSQL cannot even store NUL. Paths, query
  strings and field names are one line: no tab or line break either. A query string or form
  that carries one is refused with 400 and changes nothing; a path, with 404 (no such page).
- Numbers: an `<int:…>` in a path is at most the largest id the database holds (2**31 - 1),
  else no route matches (404); the numbers that query strings and forms give by name
  (`numbers()`: page, per_page, year) are ASCII digits within their bounds, else 404: there
  is no such page or year.
- Bodies: a face with a smaller limit than MAX_CONTENT_LENGTH (`body_limits()`: Open311) has
  it set before any form is read.

The JSON API checks its own input with its models (petitions.web.api.spec), with the same
characters (TEXT_PATTERN is what its document says of every text it takes).
"""

from __future__ import annotations

import re

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

from petitions.extensions import settings
from petitions.i18n import lazy_gettext as _l

FORBIDDEN_CHARS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
FORBIDDEN = re.compile(f"[{FORBIDDEN_CHARS}]")
FORBIDDEN_ONE_LINE = re.compile(rf"[{FORBIDDEN_CHARS}\t\n\r]")
# Text as the API's document describes it (JSON Schema pattern; the same characters).
TEXT_PATTERN = f"^[^{FORBIDDEN_CHARS}]*$"
# The white space that str.strip() takes off (forbidden characters aside): a text of nothing
# else is empty, and a text that must be filled in needs one character more.
BLANK_CHARS = r"\t\n\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
FILLED_TEXT_PATTERN = f"^[^{FORBIDDEN_CHARS}]*[^{FORBIDDEN_CHARS}{BLANK_CHARS}][^{FORBIDDEN_CHARS}]*$"

# The largest id of an integer column (PostgreSQL `integer`).
MAX_ID = 2**31 - 1
DIGITS = re.compile(r"[0-9]{1,10}")


def numbers() -> dict[str, tuple[int, int]]:
    """Numbers the web faces take by name, from query strings and forms, with their bounds."""
    s = settings()
    return {
        "page": (1, s.page_max),
        "per_page": (1, s.per_page_max),
        "year": (s.year_min, s.year_max),
    }


def body_limits() -> dict[str, int]:
    """Faces whose requests are smaller than MAX_CONTENT_LENGTH, by path prefix: set before
    this layer reads any form, so that a body over its face's limit is a 413 unread."""
    return {"/open311/": settings().open311_max_bytes}


class IdConverter(IntegerConverter):
    """`<int:…>` of the web faces: 1 to MAX_ID; anything else matches no route (404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def forbidden_text(value: str, *, one_line: bool = False) -> bool:
    return (FORBIDDEN_ONE_LINE if one_line else FORBIDDEN).search(value) is not None


def _refuse() -> None:
    abort(400, description=str(_l("The request contains characters that are not allowed.")))


def check_request() -> None:
    """Refuse (400) forbidden characters anywhere in the path, query string or form, and
    (404) the numbers of NUMBERS that are not digits within their bounds."""
    if request.path.startswith("/api/"):
        return  # the API's models check its input, answering in its own error shape
    for prefix, limit in body_limits().items():
        if request.path.startswith(prefix):
            request.max_content_length = min(limit, settings().max_content_length)
    if forbidden_text(request.path, one_line=True):
        abort(404)
    bounds = numbers()
    sources = [(request.args, True)]
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        sources.append((request.form, False))
    for values, one_line in sources:
        for key, value in values.items(multi=True):
            if forbidden_text(key, one_line=True) or forbidden_text(value, one_line=one_line):
                _refuse()
            if key in bounds and value != "":
                low, high = bounds[key]
                if not DIGITS.fullmatch(value) or not low <= int(value) <= high:
                    abort(404)
    for key in request.files:
        if forbidden_text(key, one_line=True):
            _refuse()


def init_app(app: Flask) -> None:
    """Before the blueprints are registered: their `<int:…>` rules take the bounded converter."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(check_request)
