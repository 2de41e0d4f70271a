"""An RQ worker for the fault tests, run as its own process: `python tests/rq_worker.py [--burst] [--fork]`.

It starts as `flask worker` does (notifications.worker: the app built once, jobs run in it).
With XF_NOW set (ISO 8601), the server clock is fixed at that instant, so that the worker
agrees with the test's controlled clock about what is due; TWILIO_API_URL (a setting) points
the real Twilio client at the test's stand-in.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime

from app import create_app
from notifications import worker
from petitions.domain.clocks import set_clock

if os.environ.get("XF_NOW"):
    fixed = datetime.fromisoformat(os.environ["XF_NOW"])
    set_clock(lambda: fixed)

app = create_app()
worker.run_worker(app, burst="--burst" in sys.argv, fork="--fork" in sys.argv, with_scheduler=False)
