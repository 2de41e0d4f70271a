"""The soak benchmark's count (bench/soak.py, `account`) on a tiny run: what it calls lost,
delivered and duplicated is what happened.

The soak itself (bench/soak.py --quick, about two minutes with its start-up) is left to the
benchmark; here the same count runs on a few petitions filed, swept and delivered in the
test's own app, with one message never delivered and one sent twice.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from notifications import jobs, queueing, sms
from petitions.extensions import settings
from tests.notify_support import file, outbox_rows, run_jobs

pytest_plugins = ["tests.notify_support"]

BENCH = Path(__file__).resolve().parent.parent / "bench"
YELLOW_TIME = datetime(2026, 3, 7, 2, 0, tzinfo=UTC)  # Saturday 10:00 local: the accept clocks turn yellow


def _soak():
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    import soak

    return soak


def test_the_soak_counts_lost_delivered_and_duplicated_messages(app, db, clock, twilio, staff_phones):
    soak = _soak()
    delivered = [file(db) for _ in range(2)]
    undelivered = file(db)
    clock.set(YELLOW_TIME)
    assert jobs.sweep()["owed"] == 3
    # One text's job is lost before any worker runs it: owed, never delivered.
    lost = next(r for r in outbox_rows(db) if r.petition_id == undelivered.id)
    queueing.queue().remove(queueing.delivery_job_id(lost.id))
    run_jobs(app)
    rows = {r.petition_id: r for r in outbox_rows(db)}
    assert [rows[p.id].status for p in delivered] == ["sent", "sent"]
    assert rows[undelivered.id].status == "queued"
    # A second copy of the first message reaches the provider (as after a crash mid-send).
    first = rows[delivered[0].id]
    sms.sender_for(settings()).send(first.recipient.phone, first.body)

    ledger = soak.Ledger()
    for p in [*delivered, undelivered]:
        ledger.filed[p.tracking_no] = p.unit.code
    report = soak.account(db.engine, list(twilio.accepted), ledger, sweep_seconds=60)

    assert (report["filings_201"], report["filings_found"]) == (3, 3)
    assert report["events_missing"] == report["events_extra"] == report["status_without_event"] == 0
    assert report["cards"] == report["card_events"] == {"yellow": 3}
    assert (report["owed"], report["received"], report["delivered_rows"]) == (3, 3, 2)
    assert report["lost"] == 1 and report["lost_rows"][0][0] == rows[undelivered.id].id
    assert report["duplicates"] == 1 and report["duplicate_rows"] == [(first.id, 1)]
    assert report["unowed_messages"] == 0
    assert report["crossings_texted"] == 2
    problems = soak.verdict(report, ledger)
    assert any("never delivered" in p for p in problems) and any("duplicates" in p for p in problems)

    # A message nobody owed is counted as such, not as a delivery.
    sms.sender_for(settings()).send("13900009999", "不属于任何一条待发短信")
    report = soak.account(db.engine, list(twilio.accepted), ledger, sweep_seconds=60)
    assert report["unowed_messages"] == 1 and report["delivered_rows"] == 2
