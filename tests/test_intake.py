"""Filing in the domain: routing at once or waiting for intake, clocks, events, retries."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from petitions.domain.clocks import set_clock
from petitions.domain.errors import NotFound, ValidationFailed
from petitions.models import Clock, Event, Petition, RoutingRule
from petitions.services.filing import Filing, file_petition, find_for_citizen

pytestmark = pytest.mark.calendar


def _filing(**over) -> Filing:
    base = dict(
        title="小区路灯坏了三个月",
        content="东城街道幸福小区的路灯坏了三个月，晚上出行不便。",
        category="jtys-dl",
        township="dongcheng",
        contact_name="张三",
        contact_phone="138 1234 5678",
    )
    base.update(over)
    return Filing(**base)


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_routed_at_once_with_its_accept_clock(db):
    # 2026-11-22 10:00 in Shanghai; jtys-dl commits to a 3-day acceptance decision.
    set_clock(lambda: datetime(2026, 11, 22, 2, 0, tzinfo=UTC))
    filed = file_petition(_filing())
    p = filed.petition
    assert p.status == "routed" and p.unit.code == "jtj"
    assert p.version == 1, "the petition is written once, whole"
    assert p.contact_phone == "13812345678"
    assert p.created_at == p.routed_at == datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    [clock] = p.clocks
    assert clock.kind == "accept" and clock.stopped_at is None and clock.unit_id == p.unit_id
    # Counted from the next day: the end of 25 November, local time.
    assert clock.due_at == datetime(2026, 11, 25, 16, 0, tzinfo=UTC) == p.due_at
    assert clock.statutory_due_at > clock.due_at
    assert [(e.type, e.from_status, e.to_status) for e in p.events] == [
        ("registered", None, "registered"),
        ("routed", "registered", "routed"),
    ]
    assert len(filed.query_code) == 8 and filed.query_code.isdigit()
    assert filed.query_code not in p.query_code_hash


def test_waits_for_intake_when_no_rule_matches(db):
    rule = db.session.scalar(select(RoutingRule).where(RoutingRule.category.has(code="jtys-dl")))
    rule.active = False
    db.session.commit()
    p = file_petition(_filing()).petition
    assert p.status == "registered" and p.unit is None
    [clock] = p.clocks
    assert clock.kind == "route" and clock.unit_id is None
    assert [e.type for e in p.events] == ["registered"]


def test_report_goes_to_the_discipline_office_and_may_be_anonymous(db):
    p = file_petition(
        _filing(category="jjkg-zf", anonymous=True, contact_name="", contact_phone="", title="某站所吃拿卡要")
    ).petition
    assert p.unit.kind == "discipline" and p.anonymous and p.contact_phone is None


def test_bad_input_writes_nothing(db):
    before = (count(db, Petition), count(db, Event), count(db, Clock))
    with pytest.raises(ValidationFailed) as err:
        file_petition(_filing(title="", category="nope", contact_phone="12345"))
    assert set(err.value.fields) == {"title", "category", "contact.phone"}
    assert (count(db, Petition), count(db, Event), count(db, Clock)) == before


def test_wrong_code_and_unknown_number_are_the_same_not_found(db):
    filed = file_petition(_filing())
    assert find_for_citizen(filed.petition.tracking_no, filed.query_code).id == filed.petition.id
    with pytest.raises(NotFound) as wrong:
        find_for_citizen(filed.petition.tracking_no, "00000000")
    with pytest.raises(NotFound) as unknown:
        find_for_citizen("XF20990101000000", filed.query_code)
    assert str(wrong.value) == str(unknown.value)
