"""A unit of work's new rows written with plain INSERT statements, when inserting is all that
a flush of the session would do (a filing: the petition, its events, its clock, its facts).

The ORM's flush sorts every object by its mappers' dependencies and tracks each attribute's
history; for rows that are only new that costs several times what the INSERTs do. Here each
table's new rows go in one INSERT … RETURNING id, in the order of the tables' foreign keys and,
within a table, in the order the objects were added (the history's order), and the objects
then belong to the session as rows read from the database would. On PostgreSQL the tables'
INSERTs go in one statement, each a WITH clause of it (`_insert_at_once`): a filing's
petition, clock and events cost one round trip, not three. Whenever the session holds
anything else (a changed or deleted row, a new row that reaches an object outside the
session, a column whose default only the database knows) `write_new` answers False and writes
nothing: the caller flushes as usual.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import Insert, bindparam, insert, inspect, literal_column, null, select, union_all
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
    if _insert_at_once(connection, planned):
        _into_session(real, [state for _table, group, _made in planned for state in group])
        return True
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
    _into_session(real, written)
    return True


def _into_session(real: Session, written: list[InstanceState]) -> None:
    """Out of the session as new objects, back in as rows it has read (adding one takes along
    those it reaches: each must have its identity by then)."""
    objects = [state.obj() for state in written]  # held: the session holds new ones only
    for obj in objects:
        real.expunge(obj)
    for obj in objects:
        make_transient_to_detached(obj)
    for obj in objects:
        real.add(obj)


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


# ---------------------------------------------------------------- PostgreSQL: one statement


def _insert_at_once(connection, planned: list[tuple[Any, list[InstanceState], list[Any]]]) -> bool:
    """Every table's rows in one statement (PostgreSQL): one WITH clause per table, each an
    INSERT … RETURNING id, and a row that names a new row of an earlier table reads its id
    from that clause. False, having written nothing, on another database, for a single table,
    or where a row has its id already, holds a value computed in SQL or names a new row that
    is not alone in its table (the statement could not tell which of them it names)."""
    if connection.dialect.name != "postgresql" or len(planned) < 2:
        return False
    alone = {group[0]: k for k, (_table, group, _made) in enumerate(planned) if len(group) == 1}
    refs: list[list[dict[str, int]]] = []
    keys: list[tuple[str, ...]] = []
    for table, group, made in planned:
        (pk,) = table.primary_key.columns
        refs.append([])
        for state, (row, _defaults) in zip(group, made, strict=True):
            named = _new_targets(state, alone)
            if named is None or pk.key in row or any(isinstance(v, ClauseElement) for v in row.values()):
                return False
            refs[-1].append(named)
            if len(refs[-1]) == 1:
                keys.append(tuple(key for key in row if key not in named))
            elif tuple(key for key in row if key not in named) != keys[-1]:
                return False
    values: dict[str, Any] = {}
    shape = []
    for k, (table, group, made) in enumerate(planned):
        empty = []
        for i, (state, (row, defaults)) in enumerate(zip(group, made, strict=True)):
            obj = state.obj()
            for key, value in defaults.items():
                setattr(obj, key, value)
            _fill_foreign_keys(state, row)
            # NULL is written into the statement: fewer parameters (the driver keeps the parsed
            # form of a statement of up to 50), and a filing's empty columns are always the same.
            empty.append(tuple(key for key in keys[k] if row[key] is None))
            for key in keys[k]:
                if row[key] is not None:
                    values[f"t{k}r{i}_{key}"] = row[key]
        named_rows = tuple(tuple(sorted(named.items())) for named in refs[k])
        shape.append((table, keys[k], tuple(zip(named_rows, empty, strict=True))))
    sql, order = _at_once(tuple(shape), connection.dialect)
    found = connection.exec_driver_sql(sql, tuple(convert(values[name]) for name, convert in order)).all()
    ids: dict[int, list[int]] = {}
    for k, ident in found:
        ids.setdefault(k, []).append(ident)
    for k, (table, group, _made) in enumerate(planned):
        (pk,) = table.primary_key.columns
        # The sequence numbers a table's rows in the order of its VALUES.
        for state, ident in zip(group, sorted(ids[k]), strict=True):
            _set_column(state, pk.key, ident)
    for k, (_table, group, _made) in enumerate(planned):
        for state, named in zip(group, refs[k], strict=True):
            for key, parent in named.items():
                parent_state = planned[parent][1][0]
                (parent_pk,) = parent_state.mapper.local_table.primary_key.columns
                _set_column(state, key, parent_state.dict[_attribute(parent_state, parent_pk.key)])
    return True


def _attribute(state: InstanceState, column_key: str) -> str:
    return state.mapper.get_property_by_column(state.mapper.local_table.c[column_key]).key


def _set_column(state: InstanceState, column_key: str, value: Any) -> None:
    setattr(state.obj(), _attribute(state, column_key), value)


def _new_targets(state: InstanceState, alone: dict[InstanceState, int]) -> dict[str, int] | None:
    """The foreign-key columns of `state` that name a new row (column key → the index of that
    row's table in the statement); None when such a row is not alone in its table or is named
    by another column than its primary key."""
    named: dict[str, int] = {}
    for prop in state.mapper.relationships:
        if prop.viewonly or prop.direction is not MANYTOONE or prop.key not in state.dict:
            continue
        target = state.dict[prop.key]
        if target is None or inspect(target).key is not None:
            continue
        target_state = inspect(target)
        if target_state not in alone:
            return None
        for local, remote in prop.local_remote_pairs:
            if not remote.primary_key:
                return None
            named[local.key] = alone[target_state]
    return named


# Shapes differ by which columns are empty: a bound on how many are kept, whatever the input.
@lru_cache(maxsize=512)
def _at_once(shape: tuple, dialect: Any) -> tuple[str, list[tuple[str, Any]]]:
    """The one statement of a shape (per table: the table, its column keys, and per row the
    columns that name a new row → that row's table and the columns left empty), compiled once: its SQL with
    positional parameters, and per parameter its name and its converter (the column type's).
    Executed as compiled SQL: a statement this size costs more to look up in the compiled cache
    (its key walks every parameter) than to run, and kept short enough for the driver to keep
    its parsed form."""
    compiled = _at_once_statement(shape).compile(dialect=dialect)
    order: list[tuple[str, Any]] = []

    def positional(match: re.Match) -> str:
        bind = compiled.binds[match.group(1)]
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        order.append((match.group(1), process or _same))
        return "%s"

    return re.sub(r"%\((\w+)\)s", positional, compiled.string), order


def _same(value: Any) -> Any:
    return value


def _at_once_statement(shape: tuple) -> Any:
    """The statement of `_at_once`, with named parameters `t{table}r{row}_{column}`."""
    ctes = []
    for k, (table, keys, row_shapes) in enumerate(shape):
        (pk,) = table.primary_key.columns
        rows = []
        for i, (refs, empty) in enumerate(row_shapes):
            row: dict[str, Any] = {
                key: null() if key in empty else bindparam(f"t{k}r{i}_{key}", type_=table.c[key].type) for key in keys
            }
            for key, parent in refs:
                (parent_pk,) = shape[parent][0].primary_key.columns
                row[key] = select(ctes[parent].c[parent_pk.key]).scalar_subquery()
            rows.append(row)
        ctes.append(insert(table).values(rows).returning(pk).cte(f"t{k}"))
    return union_all(
        *(select(literal_column(str(k)).label("t"), cte.c[shape[k][0].primary_key.columns[0].key]) for k, cte in enumerate(ctes))
    )
