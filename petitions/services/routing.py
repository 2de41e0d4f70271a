"""Subject + place → responsible unit (分类交办).

A rule names a category, a township, or both (a null side matches any). The most
specific matching rule wins, then the highest priority; a rule with both sides null is
the default. Reports (检举控告) are never routed to the unit they concern: their rules
point at the discipline office, and routing refuses to send a report to its township.
"""

from __future__ import annotations

from sqlalchemy import case, or_, select

from petitions.extensions import db
from petitions.models import Category, CategoryKind, RoutingRule, Unit, UnitKind


def match_rule(category: Category, township: Unit | None) -> RoutingRule | None:
    """The rule that routes (category, township), or None: it waits for the intake officer.

    Without a place (an Open311 filing whose address named none) only rules for any place match.
    """
    category_ids = [category.id] + ([category.parent_id] if category.parent_id else [])
    specificity = (
        case((RoutingRule.category_id == category.id, 4), (RoutingRule.category_id.is_not(None), 2), else_=0)
        + case((RoutingRule.township_id.is_not(None), 1), else_=0)
    )
    stmt = (
        select(RoutingRule)
        .join(Unit, Unit.id == RoutingRule.unit_id)
        .where(
            RoutingRule.active.is_(True),
            Unit.active.is_(True),
            or_(RoutingRule.category_id.is_(None), RoutingRule.category_id.in_(category_ids)),
            or_(
                RoutingRule.township_id.is_(None),
                RoutingRule.township_id == (township.id if township is not None else None),
            ),
        )
        .order_by(specificity.desc(), RoutingRule.priority.desc(), RoutingRule.id)
    )
    for rule in db.session.scalars(stmt):
        if category.kind == CategoryKind.REPORT and rule.unit.kind != UnitKind.DISCIPLINE:
            continue
        return rule
    return None


def route_for(category: Category, township: Unit | None) -> Unit | None:
    rule = match_rule(category, township)
    return rule.unit if rule else None
