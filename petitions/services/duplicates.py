"""Possible duplicates (重复件): the same phone, the same category, a similar title, filed within
`duplicate_window_days` (30) of each other.

Intake sees them flagged with a link to the earlier petition and may merge the later one
into it (the `merge` action in petitions.domain.workflow / petitions.services.actions).
"""

from __future__ import annotations

import difflib
from datetime import timedelta

from sqlalchemy import select

from petitions.extensions import db, settings
from petitions.models import Petition


def similar_titles(a: str, b: str, keywords: list[str] | None = None) -> bool:
    """Titles alike enough to be the same matter: close as strings, or sharing a subject keyword."""
    a, b = (a or "").strip(), (b or "").strip()
    if not a or not b:
        return False
    if a in b or b in a:
        return True
    ratio = settings().duplicate_title_ratio
    if difflib.SequenceMatcher(None, a, b).ratio() >= ratio:
        return True
    return any(k in a and k in b for k in (keywords or []))


def find_possible_duplicates(petition: Petition, limit: int = 5) -> list[Petition]:
    """Earlier petitions (newest first) this one may repeat; none without a contact phone."""
    if not petition.contact_phone:
        return []
    days = settings().duplicate_window_days
    since = petition.created_at - timedelta(days=days)
    candidates = db.session.scalars(
        select(Petition)
        .where(
            Petition.contact_phone == petition.contact_phone,
            Petition.category_id == petition.category_id,
            Petition.id != petition.id,
            Petition.duplicate_of_id.is_(None),
            Petition.created_at >= since,
            Petition.created_at <= petition.created_at,
        )
        .order_by(Petition.created_at.desc(), Petition.id.desc())
        .limit(50)
    ).all()
    keywords = petition.category.keyword_list()
    found = [
        p for p in candidates if p.id < petition.id and similar_titles(petition.title, p.title, keywords)
    ]
    return found[:limit]
