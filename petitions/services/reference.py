"""Reference data read on every filing: categories, units and routing rules, cached per process.

They change only in the admin area, which calls `invalidate()` after each change; other
processes see a change within `reference_cache_seconds`. Cached rows are detached copies
that a session takes with `merge(load=False)`, which costs no SQL and shares nothing
between threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from petitions.extensions import db, settings
from petitions.models import Category, CategoryKind, Petition, RoutingRule, Unit, UnitKind

T = TypeVar("T")


@dataclass(frozen=True)
class _Rule:
    id: int
    category_id: int | None
    township_id: int | None
    unit_id: int
    priority: int


@dataclass(frozen=True)
class _Snapshot:
    loaded_at: float
    categories: dict[str, Category]
    categories_by_id: dict[int, Category]
    units: dict[str, Unit]
    units_by_id: dict[int, Unit]
    rules: tuple[_Rule, ...]


_lock = threading.Lock()
_snapshot: _Snapshot | None = None


def invalidate() -> None:
    """Forget the cache (the admin area calls it after every change of reference data)."""
    global _snapshot
    with _lock:
        _snapshot = None


def _load() -> _Snapshot:
    """Read everything in a session of its own, so that no request's objects are touched."""
    with Session(db.engine, expire_on_commit=False) as session:
        categories = list(session.scalars(select(Category)))
        units = list(session.scalars(select(Unit)))
        rules = [
            _Rule(r.id, r.category_id, r.township_id, r.unit_id, r.priority or 0)
            for r in session.scalars(select(RoutingRule).where(RoutingRule.active.is_(True)))
        ]
    return _Snapshot(
        time.monotonic(),
        {c.code: c for c in categories},
        {c.id: c for c in categories},
        {u.code: u for u in units},
        {u.id: u for u in units},
        tuple(rules),
    )


def _current() -> _Snapshot:
    global _snapshot
    snap = _snapshot
    if snap is None or time.monotonic() - snap.loaded_at > settings().reference_cache_seconds:
        with _lock:
            snap = _snapshot
            if snap is None or time.monotonic() - snap.loaded_at > settings().reference_cache_seconds:
                snap = _snapshot = _load()
    return snap


def _attach(row):
    return db.session.merge(row, load=False) if row is not None else None


def attach(petitions: Iterable[Petition]) -> None:
    """Put the category, place and unit of each of `petitions` into this session from the cache,
    so that reading `petition.category`, `.township` or `.unit` costs no SQL (a relationship by
    primary key is answered from the session's identity map)."""
    snap = _current()
    for petition in petitions:
        _keep("c", petition.category_id, snap.categories_by_id)
        _keep("u", petition.township_id, snap.units_by_id)
        _keep("u", petition.unit_id, snap.units_by_id)


def attach_units(unit_ids: Iterable[int | None]) -> None:
    """Put the units of `unit_ids` into this session from the cache, so that a relationship
    to one of them (an event's or a clock's unit) is answered without SQL."""
    units_by_id = _current().units_by_id
    for ident in set(unit_ids):
        _keep("u", ident, units_by_id)


def _keep(kind: str, ident: int | None, rows: dict) -> None:
    """Merge the cached row `ident` of `rows` into this session, once. The identity map holds
    clean objects weakly: the session keeps these for as long as it lives."""
    if ident is None:
        return
    kept: dict[tuple[str, int], object] = db.session.info.setdefault("reference_rows", {})
    if (kind, ident) not in kept:
        row = rows.get(ident)
        if row is not None:
            kept[kind, ident] = db.session.merge(row, load=False)


# Values made from the reference data (a page's menus, the keyword catalogue), each with the
# reading of the data it was made from.
_derived: dict[object, tuple[_Snapshot, Any]] = {}


def derived(key: object, make: Callable[[], T]) -> T:
    """`make()` once per reading of the reference data: kept under `key` (no SQL), and made
    anew when the data is read again (after `reference_cache_seconds` or an invalidation)."""
    snap = _current()
    kept = _derived.get(key)
    if kept is None or kept[0] is not snap:
        kept = _derived[key] = (snap, make())
    return kept[1]


def categories() -> list[Category]:
    """Every category, for lists and menus: detached copies to read, not to change (no SQL)."""
    return sorted(_current().categories.values(), key=lambda c: (c.sort_order or 0, c.id))


def units() -> list[Unit]:
    """Every unit, for lists and menus: detached copies to read, not to change (no SQL)."""
    return sorted(_current().units.values(), key=lambda u: (u.sort_order or 0, u.id))


def unit_by_id(unit_id: int | None) -> Unit | None:
    """The unit with id `unit_id`: a detached copy to read, not to change (no SQL)."""
    return _current().units_by_id.get(unit_id) if unit_id is not None else None


def category_by_id(category_id: int | None) -> Category | None:
    """The category with id `category_id`: a detached copy to read, not to change (no SQL)."""
    return _current().categories_by_id.get(category_id) if category_id is not None else None


def category(code: str) -> Category | None:
    """The category with `code`, in this session (no SQL)."""
    return _attach(_current().categories.get(code))


def unit(code: str) -> Unit | None:
    """The unit with `code`, in this session (no SQL)."""
    return _attach(_current().units.get(code))


def _match(category_: Category, township: Unit | None) -> tuple[_Rule, Unit] | None:
    """The rule that decides (category, place) and its unit, worked out once per pair and
    reading of the reference data (intake's page asks for each of its rows and suggestions)."""
    township_id = township.id if township is not None else None
    return derived(("route", category_.id, township_id), lambda: _match_now(category_, township))


def _match_now(category_: Category, township: Unit | None) -> tuple[_Rule, Unit] | None:
    snap = _current()
    category_ids = {category_.id, category_.parent_id} - {None}
    township_id = township.id if township is not None else None

    def specificity(rule: _Rule) -> tuple[int, int, int]:
        score = (4 if rule.category_id == category_.id else 2 if rule.category_id is not None else 0) + (
            1 if rule.township_id is not None else 0
        )
        return (-score, -rule.priority, rule.id)

    matching = [
        r
        for r in snap.rules
        if (r.category_id is None or r.category_id in category_ids)
        and (r.township_id is None or r.township_id == township_id)
    ]
    for rule in sorted(matching, key=specificity):
        target = snap.units_by_id.get(rule.unit_id)
        if target is None or not target.active:
            continue
        if category_.kind == CategoryKind.REPORT and target.kind != UnitKind.DISCIPLINE:
            continue
        return rule, target
    return None


def route_for(category_: Category, township: Unit | None) -> Unit | None:
    """The unit the routing rules send (category, place) to, or None: it waits for intake (分类交办).

    The most specific matching rule wins (category and place, then category, then place,
    then the default), then the highest priority. A report (检举控告) is never routed
    anywhere but the discipline office, so never to the unit it concerns. Without a place
    only rules for any place match.
    """
    found = _match(category_, township)
    return _attach(found[1]) if found else None


def match_rule(category_: Category, township: Unit | None) -> RoutingRule | None:
    """The routing rule that decides (category, place), for pages that show it."""
    found = _match(category_, township)
    return db.session.get(RoutingRule, found[0].id) if found else None
