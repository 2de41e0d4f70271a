"""GeoReport v2 in this domain: categories are services, petitions are service requests.

Pure of the request: the views hand in plain values. A service request's id is the
petition's tracking number. Whatever a GET answers is public, so it carries no personal
data: no name, phone, e-mail, content or reply text, and the township name for the address.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from petitions.domain import clocks as clock_rules
from petitions.domain.clocks import now
from petitions.domain.errors import DomainError, NotFound
from petitions.extensions import db, settings
from petitions.i18n import lazy_gettext as _l
from petitions.models import Category, CategoryKind, Channel, Petition, Status, Unit
from petitions.services import filing as intake
from petitions.web import presenters
from petitions.web.jsonout import local_iso

# Open311 has two states; not_accepted ends the matter here too (the citizen is told the proper channel).
CLOSED_STATUSES = {Status.CLOSED.value, Status.NOT_ACCEPTED.value}
# The filer's own fields; a request may carry nothing else about a person.
ANONYMOUS_ATTRIBUTE = "anonymous"
TRUE_VALUES = {"true", "1", "yes", "on"}
FALSE_VALUES = {"false", "0", "no", "off", ""}


# Codes and ids are short ASCII: anything else is simply unknown (and never reaches the database:
# PostgreSQL refuses NUL in text).
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def _code(value: str) -> str:
    value = value.strip()
    return value if CODE_RE.match(value) else ""


class Open311Error(DomainError):
    """An invalid request parameter (400, in the specification's error shape)."""

    status = 400
    code = "bad_request"

    def __init__(self, message: object, details: list[str] | None = None):
        super().__init__(message)
        self.details = details or []


class KeyRefused(DomainError):
    """No api_key, or one that is not an active key (403)."""

    status = 403
    code = "forbidden"


# ---------------------------------------------------------------- services


def _services() -> list[Category]:
    return list(
        db.session.scalars(
            select(Category)
            .where(Category.parent_id.is_not(None), Category.active.is_(True))
            .order_by(Category.sort_order, Category.id)
        )
    )


def _has_attributes(category: Category) -> bool:
    return category.kind == CategoryKind.REPORT


def services() -> list[dict[str, Any]]:
    """GET services: every selectable category. `realtime`: the id is given at once."""
    ordered = sorted(
        _services(),
        key=lambda c: (c.parent.sort_order if c.parent else 0, c.parent_id or 0, c.sort_order, c.id),
    )
    return [
        {
            "service_code": c.code,
            "service_name": c.name,
            "description": c.description or "",
            "metadata": _has_attributes(c),
            "type": "realtime",
            "keywords": ",".join(c.keyword_list()),
            "group": c.parent.name if c.parent else "",
        }
        for c in ordered
    ]


def service(code: str) -> Category:
    category = db.session.scalar(select(Category).where(Category.code == _code(code)))
    if category is None or not category.active or not category.selectable:
        raise NotFound(_l("Unknown service_code."))
    return category


def definition(code: str) -> dict[str, Any]:
    """GET service definition: reports (检举控告) may be filed anonymously; other services have no attributes."""
    category = service(code)
    attributes = []
    if _has_attributes(category):
        attributes.append(
            {
                "variable": True,
                "code": ANONYMOUS_ATTRIBUTE,
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": str(_l("true to file anonymously; then no name or phone is needed")),
                "order": 1,
                "description": str(_l("File anonymously")),
                "values": [
                    {"key": "false", "name": str(_l("With my name"))},
                    {"key": "true", "name": str(_l("Anonymously"))},
                ],
            }
        )
    return {"service_code": category.code, "attributes": attributes}


# ---------------------------------------------------------------- filing


@dataclass
class RequestIn:
    """POST requests: the specification's fields, as text."""

    service_code: str = ""
    description: str = ""
    address_string: str = ""
    lat: str = ""
    long: str = ""
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    email: str = ""
    media_url: str = ""
    attributes: dict[str, str] = field(default_factory=dict)


def place_for(address: str) -> Unit | None:
    """The township or committee whose name the address contains (the longest name wins)."""
    if not address:
        return None
    places = db.session.scalars(
        select(Unit).where(Unit.kind.in_(intake.PLACE_KINDS), Unit.active.is_(True))
    ).all()
    found = [u for u in places if u.name and u.name in address]
    return max(found, key=lambda u: len(u.name)) if found else None


def _coordinate(value: str, name: str, bound: float, errors: list[str]) -> float | None:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or abs(number) > bound:
        errors.append(
            str(
                _l("%(name)s must be a number between -%(bound)s and %(bound)s.", name=name, bound=int(bound))
            )
        )
        return None
    return number


def title_from(description: str) -> str:
    """The petition's title: the description's first line, shortened to the title limit."""
    first = next((line.strip() for line in description.splitlines() if line.strip()), "")
    limit = settings().title_max
    return first if len(first) <= limit else first[: limit - 1] + "…"


# intake's field names, as an Open311 client knows them
_FIELD_NAMES = {
    "title": "description",
    "content": "description",
    "category": "service_code",
    "contact.name": "first_name",
    "contact.phone": "phone",
    "address": "address_string",
    "anonymous": "attribute[anonymous]",
}


def to_filing(data: RequestIn) -> intake.Filing:
    """Check what intake does not know (coordinates, attributes, media_url) and build the Filing."""
    errors: list[str] = []
    if not data.service_code.strip():
        errors.append(str(_l("service_code is required.")))
    else:
        try:
            service(data.service_code.strip())
        except NotFound:
            errors.append(str(_l("Unknown service_code.")))
    description = data.description.strip()
    if not description:
        errors.append(str(_l("description is required.")))
    lat = lon = None
    if data.lat.strip() or data.long.strip():
        lat = _coordinate(data.lat.strip(), "lat", 90, errors)
        lon = _coordinate(data.long.strip(), "long", 180, errors)
    elif not data.address_string.strip():
        errors.append(str(_l("address_string or lat and long are required.")))
    flag = data.attributes.get(ANONYMOUS_ATTRIBUTE, "").strip().lower()
    if flag not in TRUE_VALUES | FALSE_VALUES:
        errors.append(str(_l("attribute[anonymous] must be true or false.")))
    media = data.media_url.strip()
    if media and (
        not media.startswith(("http://", "https://")) or len(media) > 1000 or any(c.isspace() for c in media)
    ):
        errors.append(str(_l("media_url must be an http(s) address.")))
    if len(data.email) > 254:
        errors.append(str(_l("email is too long.")))
    if errors:
        raise Open311Error(errors[0], errors)

    content = description
    if media:
        # Staff open the link themselves; the server never fetches it.
        label = _l("Photo or video")
        content = f"{content}\n\n{label}: {media}"
    place = place_for(data.address_string)
    # A Chinese name is written surname (last_name) first.
    name = f"{data.last_name.strip()}{data.first_name.strip()}"
    return intake.Filing(
        title=title_from(description),
        content=content,
        category=data.service_code.strip(),
        township=place.code if place is not None else None,
        contact_name=name or None,
        contact_phone=data.phone.strip() or None,
        anonymous=flag in TRUE_VALUES,
        channel=Channel.OPEN311.value,
        address=data.address_string.strip() or None,
        latitude=lat,
        longitude=lon,
        offered_channels=frozenset({Channel.OPEN311.value}),
    )


def file_request(data: RequestIn) -> list[dict[str, Any]]:
    """POST requests: file through intake.file_petition; answers the specification's list. Commits."""
    filing = to_filing(data)
    try:
        filed = intake.file_petition(filing)
    except DomainError as exc:
        fields = exc.text_fields()
        if not fields:
            raise
        details = [f"{_FIELD_NAMES.get(name, name)}: {why}" for name, why in fields.items()]
        raise Open311Error(details[0], details) from None
    petition = filed.petition
    if petition.unit is not None:
        notice = _l(
            "Registered as %(no)s and sent to %(unit)s.", no=petition.tracking_no, unit=petition.unit.name
        )
    else:
        notice = _l(
            "Registered as %(no)s; the petition bureau will send it to the responsible unit.",
            no=petition.tracking_no,
        )
    return [{"service_request_id": petition.tracking_no, "service_notice": str(notice), "account_id": None}]


# ---------------------------------------------------------------- following


def _local(value: datetime | None) -> str | None:

    return local_iso(value) if value is not None else None


def status_notes(petition: Petition) -> str:
    notes = presenters.status_label(petition.status)
    if petition.status == Status.NOT_ACCEPTED.value:
        declined = next((e for e in reversed(petition.events) if e.type == "declined"), None)
        channel = (declined.data or {}).get("channel") if declined is not None else None
        if channel:
            proper = _l("Proper channel: %(channel)s", channel=channel)
            notes = f"{notes} {proper}"
    return notes


def request_view(petition: Petition) -> dict[str, Any]:
    """One service request as anyone may read it (no personal data)."""
    clock = petition.open_clock
    expected = clock.due_at if clock is not None and clock.kind not in clock_rules.CITIZEN_WINDOWS else None
    return {
        "service_request_id": petition.tracking_no,
        "status": "closed" if petition.status in CLOSED_STATUSES else "open",
        "status_notes": status_notes(petition),
        "service_name": petition.category.name,
        "service_code": petition.category.code,
        "agency_responsible": petition.unit.name if petition.unit is not None else None,
        "service_notice": None,
        "requested_datetime": _local(petition.created_at),
        "updated_datetime": _local(petition.updated_at),
        "expected_datetime": _local(expected),
        "address": petition.township.name if petition.township is not None else None,
        "lat": petition.latitude,
        "long": petition.longitude,
    }


def _open311_petitions():
    # Only what came in through Open311 is followed here: the county's other petitions
    # (reports of misconduct among them) are not published by this door.
    return select(Petition).where(Petition.channel == Channel.OPEN311.value)


def find_request(request_id: str) -> Petition:
    petition = db.session.scalar(_open311_petitions().where(Petition.tracking_no == _code(request_id)))
    if petition is None:
        raise NotFound(_l("No service request has this id."))
    return petition


def parse_time(value: str, name: str) -> datetime:
    """A W3C date-time (with offset; a bare date or time counts as local time)."""
    text = value.strip()
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise Open311Error(
            _l("%(name)s must be a date-time such as 2026-03-01T08:00:00+08:00.", name=name)
        ) from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(settings().timezone))
    return at


