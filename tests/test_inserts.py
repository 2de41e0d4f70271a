"""A unit of work's new rows written with plain INSERTs (petitions.services.inserts): the same
rows as the session's flush writes, objects that read without SQL afterwards, and nothing
written when the session holds anything else."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import event, inspect, select

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
        # Per statement that inserts, the tables it inserts into.
        inserts_seen = [
            sorted(re.findall(r"INSERT INTO (\w+)", s)) for s in statements if "INSERT INTO" in s.upper()
        ]
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
    # On PostgreSQL the petition, its clock and its two events in one statement, then the fact
    # its effects give; on SQLite a statement per table (one per event: SQLite cannot return
    # the ids of several rows in order) and the day's tracking counter.
    if is_postgres():
        assert inserts_seen == [["clocks", "events", "petitions"], ["measure_facts"]], inserts_seen
    else:
        written = sorted({t for tables in inserts_seen for t in tables} - {"tracking_days"})
        assert written == ["clocks", "events", "measure_facts", "petitions"], inserts_seen
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


def _like(template: Petition, number: str) -> Petition:
    """A new petition with the columns of `template` but its id and number."""
    columns = {a.key: getattr(template, a.key) for a in inspect(Petition).column_attrs if a.key not in ("id", "tracking_no")}
    return Petition(**columns, tracking_no=number)


def _event(petition: Petition, type_: str) -> Event:
    return Event(petition=petition, type=type_, at=petition.created_at, text="", public=True, data={})


def _inserted(statements: list[str]) -> list[list[str]]:
    return [sorted(re.findall(r"INSERT INTO (\w+)", s)) for s in statements if "INSERT INTO" in s.upper()]


def test_a_new_row_and_rows_that_name_it_go_in_one_statement_on_postgresql(app, _statements):
    template, _ = file(title="样板")
    one = _like(template, "XF20991231000001")
    events = [_event(one, t) for t in ("registered", "routed", "accepted")]
    clock = Clock(petition=one, kind="decide", started_at=one.created_at, due_at=one.created_at,
                  statutory_due_at=one.created_at, allowed_days=15, day_unit="workday")
    db.session.add_all([one, *events, clock])
    _statements.clear()
    assert inserts.write_new(db.session) is True
    expected = [["clocks", "events", "petitions"]] if is_postgres() else None
    if expected:
        assert _inserted(_statements) == expected
    # Each row names the new petition; the events have their ids in the order they were added.
    assert {e.petition_id for e in events} == {clock.petition_id} == {one.id}
    assert [e.id for e in events] == sorted(e.id for e in events) and len({e.id for e in events}) == 3
    db.session.commit()
    db.session.expire_all()
    stored = db.session.scalars(select(Event.type).where(Event.petition_id == one.id).order_by(Event.id)).all()
    assert stored == ["registered", "routed", "accepted"]
    assert db.session.get(Clock, clock.id).petition_id == one.id


def test_rows_that_name_one_of_several_new_rows_go_table_by_table(app, _statements):
    template, _ = file(title="样板")
    first, second = _like(template, "XF20991231000002"), _like(template, "XF20991231000003")
    mine, theirs = _event(first, "registered"), _event(second, "registered")
    db.session.add_all([first, second, mine, theirs])
    _statements.clear()
    assert inserts.write_new(db.session) is True
    # One statement could not tell which new petition an event names: a statement per table.
    assert ["clocks", "events", "petitions"] not in _inserted(_statements)
    assert {t for tables in _inserted(_statements) for t in tables} == {"events", "petitions"}
    assert (mine.petition_id, theirs.petition_id) == (first.id, second.id) and first.id != second.id
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Event, mine.id).petition_id == first.id
    assert db.session.get(Event, theirs.id).petition_id == second.id
