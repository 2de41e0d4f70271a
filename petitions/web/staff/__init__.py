"""Staff pages: intake queue, unit queues, the petition page, the leader's inbox."""

# The views, registered on the blueprint as they are imported.
from petitions.web.staff import notices, routes  # noqa: F401
from petitions.web.staff.blueprint import bp

__all__ = ["bp"]
