"""Electronic supervision (电子监察): clocks, cards, rankings."""

# The views, registered on the blueprint as they are imported.
from petitions.web.supervision import rankings, routes  # noqa: F401
from petitions.web.supervision.blueprint import bp

__all__ = ["bp"]
