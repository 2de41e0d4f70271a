"""Rate limits per client address, shared by every face (web form, JSON API, Open311).

A filing through the form and one through the API count against the same budget:
the limit is on the client, not on the door it came in by. Staff tokens are exempt
(see create_app).
"""

from __future__ import annotations

from petitions.extensions import limiter, settings

filing_limit = limiter.shared_limit(lambda: settings().ratelimit_filing, scope="filing")
lookup_limit = limiter.shared_limit(lambda: settings().ratelimit_lookup, scope="lookup")
