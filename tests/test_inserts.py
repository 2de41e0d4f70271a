"""A unit of work's new rows written with plain INSERTs (petitions.services.inserts): the same
rows as the session's flush writes, objects that read without SQL afterwards, and nothing
written when the session holds anything else."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import event, select

from petitions.extensions import db
from petitions.models import Clock, Event, MeasureFact, Petition, User
from petitions.services import inserts
from tests.conftest import is_postgres
from tests.handling import file, user

IGNORED = {"id", "petition_id", "tracking_no", "query_code_hash", "title", "created_at", "updated_at"}


def _rows(model, petition_id: int) -> list[dict]:
    column = model.__table__.c.petition_id if model is not Petition else model.__table__.c.id
    table = model.__table__
    found = db.session.execute(select(table).where(column == petition_id).order_by(table.c.id)).mappings()
    return [
        {k: v for k, v in row.items() if k not in IGNORED and not isinstance(v, datetime) and not k.endswith("_at")}
        for row in found
    ]


def _written(petition: Petition) -> dict:
    return {m.__name__: _rows(m, petition.id) for m in (Petition, Event, Clock, MeasureFact)}


def test_a_filing_writes_the_rows_the_flush_writes(app, monkeypatch):
    plain, _ = file(title="由插入写下")
    with monkeypatch.context() as patched:
        patched.setattr(inserts, "write_new", lambda session: False)
        flushed, _ = file(title="由会话写下")
    db.session.expire_all()
    mine, theirs = _written(plain), _written(flushed)
    assert mine == theirs
    assert [r["type"] for r in mine["Event"]] == ["registered", "routed"]
    assert len(mine["Clock"]) == 1 and len(mine["MeasureFact"]) == 1


def test_the_objects_written_read_without_sql_and_in_the_order_recorded(app):
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        petition, _ = file(title="写后即读")
        inserts_seen = sorted(s.split()[2] for s in statements if s.lstrip().upper().startswith("INSERT"))
        statements.clear()
        clock = petition.clocks[0]
        assert (petition.status, petition.version, clock.petition_id, clock.unit_id) == (
            "routed",
            1,
            petition.id,
            petition.unit_id,
        )
        assert petition.due_at == clock.due_at
        assert statements == []
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    # The petition, its two events (one statement on PostgreSQL; SQLite cannot return the ids of
    # several rows in order), its clock, its fact (and on SQLite the day's tracking counter).
    written = [t for t in inserts_seen if t != "tracking_days"]
    expected = ["clocks", "events", "measure_facts", "petitions"]
    assert written == expected if is_postgres() else sorted(set(written)) == expected, written
    ids = db.session.scalars(select(Event.id).where(Event.petition_id == petition.id).order_by(Event.id)).all()
    types = db.session.scalars(select(Event.type).where(Event.petition_id == petition.id).order_by(Event.id)).all()
    assert len(ids) == 2 and types == ["registered", "routed"]


@pytest.fixture()
def _statements():
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    yield seen
    event.remove(db.engine, "before_cursor_execute", count)


def test_nothing_is_written_when_a_row_changed(app, _statements):
    someone = user("jtj-handler")
    _statements.clear()
    someone.name = "改过的名字"
    new = Petition(title="不会写下")
    db.session.add(new)
    assert inserts.write_new(db.session) is False
    assert _statements == []
    assert new in db.session.new
    db.session.rollback()
    assert db.session.get(User, someone.id).name != "改过的名字"


def test_nothing_is_written_when_a_new_row_holds_one_outside_the_session(app, _statements):
    new = Petition(title="新件")
    db.session.add(new)
    outside = Clock(kind="handle")
    # Linked from the clock's side only: the new petition's list holds it, the session does not
    # (the session's flush would take it in).
    outside.petition = new
    assert outside in new.clocks and outside not in db.session
    assert inserts.write_new(db.session) is False
    assert _statements == []
    db.session.rollback()
