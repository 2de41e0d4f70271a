"""Filing a petition (登记) and finding it again with its tracking number and query code.

One function serves the citizen's web form, the JSON API, staff intake of letters, calls
and visits, and Open311: each face turns its input into a `Filing` and calls `file_petition`.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from petitions.domain.clocks import now
from petitions.domain.errors import NotFound, ValidationFailed
from petitions.domain.validation import clean_filename, is_mainland_mobile, normalize_mobile, sniff_type
from petitions.extensions import db
from petitions.models import (
    Attachment,
    Category,
    Channel,
    Petition,
    Role,
    Status,
    Unit,
    UnitKind,
    User,
)
from petitions.services import clocks, history, routing

STAFF_CHANNELS = {Channel.LETTER.value, Channel.PHONE.value, Channel.VISIT.value}
PLACE_KINDS = {UnitKind.TOWNSHIP.value, UnitKind.COMMITTEE.value}
# A hash that no query code matches, checked against when the tracking number is unknown so
# that both failures take the same time (never reveal that a tracking number exists).
_DUMMY_HASH = generate_password_hash("no-such-petition", method="pbkdf2:sha256:60000")


@dataclass
class Upload:
    filename: str
    data: bytes


@dataclass
class Filing:
    title: str | None = None
    content: str | None = None
    category: str | None = None
    township: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    anonymous: bool = False
    public_consent: bool = False
    channel: str = Channel.WEB.value
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    attachments: list[Upload] = field(default_factory=list)
    # The channels the face that took it offers (staff entry: letter, phone, visit); None: any
    # channel the actor may use. A channel a face does not offer is refused, never recorded.
    offered_channels: frozenset[str] | None = None


@dataclass
class Filed:
    petition: Petition
    query_code: str


def _clean(value: str | None) -> str:
    return (value or "").strip()


def validate(filing: Filing, actor: User | None) -> tuple[Category | None, Unit | None, list[tuple[Upload, str]]]:
    """Check every field; raise ValidationFailed naming each bad one. Writes nothing."""
    cfg = current_app.config
    errors: dict[str, str] = {}

    title = _clean(filing.title)
    if not title:
        errors["title"] = _l("Please enter a title.")
    elif len(title) > cfg["TITLE_MAX"]:
        errors["title"] = _l("The title may have at most %(n)s characters.", n=cfg["TITLE_MAX"])

    content = _clean(filing.content)
    if not content:
        errors["content"] = _l("Please describe your matter.")
    elif len(content) > cfg["CONTENT_MAX"]:
        errors["content"] = _l("The description may have at most %(n)s characters.", n=cfg["CONTENT_MAX"])

    category = None
    if not _clean(filing.category):
        errors["category"] = _l("Please choose a category.")
    else:
        category = db.session.scalar(select(Category).where(Category.code == _clean(filing.category)))
        if category is None or not category.active or not category.selectable:
            errors["category"] = _l("Unknown category.")
            category = None

    township = None
    if not _clean(filing.township):
        # Open311 clients give an address, not a unit code: when it names no known place the
        # petition waits in the intake queue and the intake officer registers its place.
        if filing.channel != Channel.OPEN311.value:
            errors["township"] = _l("Please choose the township or area concerned.")
    else:
        township = db.session.scalar(select(Unit).where(Unit.code == _clean(filing.township)))
        if township is None or not township.active or township.kind not in PLACE_KINDS:
            errors["township"] = _l("Unknown township or area.")
            township = None

    if filing.anonymous and category is not None and not category.allows_anonymous:
        errors["anonymous"] = _l("Only reports of misconduct may be filed anonymously.")

    name = _clean(filing.contact_name)
    phone = normalize_mobile(filing.contact_phone)
    if not filing.anonymous:
        if not name:
            errors["contact.name"] = _l("Please enter your name.")
        if not phone:
            errors["contact.phone"] = _l("Please enter your mobile number.")
    if name and len(name) > 64:
        errors["contact.name"] = _l("The name may have at most 64 characters.")
    if phone and not is_mainland_mobile(phone):
        errors["contact.phone"] = _l("Please enter an 11-digit mainland mobile number, such as 13812345678.")

    channel = filing.channel or Channel.WEB.value
    if channel not in Channel.values():
        errors["channel"] = _l("Unknown channel.")
    elif filing.offered_channels is not None and channel not in filing.offered_channels:
        errors["channel"] = _l("Petitions do not come in by this channel here.")
    elif channel in STAFF_CHANNELS and not (actor and actor.role in (Role.INTAKE, Role.ADMIN)):
        errors["channel"] = _l("Only intake officers enter letters, calls and visits.")

    if filing.address and len(filing.address) > 200:
        errors["address"] = _l("The address may have at most 200 characters.")

    typed: list[tuple[Upload, str]] = []
    if len(filing.attachments) > cfg["ATTACHMENTS_MAX"]:
        errors["attachments"] = _l("At most %(n)s attachments.", n=cfg["ATTACHMENTS_MAX"])
    else:
        for upload in filing.attachments:
            if len(upload.data) > cfg["ATTACHMENT_MAX_BYTES"]:
                errors["attachments"] = _l(
                    "“%(name)s” is larger than %(mb)s MB.",
                    name=clean_filename(upload.filename),
                    mb=cfg["ATTACHMENT_MAX_BYTES"] // (1024 * 1024),
                )
                break
            sniffed = sniff_type(upload.data)
            if sniffed is None:
                errors["attachments"] = _l(
                    "“%(name)s” is not a JPEG, PNG or PDF file.", name=clean_filename(upload.filename)
                )
                break
            typed.append((upload, sniffed[0]))

    if errors:
        raise ValidationFailed(_l("Some fields need correcting."), errors)
    return category, township, typed


def _tracking_no(at: datetime) -> str:
    local = at.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))
    return f"XF{local:%Y%m%d}{secrets.randbelow(10**6):06d}"


def _query_code() -> str:
    # Digits only: easy to read out over the phone and to type on any keypad.
    n = current_app.config["QUERY_CODE_LENGTH"]
    return "".join(secrets.choice("0123456789") for _ in range(n))


def hash_query_code(code: str) -> str:
    return generate_password_hash(code, method="pbkdf2:sha256:60000")


def file_petition(filing: Filing, *, actor: User | None = None, citizen: User | None = None) -> Filed:
    """Register a petition and, where a rule matches, route it at once. Commits."""
    category, township, typed = validate(filing, actor)
    assert category is not None
    at = now()
    code = _query_code()
    phone = normalize_mobile(filing.contact_phone) or None
    # The unit is known before the row exists, so the petition is inserted once, whole,
    # and starts at version 1. Without a place it waits for the intake officer.
    unit = routing.route_for(category, township) if township is not None else None
    for _attempt in range(5):
        petition = Petition(
            tracking_no=_tracking_no(at),
            query_code_hash=hash_query_code(code),
            channel=filing.channel or Channel.WEB.value,
            category=category,
            township=township,
            title=_clean(filing.title),
            content=_clean(filing.content),
            anonymous=bool(filing.anonymous),
            public_consent=bool(filing.public_consent),
            contact_name=_clean(filing.contact_name) or None,
            contact_phone=phone,
            address=_clean(filing.address) or None,
            latitude=filing.latitude,
            longitude=filing.longitude,
            status=Status.REGISTERED.value if unit is None else Status.ROUTED.value,
            unit=unit,
            routed_at=None if unit is None else at,
            citizen=citizen,
            created_by=actor,
            created_at=at,
            updated_at=at,
        )
        with db.session.no_autoflush:
            db.session.add(petition)
            for upload, content_type in typed:
                db.session.add(
                    Attachment(
                        petition=petition,
                        filename=clean_filename(upload.filename),
                        content_type=content_type,
                        size=len(upload.data),
                        sha256=hashlib.sha256(upload.data).hexdigest(),
                        data=upload.data,
                        uploaded_by_id=actor.id if actor else (citizen.id if citizen else None),
                        created_at=at,
                    )
                )
            history.record(
                petition,
                "registered",
                actor=actor or citizen,
                to_status=Status.REGISTERED.value,
                data={"channel": petition.channel},
            )
            if unit is None:
                clocks.start(petition, "route", None, at)
            else:
                history.record(
                    petition,
                    "routed",
                    from_status=Status.REGISTERED.value,
                    to_status=Status.ROUTED.value,
                    unit_id=unit.id,
                    data={"unit": unit.code, "rule": "automatic"},
                )
                clocks.start(petition, "accept", unit, at)
        try:
            db.session.commit()
            return Filed(petition, code)
        except IntegrityError:
            # A tracking number collision (one in a million a day): draw another.
            db.session.rollback()
    raise RuntimeError("could not allocate a tracking number")


def find_for_citizen(tracking_no: str, code: str) -> Petition:
    """The petition for a tracking number + query code; NotFound for either being wrong."""
    petition = db.session.scalar(select(Petition).where(Petition.tracking_no == (tracking_no or "").strip()))
    stored = petition.query_code_hash if petition else _DUMMY_HASH
    ok = check_password_hash(stored, (code or "").strip())
    if petition is None or not ok:
        raise NotFound(_l("No petition matches this tracking number and query code."))
    return petition
