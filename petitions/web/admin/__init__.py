"""The administrator's area: units, categories, routing rules, users."""

# The views, registered on the blueprint as they are imported.
from petitions.web.admin import calendar, open311, routes, security  # noqa: F401
from petitions.web.admin.blueprint import bp

__all__ = ["bp"]