@dataclass
class SearchIn:
    service_request_id: str = ""
    service_code: str = ""
    start_date: str = ""
    end_date: str = ""
    status: str = ""


def _split(value: str) -> list[str]:
    """A comma list of codes; a part that cannot be a code matches nothing."""
    return [_code(part) or "-" for part in value.split(",") if part.strip()]


def search(query: SearchIn) -> list[dict[str, Any]]:
    """GET requests: by ids (which override every other filter), or by service, dates and status."""
    limit = settings().open311_max_requests
    stmt = _open311_petitions()
    ids = _split(query.service_request_id)
    if ids:
        if len(ids) > limit:
            raise Open311Error(_l("At most %(n)s service_request_id at once.", n=limit))
        stmt = stmt.where(Petition.tracking_no.in_(ids))
    else:
        span = timedelta(days=settings().open311_default_days)
        start = parse_time(query.start_date, "start_date") if query.start_date.strip() else None
        end = parse_time(query.end_date, "end_date") if query.end_date.strip() else None
        if start is None and end is None:
            end = now()
        if start is None:
            start = end - span
        if end is None:
            end = start + span
        if end < start:
            raise Open311Error(_l("end_date is before start_date."))
        if end - start > span:
            raise Open311Error(_l("The dates may span at most %(n)s days.", n=span.days))
        stmt = stmt.where(Petition.created_at >= start, Petition.created_at <= end)
        codes = _split(query.service_code)
        if codes:
            stmt = stmt.join(Category, Category.id == Petition.category_id).where(Category.code.in_(codes))
        wanted = set(_split(query.status.lower()))
        if wanted - {"open", "closed"}:
            raise Open311Error(_l("status must be open or closed."))
        if wanted == {"open"}:
            stmt = stmt.where(Petition.status.not_in(CLOSED_STATUSES))
        elif wanted == {"closed"}:
            stmt = stmt.where(Petition.status.in_(CLOSED_STATUSES))
    rows = db.session.scalars(stmt.order_by(Petition.created_at.desc(), Petition.id.desc()).limit(limit))
    return [request_view(p) for p in rows]
