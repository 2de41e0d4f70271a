"""A unit of work's new rows written with plain INSERT statements, when inserting is all that
a flush of the session would do (a filing: the petition, its events, its clock, its facts).

The ORM's flush sorts every object by its mappers' dependencies and tracks each attribute's
history; for rows that are only new that costs several times what the INSERTs do. Here each
table's new rows go in one INSERT … RETURNING id, in the order of the tables' foreign keys and,
within a table, in the order the objects were added (the history's order), and the objects
then belong to the session as rows read from the database would. Whenever the session holds
anything else (a changed or deleted row, a new row that reaches an object outside the
session, a column whose default only the database knows) `write_new` answers False and writes
nothing: the caller flushes as usual.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Insert, insert, inspect
from sqlalchemy.orm import InstanceState, Mapper, Session, make_transient_to_detached, scoped_session
from sqlalchemy.orm.interfaces import MANYTOONE, ONETOMANY
from sqlalchemy.sql import ClauseElement

from petitions.extensions import db

_NOTHING = object()


def write_new(session: Session | scoped_session) -> bool:
    """INSERT the session's new objects and make them persistent; False (and nothing written)
    when that would not be all that a flush does."""
    real = session() if isinstance(session, scoped_session) else session
    if not real.new:
        return not real.dirty and not real.deleted
    if real.deleted or real.dirty:
        return False
    states: list[InstanceState] = sorted((inspect(obj) for obj in real.new), key=lambda s: s.insert_order)
    order = _table_order()
    groups: dict[Any, list[InstanceState]] = {}
    for state in states:
        mapper = state.mapper
        if mapper.inherits is not None or mapper.local_table not in order:
            return False
        groups.setdefault(mapper.local_table, []).append(state)
    pending = set(states)
    if not all(_refers_back(state, pending, order) for state in states):
        return False
    planned = []
    for table in sorted(groups, key=order.__getitem__):
        made = [_row(state) for state in groups[table]]
        if any(m is None for m in made):
            return False
        planned.append((table, groups[table], made))
    connection = real.connection()
    written: list[InstanceState] = []
    for table, group, made in planned:
        rows = []
        for state, (row, defaults) in zip(group, made, strict=True):
            # The defaults on the object too (reading them later costs no statement), and the
            # foreign keys to rows written a moment ago (a petition's id for its events).
            obj = state.obj()
            for key, value in defaults.items():
                setattr(obj, key, value)
            _fill_foreign_keys(state, row)
            rows.append(row)
        _insert(connection, table, group, rows)
        written += group
    # Out of the session as new objects, back in as rows it has read (adding one takes along
    # those it reaches: each must have its identity by then).
    objects = [state.obj() for state in written]  # held: the session holds new ones only
    for obj in objects:
        real.expunge(obj)
    for obj in objects:
        make_transient_to_detached(obj)
    for obj in objects:
        real.add(obj)
    return True


_ORDER: dict[Any, int] = {}


def _table_order() -> dict[Any, int]:
    if not _ORDER:
        _ORDER.update({table: i for i, table in enumerate(db.metadata.sorted_tables)})
    return _ORDER


def _refers_back(state: InstanceState, pending: set[InstanceState], order: dict[Any, int]) -> bool:
    """Whether each row the object's many-to-one relationships name is persistent, or new in the
    session and in a table written before its own (no cycle, no row of its own table, no later
    UPDATE), and each row its collections hold is new in the session and names it back (so that
    its foreign key is set here). An object the new ones hold but the session does not (linked
    from its own side, a backref) would be taken in by the flush: then this answers False."""
    mine = order[state.mapper.local_table]
    for prop in state.mapper.relationships:
        if prop.viewonly or prop.key not in state.dict:
            continue
        if prop.direction is not MANYTOONE:
            if not all(_names_back(state, prop, child, pending) for child in state.dict[prop.key] or ()):
                return False
            continue
        target = state.dict[prop.key]
        if target is None:
            continue
        target_state = inspect(target)
        if target_state.key is not None:
            continue
        if prop.post_update or target_state not in pending:
            return False
        if order.get(target_state.mapper.local_table, mine) >= mine:
            return False
    return True


def _names_back(parent: InstanceState, prop: Any, child: Any, pending: set[InstanceState]) -> bool:
    """Whether `child`, held in `parent`'s one-to-many `prop`, is new in the session and refers
    to `parent` through a many-to-one relationship over the same foreign key."""
    if prop.direction is not ONETOMANY:
        return False
    reached = inspect(child)
    if reached not in pending:
        return False
    keys = {remote for _local, remote in prop.local_remote_pairs}
    return any(
        not back.viewonly
        and back.direction is MANYTOONE
        and reached.dict.get(back.key) is parent.obj()
        and {local for local, _remote in back.local_remote_pairs} >= keys
        for back in reached.mapper.relationships
    )


def _row(state: InstanceState) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The column values of a new object, with the columns' own defaults for those it has not
    set, and those defaults by attribute; None when a value only the database knows is missing
    (a server default, or a primary key the database does not give)."""
    mapper: Mapper = state.mapper
    values = state.dict
    row: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    for column in mapper.local_table.columns:
        key = mapper.get_property_by_column(column).key
        if key in values:
            row[column.key] = values[key]
            continue
        if column.primary_key:
            if column.autoincrement is False:
                return None
            continue
        if column is mapper.version_id_col and mapper.version_id_generator:
            value = mapper.version_id_generator(None)
        else:
            value = _default(column)
        if value is _NOTHING:
            return None
        row[column.key] = defaults[key] = value
    return row, defaults


