"""Routes of the citizen face."""

from petitions.citizen import bp  # noqa: F401
