"""Staff pages: intake queue, unit queues, the petition page, the leader's inbox."""

from flask import Blueprint

bp = Blueprint("staff", __name__, template_folder="templates")

from petitions.web.staff import notices, routes  # noqa: E402,F401
