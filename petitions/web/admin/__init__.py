"""The administrator's area: units, categories, routing rules, users."""

from flask import Blueprint

bp = Blueprint("admin", __name__, template_folder="templates")

from petitions.web.admin import calendar, open311, routes, security  # noqa: E402,F401
