"""The citizen's pages: register, log in, file, look up, my petitions."""

from flask import Blueprint

bp = Blueprint("citizen", __name__, template_folder="templates")

from petitions.web.citizen import routes  # noqa: E402,F401
