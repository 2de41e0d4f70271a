"""Routes of the staff face."""

from petitions.staff import bp  # noqa: F401