def _default(column) -> Any:
    default = column.default
    if default is None:
        return _NOTHING if column.server_default is not None else None
    if default.is_scalar:
        return default.arg
    if default.is_callable:
        return default.arg(None)
    return _NOTHING


def _fill_foreign_keys(state: InstanceState, row: dict[str, Any]) -> None:
    """Set the foreign keys that the object's many-to-one relationships give (each target is
    persistent or written already: `_refers_back`)."""
    mapper: Mapper = state.mapper
    obj = state.obj()
    for prop in mapper.relationships:
        if prop.viewonly or prop.direction is not MANYTOONE or prop.key not in state.dict:
            continue
        target = state.dict[prop.key]
        for local, remote in prop.local_remote_pairs:
            value = None
            if target is not None:
                target_state = inspect(target)
                value = target_state.dict.get(target_state.mapper.get_property_by_column(remote).key)
            row[local.key] = value
            setattr(obj, mapper.get_property_by_column(local).key, value)


@cache
def _plain_insert(table) -> Insert:
    """A table's INSERT … RETURNING its id in the order of the rows, built once."""
    (pk,) = table.primary_key.columns
    return insert(table).returning(pk, sort_by_parameter_order=True)


def _insert(connection, table, group: list[InstanceState], rows: list[dict[str, Any]]) -> None:
    """One INSERT … RETURNING for the rows of a table (one per row that holds a SQL expression,
    such as a fact's previous time read in the INSERT itself); ids and such values onto the objects."""
    (pk,) = table.primary_key.columns
    plain = [i for i, row in enumerate(rows) if not any(isinstance(v, ClauseElement) for v in row.values())]
    computed_rows = set(range(len(rows))) - set(plain)
    if plain:
        found = connection.execute(_plain_insert(table), [rows[i] for i in plain]).all()
        for i, (ident,) in zip(plain, found, strict=True):
            setattr(group[i].obj(), group[i].mapper.get_property_by_column(pk).key, ident)
    for i in sorted(computed_rows):
        row = rows[i]
        computed = [table.c[k] for k, v in row.items() if isinstance(v, ClauseElement)]
        result = connection.execute(insert(table).values(**row).returning(pk, *computed)).one()
        mapper, obj = group[i].mapper, group[i].obj()
        for column, value in zip([pk, *computed], result, strict=True):
            setattr(obj, mapper.get_property_by_column(column).key, value)
