"""Routes of the supervision face."""

from petitions.supervision import bp  # noqa: F401
