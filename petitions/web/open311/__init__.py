"""Open311 GeoReport v2 (/open311/v2/, JSON): categories as services, filing and following petitions.

Errors have the specification's shape, `[{"code": 400, "description": "..."}]`, with the
same HTTP status; petitions.web sends every error under /open311/ through `error_response`.
"""

# The views, registered on the blueprint as they are imported.
from petitions.web.open311 import routes  # noqa: F401
from petitions.web.open311.blueprint import bp

__all__ = ["bp"]
