"""An RQ worker for the fault tests, run as its own process: `python tests/rq_worker.py [--burst] [--fork]`.

With XF_NOW set (ISO 8601), the server clock is fixed at that instant, so that the worker
agrees with the test's controlled clock about what is due.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime

from redis import Redis
from rq import Queue, SimpleWorker, Worker

from petitions.domain.clocks import set_clock

if os.environ.get("XF_NOW"):
    fixed = datetime.fromisoformat(os.environ["XF_NOW"])
    set_clock(lambda: fixed)

connection = Redis.from_url(os.environ["REDIS_URL"])
worker_class = Worker if "--fork" in sys.argv else SimpleWorker
worker = worker_class(
    [Queue(os.environ.get("RQ_QUEUE", "petitions"), connection=connection)], connection=connection
)
worker.work(burst="--burst" in sys.argv, with_scheduler=False, logging_level="WARNING")
