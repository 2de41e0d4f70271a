"""Default time limits (domain.md, "The flow and its clocks").

Each clock has a statutory limit (法定时限) and a published, shorter committed limit
(承诺时限); deadlines run on the committed one. The day unit is "calendar" (自然日) or
"working" (工作日). A category may carry its own limits for the accept and handle clocks
(petitions.domain.clocks.KINDS says which); these are the defaults. The warning thresholds
are petitions.domain.clocks.Thresholds, set in config/settings.py.
"""

from __future__ import annotations

from petitions.domain.clocks import Limit

TIME_LIMITS: dict[str, Limit] = {
    # 转送/交办: from registration to routing
    "route": Limit(statutory=15, committed=5),
    # 是否受理: from receipt by the unit to the written acceptance decision
    "accept": Limit(statutory=15, committed=7),
    # 办理: from acceptance to the written reply
    "handle": Limit(statutory=60, committed=30),
    # 复查申请: the citizen may ask for review within this many days of the reply
    "review_request": Limit(statutory=30, committed=30),
    # 复查意见
    "review": Limit(statutory=30, committed=30),
    # 复核申请 and 复核意见
    "rereview_request": Limit(statutory=30, committed=30),
    "rereview": Limit(statutory=30, committed=30),
    # 即办件: same day
    "on_spot": Limit(statutory=0, committed=0),
}

# An extension (延期) adds at most this many days, once, approved by the unit leader.
MAX_EXTENSION_DAYS = 30
