"""The public pages (政务公开): catalogue, measures, published replies."""

from flask import Blueprint

bp = Blueprint("public", __name__, template_folder="templates")

from petitions.public import routes  # noqa: E402,F401
