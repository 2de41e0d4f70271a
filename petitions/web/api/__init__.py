"""The JSON API (/api/v1): public and staff operations, declared with petitions.web.api.spec.

petitions.web.api.routes holds the public part and the token endpoint; staff, stats and
ratings the other operations.
"""

# The views, registered on the blueprint as they are imported.
from petitions.web.api import ratings, routes, staff, stats  # noqa: F401
from petitions.web.api.blueprint import bp

__all__ = ["bp"]
