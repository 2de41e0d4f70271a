"""Rate limits per client address, shared by every face (web form, JSON API, Open311).

A filing through the form and one through the API count against the same budget:
the limit is on the client, not on the door it came in by. Staff tokens are exempt
(see petitions.web.init_app).
"""

from __future__ import annotations

from flask import current_app

from petitions.extensions import limiter

filing_limit = limiter.shared_limit(lambda: current_app.config["RATELIMIT_FILING"], scope="filing")
lookup_limit = limiter.shared_limit(lambda: current_app.config["RATELIMIT_LOOKUP"], scope="lookup")
