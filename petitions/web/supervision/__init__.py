"""Electronic supervision (电子监察): clocks, cards, rankings."""

from flask import Blueprint

bp = Blueprint("supervision", __name__, template_folder="templates")

from petitions.web.supervision import rankings, routes  # noqa: E402,F401
