"""What the electronic supervision board (电子监察) shows, as set-based SQL. No request, no session.

Levels are those the sweep last wrote (at most a minute old); cards are counted as given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from petitions.domain import clocks as clock_rules
from petitions.domain.clocks import as_utc, now
from petitions.domain.validation import mask_phone
from petitions.extensions import db, settings
from petitions.models import Card, Clock, Outbox, OutboxStatus, Petition, Unit, User
from petitions.services import calendar as workcalendar

LEVELS = ("green", "yellow", "red", "urged")
CARD_LEVELS = ("yellow", "red", "urged")
OLDEST_RED = 20
FAILED_SMS = 20


@dataclass
class UnitRow:
    unit_id: int | None
    code: str
    name: str
    name_en: str | None = None
    open: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))
    cards: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CARD_LEVELS, 0))

    @property
    def open_total(self) -> int:
        return sum(self.open.values())


@dataclass
class Board:
    at: datetime
    units: list[UnitRow]
    totals: dict[str, int]
    card_totals: dict[str, int]
    oldest_red: list[dict]
    failed_sms: list[dict]
    unknown_years: list[int]
    provisional_years: list[int]

    def to_json(self) -> dict:
        return {
            "at": self.at.isoformat(),
            "totals": self.totals,
            "card_totals": self.card_totals,
            "units": [{"code": u.code, "name": u.name, "open": u.open, "cards": u.cards} for u in self.units],
            "oldest_red": [
                {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}
                for row in self.oldest_red
            ],
            "failed_sms": [
                {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}
                for row in self.failed_sms
            ],
            "calendar": {"unknown_years": self.unknown_years, "provisional_years": self.provisional_years},
        }


def build(at: datetime | None = None) -> Board:
    at = as_utc(at or now())
    supervised = clock_rules.SUPERVISED
    units: dict[int | None, UnitRow] = {}

    def row_for(unit_id: int | None, code: str, name: str, name_en: str | None) -> UnitRow:
        if unit_id not in units:
            units[unit_id] = UnitRow(unit_id, code, name, name_en)
        return units[unit_id]

    open_counts = db.session.execute(
        select(Clock.unit_id, Unit.code, Unit.name, Unit.name_en, Clock.level, func.count())
        .outerjoin(Unit, Unit.id == Clock.unit_id)
        .where(Clock.stopped_at.is_(None), Clock.kind.in_(supervised))
        .group_by(Clock.unit_id, Unit.code, Unit.name, Unit.name_en, Clock.level)
    ).all()
    for unit_id, code, name, name_en, level, count in open_counts:
        row_for(unit_id, code or "", name or "", name_en).open[level] = count
    card_counts = db.session.execute(
        select(Card.unit_id, Unit.code, Unit.name, Unit.name_en, Card.level, func.count())
        .outerjoin(Unit, Unit.id == Card.unit_id)
        .group_by(Card.unit_id, Unit.code, Unit.name, Unit.name_en, Card.level)
    ).all()
    for unit_id, code, name, name_en, level, count in card_counts:
        row_for(unit_id, code or "", name or "", name_en).cards[level] = count

    ordered = sorted(
        units.values(),
        key=lambda u: (-u.open["urged"], -u.open["red"], -u.open["yellow"], -u.cards["red"], u.name),
    )
    totals = {lvl: sum(u.open[lvl] for u in ordered) for lvl in LEVELS}
    card_totals = {lvl: sum(u.cards[lvl] for u in ordered) for lvl in CARD_LEVELS}

    oldest = db.session.execute(
        select(
            Petition.tracking_no,
            Petition.title,
            Petition.version,
            Clock.kind,
            Clock.level,
            Clock.due_at,
            Unit.name,
            Unit.name_en,
        )
        .join(Petition, Petition.id == Clock.petition_id)
        .outerjoin(Unit, Unit.id == Clock.unit_id)
        .where(Clock.stopped_at.is_(None), Clock.kind.in_(supervised), Clock.level.in_(["red", "urged"]))
        .order_by(Clock.due_at, Clock.id)
        .limit(OLDEST_RED)
    ).all()
    oldest_red = [
        {
            "tracking_no": no,
            "title": title,
            "version": version,
            "clock": kind,
            "level": level,
            "due_at": due,
            "overdue_days": max(0, (at - as_utc(due)).days),
            "unit": unit or "",
            "unit_en": unit_en,
        }
        for no, title, version, kind, level, due, unit, unit_en in oldest
    ]

    failed = db.session.execute(
        select(
            Outbox.id,
            Outbox.purpose,
            Outbox.phone,
            User.username,
            User.phone,
            Outbox.last_error,
            Outbox.attempts,
            Outbox.updated_at,
            Petition.tracking_no,
        )
        .outerjoin(User, User.id == Outbox.recipient_user_id)
        .outerjoin(Petition, Petition.id == Outbox.petition_id)
        .where(Outbox.status == OutboxStatus.FAILED.value)
        .order_by(Outbox.updated_at.desc(), Outbox.id.desc())
        .limit(FAILED_SMS)
    ).all()
    failed_sms = [
        {
            "id": oid,
            "purpose": purpose,
            "recipient": username or "",
            "phone": mask_phone(phone or user_phone),
            "error": error or "",
            "attempts": attempts,
            "at": updated,
            "tracking_no": no or "",
        }
        for oid, purpose, phone, username, user_phone, error, attempts, updated, no in failed
    ]

    cal = workcalendar.current()
    year = at.astimezone(ZoneInfo(settings().timezone)).year
    return Board(
        at=at,
        units=ordered,
        totals=totals,
        card_totals=card_totals,
        oldest_red=oldest_red,
        failed_sms=failed_sms,
        unknown_years=cal.unknown_years(year, year + 1),
        provisional_years=sorted(y for y in cal.provisional if year <= y <= year + 1),
    )
