"""Routes of the public face."""

from petitions.public import bp  # noqa: F401
