"""Idempotency-Key on POST /api/v1/petitions: one petition per key and body, the first answer
replayed, a reused key refused, keys scoped by caller, expired keys ignored, and concurrent
duplicates that cannot both create."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select

from petitions.domain.clocks import set_clock
from petitions.domain.errors import Conflict
from petitions.models import IdempotencyKey, Petition
from petitions.services import idempotency
from tests.test_api_public import count, filing

pytestmark = pytest.mark.calendar


def post(client, body, key, token=None):
    headers = {"Idempotency-Key": key}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return client.post("/api/v1/petitions", json=body, headers=headers)


def test_same_key_and_body_twice_gives_one_petition_and_the_same_answer(client, db):
    before = count(db)
    first = post(client, filing(), "3f1c2a9e-key-1")
    second = post(client, filing(), "3f1c2a9e-key-1")
    assert first.status_code == second.status_code == 201
    assert second.data == first.data
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert count(db) == before + 1
    # The same body with the keys in another order and other spacing is the same body.
    body = dict(reversed(list(filing().items())))
    assert post(client, body, "3f1c2a9e-key-1").data == first.data
    assert count(db) == before + 1


def test_same_key_with_another_body_is_refused(client, db):
    assert post(client, filing(), "key-2").status_code == 201
    before = count(db)
    res = post(client, filing(title="另一件事"), "key-2")
    assert res.status_code == 422
    error = res.get_json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert "Idempotency-Key" in error["fields"]
    assert count(db) == before


def test_without_a_key_each_post_files_anew(client, db):
    before = count(db)
    assert client.post("/api/v1/petitions", json=filing()).status_code == 201
    assert client.post("/api/v1/petitions", json=filing()).status_code == 201
    assert count(db) == before + 2


def test_keys_are_scoped_by_caller_not_by_address(client, db, staff_token):
    before = count(db)
    anonymous = post(client, filing(), "key-3")
    # Another citizen's phone behind the same carrier NAT, or the same phone on another
    # network: the same key and body from any anonymous caller is the same request.
    again = client.post(
        "/api/v1/petitions",
        json=filing(),
        headers={"Idempotency-Key": "key-3"},
        environ_overrides={"REMOTE_ADDR": "10.9.8.7"},
    )
    assert again.data == anonymous.data
    assert count(db) == before + 1
    # A staff user's key is theirs alone.
    staff = post(client, filing(), "key-3", token=staff_token("intake"))
    assert staff.status_code == 201
    assert staff.get_json()["tracking_no"] != anonymous.get_json()["tracking_no"]
    other_staff = post(client, filing(), "key-3", token=staff_token("admin"))
    assert other_staff.get_json()["tracking_no"] not in (
        anonymous.get_json()["tracking_no"],
        staff.get_json()["tracking_no"],
    )
    assert count(db) == before + 3


def test_an_expired_key_is_ignored_and_purged(client, db, app):
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    set_clock(lambda: start)
    first = post(client, filing(), "key-4")
    ttl = app.extensions["settings"].idempotency_ttl_hours
    set_clock(lambda: start + timedelta(hours=ttl) - timedelta(minutes=1))
    assert post(client, filing(), "key-4").data == first.data
    set_clock(lambda: start + timedelta(hours=ttl, minutes=1))
    later = post(client, filing(), "key-4")
    assert later.status_code == 201 and "Idempotent-Replayed" not in later.headers
    assert later.get_json()["tracking_no"] != first.get_json()["tracking_no"]
    keys = db.session.scalars(select(IdempotencyKey).where(IdempotencyKey.key == "key-4")).all()
    assert len(keys) == 1 and keys[0].response == later.get_data(as_text=True)


def test_purge_expired(client, db, app):
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    set_clock(lambda: start)
    post(client, filing(), "key-5")
    assert idempotency.purge_expired() == 0
    set_clock(lambda: start + timedelta(hours=app.extensions["settings"].idempotency_ttl_hours + 1))
    assert idempotency.purge_expired() == 1
    assert db.session.scalar(select(func.count(IdempotencyKey.id))) == 0


def test_a_refused_request_does_not_use_up_its_key(client, db):
    before = count(db)
    bad = post(client, filing(township="atlantis"), "key-6")
    assert bad.status_code == 422 and set(bad.get_json()["error"]["fields"]) == {"township"}
    # The client corrects the body and retries with the same key: the first try created nothing.
    good = post(client, filing(), "key-6")
    assert good.status_code == 201
    assert count(db) == before + 1
    assert db.session.scalar(select(func.count(IdempotencyKey.id))) == 1


@pytest.mark.parametrize("key", ["", "k" * 129, "钥匙", "a b"])
def test_malformed_keys_are_refused(client, db, key):
    before = count(db)
    res = post(client, filing(), key)
    assert res.status_code == 422
    assert res.get_json()["error"]["code"] == "invalid_idempotency_key"
    assert count(db) == before


def test_a_key_still_in_progress_answers_409(app, db):
    scope = idempotency.scope_for("POST", "/api/v1/petitions", None)
    assert idempotency.begin("key-7", scope, "hash") is None
    with pytest.raises(Conflict) as exc:
        idempotency.begin("key-7", scope, "hash")
    assert exc.value.code == "idempotency_in_progress"
    idempotency.finish("key-7", scope, 201, '{"ok": true}')
    stored = idempotency.begin("key-7", scope, "hash")
    assert (stored.status, stored.body) == (201, '{"ok": true}')


def test_concurrent_duplicates_create_one_petition(postgres, live_server, db):
    """Eight clients send the same key and body at once: one petition, every answer the same or 409."""
    before = count(db)
    answers: list[requests.Response] = []
    barrier = threading.Barrier(8)

    def send():
        barrier.wait()
        answers.append(
            requests.post(
                f"{live_server}/api/v1/petitions",
                json=filing(),
                headers={"Idempotency-Key": "key-8"},
                timeout=30,
            )
        )

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db.session.rollback()
    assert count(db) == before + 1
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {201, 409} and 201 in statuses
    created = {a.json()["tracking_no"] for a in answers if a.status_code == 201}
    assert len(created) == 1
    for a in answers:
        if a.status_code == 409:
            assert a.json()["error"]["code"] == "idempotency_in_progress"
    assert db.session.scalar(select(func.count(Petition.id)).where(Petition.tracking_no.in_(created))) == 1
