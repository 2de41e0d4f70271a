"""Keyword suggestions for the intake queue: which category (and so which unit) a free text fits.

A letter or a phone call rarely names its subject the way the catalogue does. The intake
officer sees the categories whose keywords occur in the title and content, best first, with
the unit their routing rules would send the petition to. A suggestion only helps: the
officer chooses, and nothing is routed by it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from petitions.models import Category, Unit
from petitions.services import reference

LIMIT = 3


def _score(text: str, keywords: Iterable[str]) -> tuple[int, int]:
    """(distinct keywords found, their total length): longer keywords are the surer sign."""
    found = {k for k in keywords if k and k in text}
    # A keyword inside a longer one that also matched ("补贴" in "种粮补贴") counts once.
    found = {k for k in found if not any(k != other and k in other for other in found)}
    return len(found), sum(len(k) for k in found)


def rank_categories(
    text: str, categories: Iterable[Category], limit: int = LIMIT
) -> list[tuple[Category, int]]:
    """The categories whose keywords occur in `text`, best first, with the number found.

    Pure: reads only the categories given (leaf, active ones are the caller's choice).
    Ties keep the catalogue's order.
    """
    return _rank(text, [(c, tuple(c.keyword_list())) for c in categories], limit)


def _rank(
    text: str, catalogue: Sequence[tuple[Category, tuple[str, ...]]], limit: int
) -> list[tuple[Category, int]]:
    text = (text or "").strip()
    if not text:
        return []
    scored = []
    for order, (category, keywords) in enumerate(catalogue):
        # Most categories have none of their keywords in the text: ask that first.
        if not any(k in text for k in keywords):
            continue
        hits, length = _score(text, keywords)
        if hits:
            scored.append((-hits, -length, order, category, hits))
    scored.sort(key=lambda row: row[:3])
    return [(row[3], row[4]) for row in scored[:limit]]


def selectable_categories() -> list[Category]:
    """Active leaf categories under active parents, in catalogue order (from the reference
    cache: no SQL; copies to read)."""
    every = reference.categories()
    by_id = {c.id: c for c in every}
    leaves = [
        c
        for c in every
        if c.parent_id is not None and c.active and c.parent_id in by_id and by_id[c.parent_id].active
    ]
    return sorted(leaves, key=lambda c: (by_id[c.parent_id].sort_order, c.parent_id, c.sort_order, c.id))


def _keyworded() -> list[tuple[Category, tuple[str, ...]]]:
    """selectable_categories() with each one's keywords, built once per reading of the
    reference data (the intake queue asks for every row of its page)."""
    return reference.derived(
        "keyword catalogue", lambda: [(c, tuple(c.keyword_list())) for c in selectable_categories()]
    )


def suggest_category(text: str, limit: int = LIMIT) -> list[tuple[Category, int]]:
    """Categories for a free text (title and content), best first, with their keyword hits."""
    return _rank(text, _keyworded(), limit)


@dataclass(frozen=True)
class Suggestion:
    category: Category
    score: int
    # Where the routing rules send this category for the petition's place (None: no rule).
    unit: Unit | None


# Suggestions kept per reading of the reference data, at most this many (the intake page asks
# for the same petitions each time it is opened).
KEPT = 4096


def suggest(text: str, township: Unit | None, limit: int = LIMIT) -> list[Suggestion]:
    """Category suggestions for `text`, each with the unit the rules give for `township`: made
    once per text, place and reading of the reference data (kept with that reading, so that a
    change to the catalogue or the rules shows when they are read again)."""
    kept: dict[tuple[str, int | None, int], list[Suggestion]] = reference.derived("suggestions", dict)
    key = (text, township.id if township is not None else None, limit)
    found = kept.get(key)
    if found is None:
        if len(kept) >= KEPT:
            kept.clear()
        found = kept[key] = [
            Suggestion(category, score, reference.route_for(category, township) if township else None)
            for category, score in suggest_category(text, limit)
        ]
    return list(found)
