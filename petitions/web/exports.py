"""Exports of petitions and measures as CSV and XLSX, streamed row by row.

Rows come from the database in batches (`yield_per`, a server-side cursor on PostgreSQL)
and leave as they are written: CSV line by line, XLSX through openpyxl's write-only
workbook (rows go to a temporary file as they come; the finished file is then sent in
chunks), so a million petitions export in constant memory.

Personal data (the contact's name and phone number) is written only as far as the reader
may see it, by the same rule as the staff pages (petitions.services.access.contact_view): masked
phone numbers for those who do not call citizens back, nothing at all of a reporter's
identity outside the discipline office and the bureau.

A body is written after the view has returned, when the request's ORM session may already be
gone: everything an export needs of the reader and of the period is read before the first row
(`petition_rows` and `measure_rows` are plain functions that return the generator), and the rows
themselves come from a query of plain columns, never from ORM instances.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import Select, and_, exists, or_, select
from sqlalchemy.orm import aliased

from petitions.domain.errors import ValidationFailed
from petitions.extensions import db, settings
from petitions.i18n import lazy_gettext as _l
from petitions.measures import stats
from petitions.models import Category, Clock, Level, Petition, Status, Unit, User
from petitions.services import access

BATCH = 2000
CHUNK = 64 * 1024
FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class PetitionFilter:
    """The staff queue's filters: status, warning level of the running clock, unit, text."""

    status: str | None = None
    level: str | None = None
    unit: str | None = None
    q: str | None = None

    @classmethod
    def parse(cls, args: Any) -> PetitionFilter:
        status = (args.get("status") or "").strip() or None
        level = (args.get("level") or "").strip() or None
        unit = (args.get("unit") or "").strip() or None
        q = (args.get("q") or "").strip()[:100] or None
        fields = {}
        if status is not None and status not in Status.values():
            fields["status"] = _l("Unknown status.")
        if level is not None and level not in Level.values():
            fields["level"] = _l("Unknown warning level.")
        if unit is not None and db.session.scalar(select(Unit.id).where(Unit.code == unit)) is None:
            fields["unit"] = _l("Unknown unit.")
        if fields:
            raise ValidationFailed(_l("Some filters are not valid."), fields)
        return cls(status, level, unit, q)


def parse_format(value: str | None) -> str:
    fmt = (value or "csv").lower()
    if fmt not in FORMATS:
        raise ValidationFailed(_l("Unknown export format."), {"format": _l("Use csv or xlsx.")})
    return fmt


# ---------------------------------------------------------------- petitions


PETITION_HEADERS = (
    _l("Tracking number"),
    _l("Filed at"),
    _l("Channel"),
    _l("Category"),
    _l("Township"),
    _l("Responsible unit"),
    _l("Status"),
    _l("Title"),
    _l("Due at"),
    _l("Replied at"),
    _l("Closed at"),
    _l("Contact name"),
    _l("Contact phone"),
)


def petitions_query(user: User, flt: PetitionFilter) -> Select:
    """The petitions `user` may see (petitions.services.access), filtered, as plain columns."""
    township = aliased(Unit)
    responsible = aliased(Unit)
    # The same WHERE as the staff lists (petitions.services.access), on this wider SELECT.
    visible = access.visible_petitions_query(user).whereclause
    stmt = (
        select(
            Petition.tracking_no,
            Petition.created_at,
            Petition.channel,
            Category.name,
            township.name,
            responsible.name,
            Petition.status,
            Petition.title,
            Petition.due_at,
            Petition.replied_at,
            Petition.closed_at,
            Petition.contact_name,
            Petition.contact_phone,
            Petition.unit_id,
            Petition.anonymous,
            Category.kind,
        )
        .join(Category, Category.id == Petition.category_id)
        .outerjoin(township, township.id == Petition.township_id)
        .outerjoin(responsible, responsible.id == Petition.unit_id)
        .order_by(Petition.id)
    )
    if visible is not None:
        stmt = stmt.where(visible)
    if flt.status:
        stmt = stmt.where(Petition.status == flt.status)
    if flt.unit:
        stmt = stmt.where(responsible.code == flt.unit)
    if flt.level:
        stmt = stmt.where(
            exists().where(
                and_(Clock.petition_id == Petition.id, Clock.stopped_at.is_(None), Clock.level == flt.level)
            )
        )
    if flt.q:
        like = f"%{flt.q}%"
        stmt = stmt.where(or_(Petition.title.like(like), Petition.tracking_no.like(like)))
    return stmt


