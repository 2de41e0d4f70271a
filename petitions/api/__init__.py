"""The JSON API (/api/v1)."""

from flask import Blueprint

bp = Blueprint("api", __name__, template_folder="templates")

from petitions.api import routes  # noqa: E402,F401
