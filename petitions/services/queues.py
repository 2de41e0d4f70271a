"""The staff queues at any size: keyset pages, a capped count and an indexed text search.

A queue is ordered by a sort key and the id (the handler's: due soonest first, petitions
without a running clock last; intake's: oldest first). A page is the rows after a cursor
(the last row's sort key and id), read from the matching index however far down the list it
is: no OFFSET, and no count of the whole table, only a count up to `queue_count_cap`.

The text search (tracking number, title or content containing the words) is a LIKE; on
PostgreSQL it first narrows the rows by the text's two-character pieces (bigrams) through a
GIN index on `petition_bigrams(...)`, which finds Chinese words of any length from two
characters up (pg_trgm's trigrams cannot serve a two-character word such as 噪音).
Whatever the word, a search reads at most ten times `queue_count_cap` of its matches in the
bigram index's order (none) to sort them; beyond them, and for a word that the index's
statistics find in a large share of the petitions, it walks the queue's own index in order
with the LIKE alone, as an unfiltered list does, so that a word in nearly every petition is no
slower than no word at all. (A row's bigrams computed again, wherever the index cannot answer
alone, cost far more than its LIKE.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import Integer, Select, and_, bindparam, func, or_, select, text, true, tuple_, union_all
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.visitors import replacement_traverse

from petitions.extensions import db, settings
from petitions.models import Clock, Petition
from petitions.services import reference

# The expression the PostgreSQL index is built on (migration 7b1e5c3d9a40); a query uses it
# as written here so that the planner recognises it.
SEARCH_GRAMS_SQL = "petition_bigrams(lower(tracking_no || ' ' || title || ' ' || content))"
_SEARCH_GRAMS_QUALIFIED = (
    "petition_bigrams(lower(petitions.tracking_no || ' ' || petitions.title || ' ' || petitions.content))"
)

# A cursor: the sort key in microseconds since the epoch ("n" when it is null) and the id.
CURSOR_PATTERN = r"^(?:[0-9]{1,16}|n)-[0-9]{1,12}$"
_CURSOR_RE = re.compile(CURSOR_PATTERN)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Ids are 32-bit integers: a cursor's id beyond them is past every row.
_ID_MAX = 2**31 - 1


# What a list reads of each petition's clocks: only the running one (Petition.open_clock, the
# first clock not stopped), and of it only what its level and time left need.
RUNNING_CLOCK = selectinload(Petition.clocks.and_(Clock.stopped_at.is_(None))).load_only(
    Clock.kind, Clock.yellow_at, Clock.due_at, Clock.stopped_at
)


@cache
def _running_clocks():
    """The clocks not stopped of the petitions `ids`, built once."""
    return (
        select(Clock.petition_id, Clock.kind, Clock.yellow_at, Clock.due_at, Clock.stopped_at)
        .where(Clock.petition_id.in_(bindparam("ids", expanding=True)), Clock.stopped_at.is_(None))
        .order_by(Clock.id)
    )


def running_clocks(petition_ids: Sequence[int]) -> dict[int, Any]:
    """Each petition's first clock not stopped (Petition.open_clock), as a row of what its level
    and time left need, in one statement: what RUNNING_CLOCK loads, for lists read as rows."""
    if not petition_ids:
        return {}
    rows = db.session.execute(_running_clocks(), {"ids": sorted(set(petition_ids))})
    first: dict[int, Any] = {}
    for row in rows:
        first.setdefault(row.petition_id, row)
    return first


class BadCursor(ValueError):
    """A cursor that is not one this module wrote."""


@dataclass(frozen=True)
class Cursor:
    key: datetime | None
    id: int

    def __str__(self) -> str:
        if self.key is None:
            return f"n-{self.id}"
        key = self.key if self.key.tzinfo else self.key.replace(tzinfo=UTC)
        delta = key - _EPOCH
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return f"{micros}-{self.id}"

    @classmethod
    def parse(cls, value: str | None) -> Cursor | None:
        if not value:
            return None
        if not _CURSOR_RE.match(value):
            raise BadCursor(value)
        key, _, ident = value.partition("-")
        row_id = min(int(ident), _ID_MAX)
        if key == "n":
            return cls(None, row_id)
        micros = int(key)
        return cls(datetime.fromtimestamp(micros // 1_000_000, UTC).replace(microsecond=micros % 1_000_000), row_id)


@dataclass
class Page:
    items: list[Any]
    # The cursor of the next page, None on the last one.
    next: str | None
    # The rows of the whole list, counted up to `cap`; `capped`: there are more than that.
    count: int
    capped: bool


def _escape_like(q: str) -> str:
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def search_shape(q: str | None) -> tuple[str, dict[str, str]]:
    """What `search` adds for `q`: its kind ("", "like", "grams" where the bigram index
    narrows the rows first, or "dense" for a word that the index's statistics find in a large
    share of the petitions: a LIKE alone, read in the queue's own order) and the values of its
    parameters `search_like` and `search_words`."""
    if not q:
        return "", {}
    if _postgresql() and len(q) >= 2:
        if _dense(q):
            return "dense", {"search_like": _escape_like(q)}
        if _two_characters(q):
            # The text has the word's one bigram exactly when it contains the word: the
            # index's answer needs no LIKE after it.
            return "grams", {"search_words": q}
        return "grams", {"search_like": _escape_like(q), "search_words": q}
    return "like", {"search_like": _escape_like(q)}


# A word is searched without the bigram index when the index's statistics put it (as the
# product of its bigrams' shares) in at least this share of the petitions, and in more than
# DENSE_CAPS times the count's cap: its matches are then so many that reading them through
# the index costs more than walking the queue's own index in order until a page is found, and
# a row's bigrams, computed again wherever the index cannot answer alone, cost ~0.3 ms each.
# A search through the index reads at most DENSE_CAPS times the cap of its matches to sort.
DENSE_SHARE = 0.05
DENSE_CAPS = 10


def _dense(q: str) -> bool:
    """Whether the statistics of the bigram index put `q` in a large share of the petitions:
    the product of its bigrams' shares, as PostgreSQL's own estimate takes them (the rarest
    bigram's share alone would call a number dense whose every pair of digits is common)."""
    shares, petitions = reference.derived("search-bigram-shares", _bigram_shares)
    cap = settings().queue_count_cap
    if petitions <= DENSE_CAPS * cap:
        return False
    words = q.lower()
    share = 1.0
    for gram in {words[i : i + 2] for i in range(len(words) - 1)}:
        share *= shares.get(gram, 0.0)
    return share >= DENSE_SHARE and share * petitions > DENSE_CAPS * cap


def _bigram_shares() -> tuple[dict[str, float], float]:
    """The bigram index's most common bigrams, each with the share of petitions that have it
    (as the last ANALYZE found them), and how many petitions it counted then; nothing before
    the first ANALYZE."""
    row = db.session.execute(
        text(
            "SELECT s.most_common_elems::text::text[] AS grams, s.most_common_elem_freqs AS shares,"
            " (SELECT c.reltuples FROM pg_class c WHERE c.oid = 'petitions'::regclass) AS petitions"
            " FROM pg_stats s WHERE s.schemaname = current_schema() AND s.tablename = 'ix_petitions_search_bigrams'"
        )
    ).first()
    if row is None or not row.grams or not row.shares:
        return {}, 0.0
    return dict(zip(row.grams, row.shares, strict=False)), float(row.petitions or 0)


def _two_characters(q: str) -> bool:
    """A word of two characters, also in lower case, neither of them a space: its bigram lies
    inside one of the texts searched (tracking number, title, content), which the bigrams join
    with a space. (PostgreSQL's ILIKE compares lower(text) with lower(word), as the bigrams do.)"""
    return len(q) == 2 and len(q.lower()) == 2 and not any(c.isspace() for c in q)


def search(stmt: Select, q: str) -> Select:
    """Petitions whose tracking number, title or content contains `q` (any case)."""
    kind, params = search_shape(q)
    if not kind:
        return stmt
    like = _like(q)
    if "search_like" in params:
        stmt = stmt.where(like)
    if kind == "grams":
        # Every piece of two characters of the words is in the petition's text: a necessary
        # condition, answered by the GIN index; the LIKE above then checks longer words.
        grams = text(f"{_SEARCH_GRAMS_QUALIFIED} @> petition_bigrams(lower(:search_words))").bindparams(
            search_words=params["search_words"]
        )
        # What a page needs to read a word with more matches than the cap in the queue's own
        # order (_walking): the bigram condition, and what stands for it then.
        swap = (grams, true() if "search_like" in params else like)
        stmt = stmt.where(grams).execution_options(petition_search_grams=swap)
    return stmt


def _like(q: str) -> Any:
    """The tracking number, title or content contains `q` (any case): parameter `search_like`."""
    like = bindparam("search_like", _escape_like(q))
    return or_(
        Petition.tracking_no.ilike(like, escape="\\"),
        Petition.title.ilike(like, escape="\\"),
        Petition.content.ilike(like, escape="\\"),
    )


def _through_grams(stmt: Select) -> bool:
    """Whether `stmt` searches through the bigram index (`search`)."""
    return "petition_search_grams" in stmt.get_execution_options()


def _walking(stmt: Select) -> Select:
    """`stmt` with its search through the bigram index made a LIKE alone (parameter
    `search_like`): for a word whose matches are more than the cap, read in the order of the
    queue's own index until a page is found. Wherever the index cannot answer alone (a filter,
    a check of a bitmap) each row's bigrams are computed again (~0.3 ms a row), while the LIKE
    costs a few microseconds."""
    grams, stand_in = stmt.get_execution_options()["petition_search_grams"]
    return replacement_traverse(stmt, {}, lambda element: stand_in if element is grams else None)


def keyset_page(
    stmt: Select,
    key: Any,
    per_page: int,
    after: Cursor | None = None,
    *,
    nullable: bool = False,
    branches: Sequence[Any] = (),
    options: tuple = (),
    count: bool = True,
) -> Page:
    """One page of `stmt` (a SELECT of Petition with its filters; `options` load what the
    page shows; or a SELECT of some of its columns, the id among them, for a page of rows) in
    the order of `key` (nulls last when `nullable`) and the id, after `after`.

    `branches` (access.visible_branches) split the rows into disjoint parts, each read in
    order from its own index and merged here: a unit's petitions and the few it reviews,
    rather than one OR that no index answers. Petitions: per branch at most two statements
    for the rows (the second only where the page reaches from the dated rows into the undated
    ones). Rows: the same for all branches at once (`rows_page`). Then one statement for the
    capped counts of all branches."""
    parts = branches or (true(),)
    if not _is_entity(stmt):
        return rows_page(None, lambda: (stmt, parts), {}, key, per_page, after, nullable=nullable, count=count)
    if _through_grams(stmt):
        # The page's ids as rows_page finds a search's (its first matches, sorted, or the
        # queue's order beyond the cap), then the petitions themselves.
        found = keyset_page(
            stmt.with_only_columns(Petition.id, key), key, per_page, after,
            nullable=nullable, branches=branches, count=count,
        )
        ids = [row.id for row in found.items]
        petitions = db.session.scalars(select(Petition).where(Petition.id.in_(ids)).options(*options)).unique()
        loaded = {p.id: p for p in petitions}
        found.items = [loaded[i] for i in ids if i in loaded]
        return found
    rows: list[Any] = []
    values = _cursor_values(after, per_page)
    for branch in parts:
        rows += _branch_rows(stmt.where(branch).options(*options), key, values, after, nullable)
    if len(parts) > 1:
        rows.sort(key=lambda p: _order(getattr(p, key.key), p.id))
    counts = _counts_statement([stmt.where(branch) for branch in parts]) if count else None
    return _page(rows, key, per_page, _total(counts, values))


# A list's statements by the shape of its query (rows_page): a few per kind of list.
# (rows with a key, rows without, the capped counts, a search's first matches)
_PLANS: dict[Hashable, tuple[Select | None, Select | None, Select | None, Select | None]] = {}


def rows_page(
    shape: Hashable | None,
    build: Callable[[], tuple[Select, Sequence[Any]]],
    params: dict[str, Any],
    key: Any,
    per_page: int,
    after: Cursor | None = None,
    *,
    nullable: bool = False,
    count: bool = True,
) -> Page:
    """keyset_page of rows (a SELECT of some of Petition's columns, the id among them).
    `build()` gives the statement and its branches; where each value in them is a named
    parameter whose value is in `params`, `shape` names what they look like (the same shape,
    the same statements but for those values) and their statements are built once per shape
    and kept; None builds them for this page alone.

    A search through the bigram index (`search`), whose matches come in no order:
    one statement reads at most `read_cap` of them (DENSE_CAPS times the count's cap), counts
    and sorts them, and gives the page after the cursor with that count, instead of one
    statement for the rows and another that reads the same matches again to count them. When
    they are all the list has, the page is exact; when there are more (a common word), the
    page is read again in the key's order from its index, with the LIKE alone standing for the
    bigram condition (`_walking`), and counted as more than the cap. No statement reads more
    than `read_cap` matches in no order, however common the word."""
    kind = "first" if after is None else ("undated" if after.key is None else "dated")
    # The shape's values say whether it searches through the bigram index (search_shape).
    plan_key = (shape, key, kind, nullable, count)
    plan = _PLANS.get(plan_key) if shape is not None else None
    if plan is None:
        stmt, branches = build()
        matched = _through_grams(stmt)
        parts = [stmt.where(b) for b in branches or (true(),)]
        counts = _counts_statement(parts) if count or matched else None
        # A search through the bigram index reads its first matches, sorted; beyond the cap, the
        # queue's order with the LIKE alone.
        walked = [_walking(part) for part in parts] if matched else parts
        dated = _union([_dated(part, key, after, nullable) for part in walked])
        undated = _union([_undated(part, key, after) for part in walked]) if nullable else None
        plan = (dated, undated, counts, _matched(parts, key, after) if matched else None)
        if shape is not None:
            _PLANS[plan_key] = plan
    dated, undated, counts, first_matches = plan
    values = {**params, **_cursor_values(after, per_page)}
    if "search_words" in values:
        # The LIKE that stands for the bigram condition beyond the cap, with this word.
        values.setdefault("search_like", _escape_like(values["search_words"]))
    total = None
    if first_matches is not None:
        rows = list(db.session.execute(first_matches, values))
        if rows:
            total = rows[0].matched_total
            every_match_read = total < values["read_cap"]
        elif after is None:
            total, every_match_read = 0, True
        else:
            # Past the last of them the window has no row to carry the count.
            total = _total(counts, values) or 0
            every_match_read = total <= settings().queue_count_cap
        if every_match_read:
            return _page(rows, key, per_page, total)
    rows = list(db.session.execute(dated, values)) if dated is not None else []
    if undated is not None and len(rows) < per_page + 1:
        rows += list(db.session.execute(undated, {**values, "want_undated": per_page + 1 - len(rows)}))
    rows.sort(key=lambda p: _order(getattr(p, key.key), p.id))
    # A search's total is known by now; another list's counts are there only when asked for.
    return _page(rows, key, per_page, total if total is not None else _total(counts, values))


def _matched(parts: Sequence[Select], key: Any, after: Cursor | None, *, skip: bool = False) -> Select:
    """Of the first `read_cap` rows of `parts` found (in no order), those after the cursor,
    nulls last, `want` of them (after the first `skip` of them, with `skip`), each with the
    number of rows found (`matched_total`: all the rows of `parts` when it is below `read_cap`).

    The matches are counted and sorted by their id and key alone, and only the page's rows
    then read the columns `parts` select (by id): carrying every column of thousands of
    matches through the count and the sort cost as much again as finding them."""
    columns = list(parts[0].selected_columns)
    narrow = all(getattr(c, "table", None) is Petition.__table__ for c in columns)
    if narrow:
        parts = [part.with_only_columns(Petition.id, key) for part in parts]
    cap = bindparam("read_cap", type_=Integer)
    matched = (parts[0].limit(cap) if len(parts) == 1 else union_all(*parts).limit(cap)).subquery()
    counted = select(matched, func.count().over().label("matched_total")).subquery()
    k, ident = counted.c[key.key], counted.c.id
    stmt = select(counted)
    if after is not None and after.key is not None:
        at_key = bindparam("after_key", type_=key.type)
        stmt = stmt.where(
            or_(k.is_(None), k > at_key, and_(k == at_key, ident > bindparam("after_id", type_=Integer)))
        )
    elif after is not None:
        stmt = stmt.where(k.is_(None), ident > bindparam("after_id", type_=Integer))
    stmt = stmt.order_by(*_nulls_last(k, ident)).limit(bindparam("want", type_=Integer))
    if skip:
        stmt = stmt.offset(bindparam("skip", type_=Integer))
    if not narrow or {c.key for c in columns} <= {"id", key.key}:
        return stmt
    found = stmt.subquery()
    return (
        select(*columns, found.c.matched_total)
        .join_from(Petition, found, Petition.id == found.c.id)
        .order_by(*_nulls_last(found.c[key.key], found.c.id))
    )


def _nulls_last(key: Any, ident: Any) -> tuple:
    """The ORDER BY of a list read outside its index: by `key`, nulls last, then the id (as
    `_order` sorts rows in Python)."""
    return key.is_(None), key, ident


def _cursor_values(after: Cursor | None, per_page: int) -> dict[str, Any]:
    """The values of a page's parameters: the rows wanted (one more than the page, to know
    whether another follows), the cursor and the cap of the counts."""
    return {
        "want": per_page + 1,
        "after_key": after.key if after is not None else None,
        "after_id": after.id if after is not None else 0,
        "count_cap": settings().queue_count_cap + 1,
        "read_cap": DENSE_CAPS * settings().queue_count_cap + 1,
    }


def _total(counts: Select | None, values: dict[str, Any]) -> int | None:
    """The rows of every branch counted (each up to the cap), or None when not asked."""
    return None if counts is None else sum(n or 0 for n in db.session.execute(counts, values).one())


def _page(rows: list[Any], key: Any, per_page: int, total: int | None) -> Page:
    more = len(rows) > per_page
    rows = rows[:per_page]
    next_cursor = str(Cursor(getattr(rows[-1], key.key), rows[-1].id)) if more else None
    cap = settings().queue_count_cap
    if total is None:
        return Page(items=rows, next=next_cursor, count=0, capped=False)
    return Page(items=rows, next=next_cursor, count=min(total, cap), capped=total > cap)


_LAST = datetime.max.replace(tzinfo=UTC)


def _order(key: datetime | None, ident: int) -> tuple:
    if key is None:
        return (1, _LAST, ident)
    return (0, key if key.tzinfo else key.replace(tzinfo=UTC), ident)


def _dated(stmt: Select, key: Any, after: Cursor | None, nullable: bool) -> Select | None:
    """A branch's rows with a sort key after the cursor (parameters `after_key`, `after_id`),
    in index order, `want` of them (None: the cursor is already among the undated rows)."""
    if after is not None and after.key is None:
        return None
    # "IS TRUE": a filter, not an index condition, so that a search's bitmap is not ANDed
    # with every dated row's (the dated rows come first in the index anyway).
    dated = stmt.where(key.is_not(None).is_(true())) if nullable else stmt
    if after is not None:
        dated = dated.where(
            tuple_(key, Petition.id)
            > tuple_(bindparam("after_key", type_=key.type), bindparam("after_id", type_=Integer))
        )
    return dated.order_by(key, Petition.id).limit(bindparam("want", type_=Integer))


def _undated(stmt: Select, key: Any, after: Cursor | None) -> Select:
    """A branch's rows without a sort key (after every dated row), after the cursor (parameter
    `after_id`) by id, `want_undated` of them."""
    undated = stmt.where(key.is_(None))
    if after is not None and after.key is None:
        undated = undated.where(Petition.id > bindparam("after_id", type_=Integer))
    return undated.order_by(Petition.id).limit(bindparam("want_undated", type_=Integer))


def _branch_rows(
    stmt: Select, key: Any, values: dict[str, Any], after: Cursor | None, nullable: bool
) -> list[Any]:
    """One branch's petitions: the dated, then the undated only if the page reaches them."""
    want = values["want"]
    dated = _dated(stmt, key, after, nullable)
    rows = list(db.session.scalars(dated, values).unique()) if dated is not None else []
    if nullable and len(rows) < want:
        more = {**values, "want_undated": want - len(rows)}
        rows += list(db.session.scalars(_undated(stmt, key, after), more).unique())
    return rows


def _union(parts: Sequence[Select | None]) -> Select | None:
    """The rows of `parts` (each ordered and limited on its own) in one statement; None when
    there are none."""
    kept = [part for part in parts if part is not None]
    if not kept:
        return None
    if len(kept) == 1:
        return kept[0]
    return union_all(*(select(part.subquery()) for part in kept))


def _is_entity(stmt: Select) -> bool:
    """Whether `stmt` reads Petition objects (rather than rows of some of its columns)."""
    described = stmt.column_descriptions
    return len(described) == 1 and described[0].get("expr") is Petition


def numbered_page(stmt: Select, key: Any, page: int, per_page: int) -> Page:
    """Page `page` of `stmt` (a SELECT of some of Petition's columns, the key and the id among
    them) in the order of `key` (nulls last) and the id: a short OFFSET, only within the
    counted first rows (`queue_count_cap`), empty beyond them."""
    cap = settings().queue_count_cap
    total = _total(_counts_statement([stmt]), {"count_cap": cap + 1})
    offset = (page - 1) * per_page
    if offset >= cap:
        return _page([], key, per_page, total)
    if _through_grams(stmt) and total <= cap:
        # Every match is among the first cap + 1 that the bigram index gives: sort those by
        # their id and key, as a first page does (an ORDER BY over the statement itself would
        # walk the key's index computing bigrams), and read the page's rows.
        values = {"want": per_page + 1, "skip": offset, "read_cap": cap + 1}
        rows = db.session.execute(_matched([stmt], key, None, skip=True), values).all()
        return _page(list(rows), key, per_page, total)
    ordered = _walking(stmt) if _through_grams(stmt) else stmt
    rows = db.session.execute(ordered.order_by(*_nulls_last(key, Petition.id)).limit(per_page + 1).offset(offset)).all()
    return _page(list(rows), key, per_page, total)


def _counts_statement(stmts: Sequence[Select]) -> Select:
    """The rows of each of `stmts` counted up to the parameter `count_cap`, in one statement."""
    windows = [
        select(func.count())
        .select_from(
            stmt.with_only_columns(Petition.id).order_by(None).limit(bindparam("count_cap", type_=Integer)).subquery()
        )
        .scalar_subquery()
        for stmt in stmts
    ]
    return select(*windows)