def reader_facts(user: User) -> SimpleNamespace:
    """What petitions.services.access.contact_view asks of the reader, read now into plain values."""
    unit = user.unit
    return SimpleNamespace(
        id=user.id,
        role=user.role,
        unit_id=user.unit_id,
        unit=SimpleNamespace(kind=unit.kind) if unit is not None else None,
    )


def petition_rows(
    user: User, flt: PetitionFilter, labels: Mapping[str, Mapping[str, Any]] | None = None
) -> Iterator[Sequence[Any]]:
    """Header, then one row per petition, read from the database in batches. `labels` gives the
    words for the codes of a column ({"channel": {...}, "status": {...}}, in the reader's language)."""
    reader = reader_facts(user)
    stmt = petitions_query(user, flt).execution_options(yield_per=BATCH)
    tz = ZoneInfo(settings().timezone)
    # The words, as text now: the rows are written after the request's context has gone.
    named = {column: {code: str(word) for code, word in words.items()} for column, words in (labels or {}).items()}
    return _petition_rows(reader, stmt, tz, named)


def _petition_rows(
    reader: SimpleNamespace, stmt: Select, tz: ZoneInfo, named: Mapping[str, Mapping[str, str]]
) -> Iterator[Sequence[Any]]:
    def word(column: str, code: str | None) -> str:
        return named.get(column, {}).get(code, code) if code else ""

    yield [str(h) for h in PETITION_HEADERS]
    for r in db.session.execute(stmt):
        # The staff pages' rule for contact details, applied to this row's facts.
        facts = SimpleNamespace(
            anonymous=r[14],
            contact_name=r[11],
            contact_phone=r[12],
            unit_id=r[13],
            category=SimpleNamespace(kind=r[15]),
        )
        contact = access.contact_view(reader, facts)
        yield [
            r[0],
            _local(r[1], tz),
            word("channel", r[2]),
            r[3],
            r[4],
            r[5] or "",
            word("status", r[6]),
            r[7],
            _local(r[8], tz),
            _local(r[9], tz),
            _local(r[10], tz),
            contact["name"] or "",
            contact["phone"] or "",
        ]


def _local(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""


# ---------------------------------------------------------------- measures


def measure_rows(period: stats.Period) -> Iterator[Sequence[Any]]:
    """Header, one row per unit, and the row of all units together (the figures read now)."""
    data = stats.unit_measures(period)
    header = [
        str(_l("Period")),
        str(_l("Unit code")),
        str(_l("Unit")),
        *[str(stats.LABELS[m]) for m in stats.MEASURES],
    ]
    rows = [header]
    for row in data["units"]:
        rows.append(
            [
                data["period"],
                row["unit"]["code"],
                row["unit"]["name"],
                *[_cell(row[m]) for m in stats.MEASURES],
            ]
        )
    total = data["total"]
    rows.append([data["period"], "", str(_l("All units")), *[_cell(total[m]) for m in stats.MEASURES]])
    return iter(rows)


def _cell(value: Any) -> Any:
    return "" if value is None else value


# ---------------------------------------------------------------- writers


def csv_stream(rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """UTF-8 with a byte-order mark (so that Excel reads the Chinese), in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff".encode()
    for row in rows:
        writer.writerow(row)
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


def xlsx_stream(rows: Iterable[Sequence[Any]], title: str = "export") -> Iterator[bytes]:
    """An .xlsx written with openpyxl's write-only workbook, then sent in chunks."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    for row in rows:
        sheet.append(list(row))
    with tempfile.TemporaryFile() as tmp:
        workbook.save(tmp)
        tmp.seek(0)
        while chunk := tmp.read(CHUNK):
            yield chunk


def stream(rows: Iterable[Sequence[Any]], fmt: str, title: str) -> Iterator[bytes]:
    return xlsx_stream(rows, title) if fmt == "xlsx" else csv_stream(rows)
