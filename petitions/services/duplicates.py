"""Possible duplicates (重复件): the same phone, the same category, a similar title, filed within
`duplicate_window_days` (30) of each other.

Intake sees them flagged with a link to the earlier petition and may merge the later one
into it (the `merge` action in petitions.domain.workflow / petitions.services.actions).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import bindparam, select

from petitions.extensions import db, settings
from petitions.models import Petition
from petitions.services import reference

# The newest petitions of the same phone and category that are compared with one.
CANDIDATES = 50


def similar_titles(a: str, b: str, keywords: list[str] | None = None) -> bool:
    """Titles alike enough to be the same matter: close as strings, or sharing a subject keyword."""
    a, b = (a or "").strip(), (b or "").strip()
    if not a or not b:
        return False
    return _alike(a, b, tuple(keywords or ()), settings().duplicate_title_ratio)


@lru_cache(maxsize=4096)
def _alike(a: str, b: str, keywords: tuple[str, ...], ratio: float) -> bool:
    """similar_titles of two stripped titles, kept: a page of intake's queue compares the same
    titles each time it is opened."""
    if a in b or b in a:
        return True
    matcher = difflib.SequenceMatcher(None, a, b)
    # The two quick ratios are upper bounds of ratio(), each cheaper than the next.
    if matcher.real_quick_ratio() >= ratio and matcher.quick_ratio() >= ratio and matcher.ratio() >= ratio:
        return True
    return any(k in a and k in b for k in keywords)


def _window(petition: Any) -> tuple[datetime, datetime]:
    return petition.created_at - timedelta(days=settings().duplicate_window_days), petition.created_at


def _earlier_alike(petition: Any, candidates: Iterable[Any], limit: int) -> list[Any]:
    """Of `candidates` (newest first, same phone and category, not merged away): the first 50
    in the petition's window, then those filed before it with a title alike."""
    since, until = _window(petition)
    in_window = [c for c in candidates if c.id != petition.id and since <= c.created_at <= until][:CANDIDATES]
    category = reference.category_by_id(petition.category_id)
    keywords = reference.derived(("keywords", category.id), category.keyword_list) if category is not None else []
    found = [c for c in in_window if c.id < petition.id and similar_titles(petition.title, c.title, keywords)]
    return found[:limit]


@cache
def _candidates():
    """The newest petitions of a phone and category in a window, not merged away, other than
    one (parameters `phone`, `category_id`, `id`, `since`, `until`), as rows of what a list of
    them shows; built once."""
    return (
        select(Petition.id, Petition.tracking_no, Petition.title, Petition.created_at, Petition.status)
        .where(
            Petition.contact_phone == bindparam("phone"),
            Petition.category_id == bindparam("category_id"),
            Petition.id != bindparam("id"),
            Petition.duplicate_of_id.is_(None),
            Petition.created_at >= bindparam("since", type_=Petition.created_at.type),
            Petition.created_at <= bindparam("until", type_=Petition.created_at.type),
        )
        .order_by(Petition.created_at.desc(), Petition.id.desc())
        .limit(CANDIDATES)
    )


def find_possible_duplicates(petition: Petition, limit: int = 5) -> list[Any]:
    """Earlier petitions (newest first) this one may repeat, as rows of their id, tracking
    number, title, time of filing and status; none without a contact phone."""
    if not petition.contact_phone:
        return []
    candidates = db.session.execute(_candidates(), _candidate_values(petition)).all()
    return _earlier_alike(petition, candidates, limit)


def _candidate_values(petition: Petition) -> dict[str, Any]:
    """The values of _candidates' parameters for `petition`."""
    since, until = _window(petition)
    return {
        "phone": petition.contact_phone,
        "category_id": petition.category_id,
        "id": petition.id,
        "since": since,
        "until": until,
    }


@cache
def _merged_into():
    """The petitions merged into one (parameter `id`), as rows of their tracking number and
    title, by id; built once."""
    return (
        select(Petition.tracking_no, Petition.title)
        .where(Petition.duplicate_of_id == bindparam("id"))
        .order_by(Petition.id)
    )


def merged_into(petition: Petition) -> list[Any]:
    """The later petitions merged into this one (rows of tracking number and title), by id."""
    return db.session.execute(_merged_into(), {"id": petition.id}).all()


@cache
def _alike_of_many():
    """The petitions of some phones and categories in a window, not merged away (parameters
    `phones`, `category_ids`, `since`, `until`), newest first; built once."""
    return (
        select(
            Petition.id,
            Petition.tracking_no,
            Petition.title,
            Petition.contact_phone,
            Petition.category_id,
            Petition.created_at,
        )
        .where(
            Petition.contact_phone.in_(bindparam("phones", expanding=True)),
            Petition.category_id.in_(bindparam("category_ids", expanding=True)),
            Petition.duplicate_of_id.is_(None),
            Petition.created_at >= bindparam("since", type_=Petition.created_at.type),
            Petition.created_at <= bindparam("until", type_=Petition.created_at.type),
        )
        .order_by(Petition.created_at.desc(), Petition.id.desc())
    )


def first_duplicates(petitions: Sequence[Any]) -> dict[int, Any]:
    """For each of `petitions` (a page of a list, as petitions or rows with their id, title,
    phone, category id and time of filing), the newest earlier petition it may repeat
    (its id, tracking_no, title and created_at), or None: what `find_possible_duplicates(p,
    limit=1)` answers, in one statement of the few columns it compares."""
    answer: dict[int, Any] = {p.id: None for p in petitions}
    wanted = [p for p in petitions if p.contact_phone]
    if not wanted:
        return answer
    windows = [_window(p) for p in wanted]
    rows = db.session.execute(
        _alike_of_many(),
        {
            "phones": sorted({p.contact_phone for p in wanted}),
            "category_ids": sorted({p.category_id for p in wanted}),
            "since": min(since for since, _until in windows),
            "until": max(until for _since, until in windows),
        },
    ).all()
    # Each phone and category's rows, newest first as read.
    by_pair: dict[tuple[str, int], list[Any]] = {}
    for r in rows:
        by_pair.setdefault((r.contact_phone, r.category_id), []).append(r)
    for petition in wanted:
        found = _earlier_alike(petition, by_pair.get((petition.contact_phone, petition.category_id), ()), 1)
        answer[petition.id] = found[0] if found else None
    return answer
