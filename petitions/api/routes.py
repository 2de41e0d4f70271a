"""Routes of the api face."""

from petitions.api import bp  # noqa: F401
