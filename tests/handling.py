"""Helpers shared by the handling tests (filing a petition, acting as a demo account)."""

from __future__ import annotations

from sqlalchemy import func, select, update

from petitions.extensions import db
from petitions.models import Category, Event, Petition, RoutingRule, User
from petitions.services import actions, reference
from petitions.services import filing as intake
from petitions.services.access import CodeHolder


def logged_in(client, username: str):
    """`client` with a web session of `username`, as after the log-in form."""
    with client.session_transaction() as session:
        session["_user_id"] = str(user(username).id)
        session["_fresh"] = True
    return client


def user(username: str) -> User:
    found = db.session.scalar(select(User).where(User.username == username))
    assert found is not None, username
    return found


def file(
    title: str = "门前道路坑洼多年无人修",
    category: str = "jtys-dl",
    township: str = "dongcheng",
    phone: str | None = "13812345678",
    name: str | None = "张三",
    anonymous: bool = False,
    citizen: User | None = None,
    address: str | None = None,
) -> tuple[Petition, str]:
    filed = intake.file_petition(
        intake.Filing(
            title=title,
            content="路面坑洼，雨天积水，老人孩子出行不便。",
            category=category,
            township=township,
            contact_name=name,
            contact_phone=phone,
            anonymous=anonymous,
            address=address,
        ),
        citizen=citizen,
    )
    return filed.petition, filed.query_code


def no_rule_for(category: str = "jtys-dl") -> Category:
    """Switch off the routing rules of a category and of its parent: its petitions wait for
    intake. Invalidates the reference cache, as the admin area does after a change of the rules."""
    found = db.session.scalar(select(Category).where(Category.code == category))
    db.session.execute(
        update(RoutingRule).where(RoutingRule.category_id.in_([found.id, found.parent_id])).values(active=False)
    )
    db.session.commit()
    reference.invalidate()
    return found


def act(petition: Petition | str, action: str, username: str, **fields) -> Petition:
    """Act as a demo account on the petition's current version."""
    tn = petition if isinstance(petition, str) else petition.tracking_no
    current = db.session.scalar(select(Petition).where(Petition.tracking_no == tn))
    return actions.perform(tn, action, user(username), current.version, **fields)


def as_citizen(petition: Petition, action: str, **fields) -> Petition:
    return actions.perform(petition, action, CodeHolder(petition.id), None, **fields)


def snapshot(petition: Petition) -> tuple:
    """What must not change when an action is refused."""
    db.session.expire_all()
    p = db.session.get(Petition, petition.id)
    events = db.session.scalar(select(func.count()).select_from(Event).where(Event.petition_id == p.id))
    return (p.status, p.version, p.unit_id, p.handler_id, p.due_at, events, len(p.clocks))
