"""SMS through the real twilio client against a local stand-in of its Messages API, the
console sender, the templates, and the signed status callback."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from rq.job import Job
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from config import sms_templates
from notifications import jobs, outbox, queueing, sms
from petitions.models import Outbox
from petitions.services import messages
from tests.notify_support import file, outbox_rows, run_jobs

pytest_plugins = ["tests.notify_support"]

YELLOW_TIME = datetime(2026, 3, 7, 2, 0, tzinfo=UTC)  # Saturday 10:00 in the bureau


def _yellow_row(db, clock):
    petition = file(db)
    clock.set(YELLOW_TIME)
    jobs.sweep()
    (row,) = outbox_rows(db, petition.id)
    return row


def test_5xx_is_retried_with_backoff_then_sent_once(app, db, clock, twilio, staff_phones):
    twilio.fail_next("500")
    row = _yellow_row(db, clock)
    run_jobs(app)
    db.session.expire_all()
    row = db.session.get(Outbox, row.id)
    assert (row.status, row.attempts) == ("queued", 1)
    assert "Twilio 500" in row.last_error
    assert row.next_attempt_at == YELLOW_TIME + timedelta(seconds=app.extensions["settings"].notify.backoff[0])
    # RQ holds the retry in its scheduler.
    job = Job.fetch(queueing.delivery_job_id(row.id), connection=queueing.connection())
    assert job.get_status() == "scheduled"
    # Not before its time, even if a job runs early ...
    assert outbox.deliver(row.id) == "skipped"
    # ... then sent.
    clock.advance(seconds=31)
    assert outbox.deliver(row.id) == "sent"
    db.session.expire_all()
    row = db.session.get(Outbox, row.id)
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(twilio.accepted) == 1 and [r.outcome[:2] for r in twilio.requests] == ["50", "SM"]


def test_timeout_is_retried(app, db, clock, twilio, staff_phones):
    twilio.hang_seconds = 2.5  # the client gives up after 1 s (provider_timeout in the fixture)
    twilio.fail_next("hang")
    row = _yellow_row(db, clock)
    assert outbox.deliver(row.id) == "retry"
    db.session.expire_all()
    row = db.session.get(Outbox, row.id)
    assert row.status == "queued" and "Timeout" in row.last_error
    clock.advance(minutes=1)
    assert outbox.deliver(row.id) == "sent"
    assert len(twilio.accepted) == 1


def test_bad_number_fails_and_is_never_retried(app, db, clock, twilio, staff_phones):
    twilio.fail_next("bad_number")
    row = _yellow_row(db, clock)
    run_jobs(app)
    db.session.expire_all()
    row = db.session.get(Outbox, row.id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "21211" in row.last_error
    clock.advance(days=1)
    jobs.sweep()
    run_jobs(app)
    assert outbox.deliver(row.id) == "skipped"
    assert len(twilio.requests) == 1


def test_gives_up_after_max_attempts(app, db, clock, twilio, staff_phones):
    attempts = app.extensions["settings"].notify.max_attempts
    twilio.fail_next("500", attempts)
    row = _yellow_row(db, clock)
    results = []
    for _ in range(attempts):
        results.append(outbox.deliver(row.id))
        clock.advance(hours=2)
    assert results == ["retry"] * (attempts - 1) + ["failed"]
    db.session.expire_all()
    row = db.session.get(Outbox, row.id)
    assert row.status == "failed" and row.last_error.startswith(f"gave up after {attempts} attempts")


def test_console_sender_prints_and_records_when_twilio_is_not_configured(
    app, db, clock, staff_phones, capsys
):
    assert not app.extensions["settings"].twilio.configured
    row = _yellow_row(db, clock)
    before = len(sms.console().sent)
    assert outbox.deliver(row.id) == "sent"
    out = capsys.readouterr().out
    assert "[SMS → 13800000001]" in out and "黄牌预警" in out
    assert sms.console().sent[before][0] == "13800000001"
    db.session.expire_all()
    assert db.session.get(Outbox, row.id).provider_id.startswith("console-")


def test_templates_are_short_and_carry_number_and_link(app):
    values = dict(no="XF20260302123456", clock="办理", due="3月9日", days=3, unit="东城街道办事处")
    for purpose in sms_templates.TEMPLATES:
        text = messages.render(purpose, link="https://xf.example.cn/t", **values)
        assert "XF20260302123456" in text and "https://xf.example.cn/t" in text
        # One UCS-2 segment is 70 characters.
        assert len(text) <= 70, (purpose, len(text))


# ---------------------------------------------------------------- status callbacks


def _sent_row(db, clock, twilio) -> Outbox:
    row = _yellow_row(db, clock)
    assert outbox.deliver(row.id) == "sent"
    db.session.expire_all()
    return db.session.get(Outbox, row.id)


def _post(client, app, params: dict, *, token: str | None = None, url: str | None = None):
    url = url or app.extensions["settings"].base_url.rstrip("/") + "/webhooks/twilio/status"
    signature = RequestValidator(token or app.extensions["settings"].twilio.auth_token).compute_signature(url, params)
    return client.post("/webhooks/twilio/status", data=params, headers={"X-Twilio-Signature": signature})


def test_status_callback_moves_forward_only(app, db, client, clock, twilio, staff_phones):
    row = _sent_row(db, clock, twilio)
    params = {"MessageSid": row.provider_id, "MessageStatus": "delivered", "AccountSid": twilio.account_sid}
    response = _post(client, app, params)
    assert response.status_code == 200 and response.json == {"updated": True}
    db.session.expire_all()
    assert db.session.get(Outbox, row.id).status == "delivered"
    # The same callback again (a replay), and a late "sent": nothing moves back.
    assert _post(client, app, params).json == {"updated": False}
    assert _post(client, app, {**params, "MessageStatus": "sent"}).json == {"updated": False}
    assert _post(client, app, {**params, "MessageStatus": "failed"}).json == {"updated": False}
    db.session.expire_all()
    assert db.session.get(Outbox, row.id).status == "delivered"


def test_undelivered_callback_marks_failed(app, db, client, clock, twilio, staff_phones):
    row = _sent_row(db, clock, twilio)
    params = {"MessageSid": row.provider_id, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    assert _post(client, app, params).json == {"updated": True}
    db.session.expire_all()
    row = db.session.get(Outbox, row.id)
    assert row.status == "failed" and "30003" in row.last_error


def test_forged_or_unsigned_callback_changes_nothing(app, db, client, clock, twilio, staff_phones):
    row = _sent_row(db, clock, twilio)
    params = {"MessageSid": row.provider_id, "MessageStatus": "delivered"}
    forged = _post(client, app, params, token="not-the-token")
    unsigned = client.post("/webhooks/twilio/status", data=params)
    # Signed for other parameters (a tampered body).
    url = app.extensions["settings"].base_url.rstrip("/") + "/webhooks/twilio/status"
    sig = RequestValidator(twilio.auth_token).compute_signature(url, {**params, "MessageStatus": "sent"})
    tampered = client.post("/webhooks/twilio/status", data=params, headers={"X-Twilio-Signature": sig})
    assert [r.status_code for r in (forged, unsigned, tampered)] == [403, 403, 403]
    assert forged.json["error"]["code"] == "forbidden"
    db.session.expire_all()
    assert db.session.get(Outbox, row.id).status == "sent"
    # A verified callback for a message we never sent changes nothing either.
    assert _post(client, app, {"MessageSid": "SMnope", "MessageStatus": "delivered"}).json == {
        "updated": False
    }
    assert db.session.scalar(select(Outbox.status).where(Outbox.id == row.id)) == "sent"


def test_the_environment_sets_the_provider_address_and_the_delivery_timing():
    from config.settings import Notify, Schedule, Settings

    s = Settings.from_env(
        {
            "TWILIO_API_URL": "http://127.0.0.1:9999",
            "NOTIFY_BACKOFF": "3, 5,10",
            "NOTIFY_MAX_ATTEMPTS": "4",
            "NOTIFY_SENDING_LEASE_SECONDS": "20",
            "NOTIFY_PROVIDER_TIMEOUT": "2.5",
            "NOTIFY_QUIET_START": "00:00",
            "NOTIFY_QUIET_END": "00:00",
            "SCHEDULE_SWEEP_SECONDS": "15",
        }
    )
    assert s.twilio.api_url == "http://127.0.0.1:9999"
    assert s.notify.backoff == (3, 5, 10)
    assert (s.notify.max_attempts, s.notify.sending_lease_seconds, s.notify.provider_timeout) == (4, 20, 2.5)
    assert (s.notify.quiet_start, s.notify.quiet_end) == ("00:00", "00:00")
    assert s.schedule.sweep == 15
    # Unset: the defaults, Twilio's own address among them.
    d = Settings.from_env({})
    assert d.twilio.api_url == "https://api.twilio.com"
    assert d.notify == Notify() and d.schedule == Schedule()


def test_the_twilio_client_talks_to_the_configured_address(app, twilio, monkeypatch):
    """TWILIO_API_URL alone (no patched client factory) reaches a server that speaks Twilio's API."""
    from notifications import sms
    from tests.conftest import configure

    monkeypatch.setattr(sms, "http_client_factory", sms.twilio_http_client)
    settings = app.extensions["settings"]
    configure(app, twilio=dataclasses.replace(settings.twilio, api_url=twilio.url))
    sent = sms.sender_for(app.extensions["settings"]).send("13900001111", "测试")
    assert sent.provider_id == twilio.accepted[0].outcome
    assert twilio.bodies() == [("+8613900001111", "测试")]
