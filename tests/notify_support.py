"""Fixtures and helpers shared by the tests of clocks, cards, the outbox and SMS."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from config.settings import Twilio
from tests.fake_twilio import FakeTwilio

STAFF_PHONES = {
    "dongcheng-handler": "13800000001",
    "dongcheng-leader": "13800000002",
    "supervisor": "13800000003",
    "intake": "13800000004",
}


class Clock:
    """A controllable server clock (petitions.domain.clocks.set_clock)."""

    def __init__(self, start: datetime):
        self.value = start

    def __call__(self) -> datetime:
        return self.value

    def set(self, value: datetime) -> None:
        self.value = value

    def advance(self, **delta) -> datetime:
        self.value += timedelta(**delta)
        return self.value


@pytest.fixture()
def clock() -> Iterator[Clock]:
    from petitions.domain.clocks import set_clock

    # A Monday, 10:00 in the bureau (02:00 UTC): far from holidays and quiet hours.
    c = Clock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    set_clock(c)
    yield c
    set_clock(None)


@pytest.fixture(scope="session")
def _fake_twilio_server() -> Iterator[FakeTwilio]:
    fake = FakeTwilio().start()
    yield fake
    fake.stop()


@pytest.fixture()
def twilio(app, _fake_twilio_server, monkeypatch) -> Iterator[FakeTwilio]:
    """The app's SMS go through the real twilio client to the local fake."""
    fake = _fake_twilio_server
    fake.reset()
    from notifications import sms
    from tests.conftest import configure
    from tests.fake_twilio import redirecting_http_client

    settings = app.extensions["settings"]
    monkeypatch.setattr(sms, "http_client_factory", redirecting_http_client(fake.url))
    configure(
        app,
        twilio=Twilio(account_sid=fake.account_sid, auth_token=fake.auth_token, from_="+15005550006"),
        notify=dataclasses.replace(settings.notify, provider_timeout=1),
    )
    yield fake


@pytest.fixture()
def staff_phones(app, db) -> Iterator[dict[str, int]]:
    """Mobile numbers for the dongcheng handler and leader, the supervisor and intake (restored after)."""
    from petitions.models import User

    ids = {}
    for username, phone in STAFF_PHONES.items():
        user = db.session.scalar(select(User).where(User.username == username))
        user.phone = phone
        ids[username] = user.id
    db.session.commit()
    yield ids
    db.session.rollback()
    for user in db.session.scalars(select(User).where(User.id.in_(ids.values()))):
        user.phone = None
    db.session.commit()


def file(db, *, township: str = "dongcheng", category: str | None = None, phone: str = "13912345678"):
    """File a petition the way the web form does; it is routed at once to a unit."""
    from petitions.models import Category, Unit
    from petitions.services import filing as intake

    if category is None:
        category = _routed_category(db, township)
    filed = intake.file_petition(
        intake.Filing(
            title="路灯不亮",
            content="东城街道幸福路的路灯坏了一个月。",
            category=category,
            township=township,
            contact_name="张三",
            contact_phone=phone,
        )
    )
    petition = filed.petition
    assert petition.unit is not None
    assert db.session.scalar(select(Unit.code).where(Unit.id == petition.unit_id))
    assert db.session.get(Category, petition.category_id)
    return petition


def _routed_category(db, township: str) -> str:
    """A grievance category that the demo routes to the township itself."""
    from petitions.models import Category, Unit
    from petitions.services import reference

    place = db.session.scalar(select(Unit).where(Unit.code == township))
    for cat in db.session.scalars(
        select(Category)
        .where(Category.parent_id.is_not(None), Category.kind == "grievance")
        .order_by(Category.id)
    ):
        unit = reference.route_for(cat, place)
        if unit is not None and unit.id == place.id:
            return cat.code
    raise AssertionError("no category routes to the township")


def run_jobs(app) -> int:
    """Run every queued RQ job in this process (SimpleWorker, burst); answers how many ran."""
    from rq import SimpleWorker

    from notifications import queueing

    q = queueing.queue()
    ran = 0
    worker = SimpleWorker([q], connection=q.connection)
    before = len(q)
    worker.work(burst=True, with_scheduler=False)
    ran = before
    return ran


def outbox_rows(db, petition_id: int | None = None):
    from petitions.models import Outbox

    stmt = select(Outbox).order_by(Outbox.id)
    if petition_id is not None:
        stmt = stmt.where(Outbox.petition_id == petition_id)
    db.session.expire_all()
    return list(db.session.scalars(stmt))
