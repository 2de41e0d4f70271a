"""Default time limits and warning thresholds (domain.md, "The flow and its clocks").

Each clock has a statutory limit (法定时限) and a published, shorter committed limit
(承诺时限); deadlines run on the committed one. `unit` is "calendar" (自然日) or
"working" (工作日). A category may carry its own limits for the accept and handle
clocks; these are the defaults.
"""

from __future__ import annotations

TIME_LIMITS: dict[str, dict[str, object]] = {
    # 转送/交办: from registration to routing
    "route": {"statutory": 15, "committed": 5, "unit": "calendar"},
    # 是否受理: from receipt by the unit to the written acceptance decision
    "accept": {"statutory": 15, "committed": 7, "unit": "calendar"},
    # 办理: from acceptance to the written reply
    "handle": {"statutory": 60, "committed": 30, "unit": "calendar"},
    # 复查申请: the citizen may ask for review within this many days of the reply
    "review_request": {"statutory": 30, "committed": 30, "unit": "calendar"},
    # 复查意见
    "review": {"statutory": 30, "committed": 30, "unit": "calendar"},
    # 复核申请 and 复核意见
    "rereview_request": {"statutory": 30, "committed": 30, "unit": "calendar"},
    "rereview": {"statutory": 30, "committed": 30, "unit": "calendar"},
    # 即办件: same day
    "on_spot": {"statutory": 0, "committed": 0, "unit": "calendar"},
}

MAX_EXTENSION_DAYS = 30

WARNING: dict[str, float | int] = {
    # yellow when at most this share of the allowed time is left ...
    "yellow_fraction": 0.2,
    # ... or at most this many days, whichever comes first
    "yellow_days": 3,
    # urged (督办) after being red this many days
    "urge_after_days": 3,
}

# A calendar-day limit whose last day is a day off ends on the next workday (期间顺延).
ROLL_TO_WORKDAY = True

# Who is texted when, and how delivery is retried (notifications/).
NOTIFY: dict[str, object] = {
    # No SMS to staff in these local hours; messages wait until the end of them.
    "quiet_start": "21:00",
    "quiet_end": "08:00",
    # A clock still red (or urged) is reminded again daily at this local time.
    "repeat_at": "09:00",
    # Delivery: attempts in all, and the waits (seconds) between them.
    "max_attempts": 6,
    "backoff": [30, 120, 600, 1800, 3600],
    # The sweep checks that every queued row has a live job this often (seconds); each minute
    # in between, only the rows that fell due since its last check.
    "full_job_check_seconds": 600,
    # A row claimed for sending longer ago than this is taken back (its worker died).
    "sending_lease_seconds": 300,
    # Twilio's request timeout (seconds).
    "provider_timeout": 15,
}

# Clocks that are a unit's duty and so get levels, cards and reminders. The citizen's own
# windows for asking for review (review_request, rereview_request) are not supervised.
SUPERVISED_CLOCKS: tuple[str, ...] = ("route", "accept", "handle", "review", "rereview", "on_spot")
