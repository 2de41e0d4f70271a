"""What the public pages show (政务公开), as plain data: the catalogue and published replies.

Published petitions are those whose citizen consented (public_consent) and that have an
issued reply; reports of misconduct (检举控告) are never published, whatever the consent.
Nothing personal leaves here: no name, phone number, address or tracking number, and the
title, content and reply are masked by petitions.domain.privacy.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased

from petitions.domain.privacy import mask_text
from petitions.extensions import db
from petitions.measures import stats
from petitions.models import Category, CategoryKind, Petition, Reply, ReplyKind, RoutingRule, Unit, UnitKind
from petitions.web.presenters import local_name

PAGE_SIZE = 20
PLACE_KINDS = (UnitKind.TOWNSHIP.value, UnitKind.COMMITTEE.value)


def catalogue() -> list[dict[str, Any]]:
    """Top-level subjects with their categories: kind, responsible unit(s), limits, committed speed-up;
    names in the reader's language (cache it per language)."""
    rules = db.session.execute(
        select(RoutingRule.category_id, RoutingRule.township_id, Unit.name, Unit.name_en, Unit.kind, Unit.code)
        .join(Unit, Unit.id == RoutingRule.unit_id)
        .where(RoutingRule.active.is_(True), Unit.active.is_(True), RoutingRule.category_id.is_not(None))
    ).all()
    by_category: dict[int, list] = {}
    for row in rules:
        by_category.setdefault(row.category_id, []).append(row)
    tops = db.session.scalars(
        select(Category)
        .where(Category.parent_id.is_(None), Category.active.is_(True))
        .order_by(Category.sort_order, Category.id)
    ).all()
    result = []
    for top in tops:
        items = []
        for cat in top.children:
            if not cat.active:
                continue
            found = by_category.get(cat.id, []) or by_category.get(top.id, [])
            per_place = any(r.township_id is not None and r.kind in PLACE_KINDS for r in found)
            units = sorted({local_name(r) for r in found if r.township_id is None or r.kind not in PLACE_KINDS})
            limits = stats.category_limits(cat)
            items.append(
                {
                    "code": cat.code,
                    "name": local_name(cat),
                    "kind": cat.kind,
                    "per_place": per_place,
                    "units": units,
                    "accept": limits["accept"],
                    "handle": limits["handle"],
                    "committed_speedup": stats.committed_speedup(cat),
                }
            )
        result.append({"code": top.code, "name": local_name(top), "categories": items})
    return result


def _published_query():
    # The first issued reply of each petition (the answer the citizen agreed to publish).
    first_reply = (
        select(Reply.petition_id, func.min(Reply.id).label("reply_id"))
        .where(Reply.kind == ReplyKind.REPLY.value, Reply.issued_at.is_not(None))
        .group_by(Reply.petition_id)
        .subquery()
    )
    return (
        select(Petition, Reply)
        .join(first_reply, first_reply.c.petition_id == Petition.id)
        .join(Reply, Reply.id == first_reply.c.reply_id)
        .join(Category, Category.id == Petition.category_id)
        .where(Petition.public_consent.is_(True), Category.kind != CategoryKind.REPORT.value)
    )


def _public_item(petition: Petition, reply: Reply, *, full: bool) -> dict[str, Any]:
    names = [petition.contact_name]
    addresses = [petition.address]
    content = mask_text(petition.content, names=names, addresses=addresses)
    if not full and len(content) > 120:
        content = content[:120] + "……"
    return {
        "id": petition.id,
        "title": mask_text(petition.title, names=names, addresses=addresses),
        "content": content,
        # Names with their English ones: the page shows them in its language (| named).
        "category": _names(petition.category),
        "township": _names(petition.township),
        "unit": _names(reply.unit or petition.unit),
        "filed_at": petition.created_at,
        "replied_at": reply.issued_at,
        "reply": mask_text(reply.text or "", names=names, addresses=addresses),
        "status": petition.status,
    }


def _names(thing: Unit | Category | None) -> dict[str, str | None]:
    return {"name": thing.name if thing else "", "name_en": thing.name_en if thing else None}


def published(page: int = 1, per_page: int = PAGE_SIZE) -> dict[str, Any]:
    """One page of published petitions with their replies, newest reply first."""
    page = max(1, page)
    stmt = _published_query()
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.execute(
        stmt.order_by(Reply.issued_at.desc(), Petition.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return {
        "items": [_public_item(p, r, full=False) for p, r in rows],
        "page": page,
        "pages": max(1, -(-total // per_page)),
        "total": total,
    }


def latest(count: int = 5) -> list[dict[str, Any]]:
    """The newest published replies: read from the newest issued reply backwards through its
    index, so it costs the same whatever the number of petitions."""
    earlier = aliased(Reply)
    rows = db.session.execute(
        select(Petition, Reply)
        .join(Petition, Petition.id == Reply.petition_id)
        .join(Category, Category.id == Petition.category_id)
        .where(
            Reply.kind == ReplyKind.REPLY.value,
            Reply.issued_at.is_not(None),
            Petition.public_consent.is_(True),
            Category.kind != CategoryKind.REPORT.value,
            # The first issued reply of its petition (the answer the citizen agreed to publish).
            ~exists().where(
                earlier.petition_id == Reply.petition_id,
                earlier.kind == ReplyKind.REPLY.value,
                earlier.issued_at.is_not(None),
                earlier.id < Reply.id,
            ),
        )
        .order_by(Reply.issued_at.desc(), Petition.id.desc())
        .limit(count)
    ).all()
    return [_public_item(p, r, full=False) for p, r in rows]


def published_one(petition_id: int) -> dict[str, Any] | None:
    row = db.session.execute(_published_query().where(Petition.id == petition_id)).first()
    return _public_item(row[0], row[1], full=True) if row else None
