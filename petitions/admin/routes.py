"""Routes of the admin face."""

from petitions.admin import bp  # noqa: F401
