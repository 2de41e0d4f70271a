"""On PostgreSQL a request that only reads (GET, HEAD, OPTIONS) runs its statements without a
transaction: no BEGIN before them and no ROLLBACK after. A request that writes runs in one, and
so does a reading request from its first write or lock on (petitions.extensions
.reads_without_transaction)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError

from petitions.extensions import db, needs_transaction
from petitions.models import Unit
from tests.test_api_public import filing


@contextmanager
def watched() -> Iterator[list[tuple[str, bool, int]]]:
    """Each statement sent, whether its connection was in autocommit, and which connection."""
    seen: list[tuple[str, bool, int]] = []

    def watch(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, cursor.connection.autocommit, id(cursor.connection)))

    event.listen(db.engine, "before_cursor_execute", watch)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", watch)


REFERENCE_READS = ("SELECT categories.", "SELECT units.", "SELECT routing_rules.")


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_get_reads_in_autocommit_and_the_next_post_writes_in_a_transaction(app, postgres, client, staff_token):
    headers = _auth(staff_token("intake"))
    db.session.remove()
    with watched() as reads:
        assert client.get("/api/v1/queue", headers=headers).status_code == 200
    # The reference cache reads its tables, now and then, in a session of its own.
    reads = [r for r in reads if not r[0].startswith(REFERENCE_READS)]
    assert reads and all(autocommit for _statement, autocommit, _conn in reads), reads
    db.session.remove()
    # Every connection went back to the pool out of autocommit.
    pooled = [db.engine.raw_connection() for _ in range(db.engine.pool.checkedin())]
    try:
        assert pooled and not any(c.driver_connection.autocommit for c in pooled)
    finally:
        for c in pooled:
            c.close()
    with watched() as writes:
        assert client.post("/api/v1/petitions", json=filing()).status_code == 201
    assert writes and not any(autocommit for _statement, autocommit, _conn in writes), writes


def test_a_reading_request_that_writes_does_so_in_one_transaction(app, postgres):
    db.session.remove()
    with app.test_request_context("/", method="GET"), watched() as seen:
        assert db.session.scalar(select(Unit.id).where(Unit.code == "dongcheng")) is not None
        db.session.add(Unit(code="tx-first", name="先写的单位", kind="department"))
        db.session.flush()
        db.session.add(Unit(code="tx-first", name="同一代码", kind="department"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
    db.session.remove()
    assert seen[0][1] is True, "the read before any write runs in autocommit"
    inserts = [autocommit for statement, autocommit, _conn in seen if statement.lstrip().upper().startswith("INSERT")]
    assert inserts == [False, False]
    # The first insert went with the failed second: nothing of it is left.
    assert db.session.scalar(select(Unit.id).where(Unit.code == "tx-first")) is None


def test_a_lock_taken_in_a_reading_request_is_held_until_its_commit(app, postgres):
    db.session.remove()
    with app.test_request_context("/", method="GET"):
        db.session.execute(text("SELECT pg_advisory_xact_lock(424242)"))
        holders = db.session.scalar(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 424242 AND granted")
        )
        db.session.commit()
    db.session.remove()
    assert holders == 1


@pytest.mark.parametrize(
    ("statement", "needs"),
    [
        ("SELECT petitions.id FROM petitions WHERE petitions.id = %(id)s", False),
        ("  select 1", False),
        ("SELECT petitions.id FROM petitions WHERE petitions.id = %(id)s FOR UPDATE OF petitions", True),
        ("SELECT 1 FROM clocks FOR NO KEY UPDATE", True),
        ("SELECT 1 FROM clocks FOR SHARE", True),
        ("SELECT pg_advisory_xact_lock(%(k)s)", True),
        ("INSERT INTO units (code) VALUES (%(code)s)", True),
        ("WITH t0 AS (INSERT INTO events (type) VALUES ('x') RETURNING id) SELECT id FROM t0", True),
        ("UPDATE petitions SET version = version + 1", True),
        ("DELETE FROM shown_once WHERE id = 1", True),
    ],
)
def test_which_statements_need_a_transaction(statement, needs):
    assert needs_transaction(statement) is needs
