"""Filing a petition (登记) and finding it again with its tracking number and query code.

One function serves the citizen's web form, the JSON API, staff intake of letters, calls
and visits, and Open311: each face turns its input into a `Filing` and calls `file_petition`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cache
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload

from petitions.domain.errors import NotFound, ValidationFailed
from petitions.domain.events import REGISTERED
from petitions.domain.validation import clean_filename, is_mainland_mobile, normalize_mobile, sniff_type
from petitions.extensions import db, settings
from petitions.i18n import lazy_gettext as _l
from petitions.models import Attachment, Category, Channel, Petition, Role, Status, Unit, UnitKind, User
from petitions.services import actions, clocks, query_codes, reference, tracking
from petitions.services.access import SYSTEM, CodeHolder
from petitions.services.uow import UnitOfWork

STAFF_CHANNELS = {Channel.LETTER.value, Channel.PHONE.value, Channel.VISIT.value}
PLACE_KINDS = {UnitKind.TOWNSHIP.value, UnitKind.COMMITTEE.value}


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
    s = settings()
    errors: dict[str, str] = {}

    title = _clean(filing.title)
    if not title:
        errors["title"] = _l("Please enter a title.")
    elif len(title) > s.title_max:
        errors["title"] = _l("The title may have at most %(n)s characters.", n=s.title_max)

    content = _clean(filing.content)
    if not content:
        errors["content"] = _l("Please describe your matter.")
    elif len(content) > s.content_max:
        errors["content"] = _l("The description may have at most %(n)s characters.", n=s.content_max)

    category = None
    if not _clean(filing.category):
        errors["category"] = _l("Please choose a category.")
    else:
        category = reference.category(_clean(filing.category))
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
        township = reference.unit(_clean(filing.township))
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
    if name and len(name) > s.name_max:
        errors["contact.name"] = _l("The name may have at most %(n)s characters.", n=s.name_max)
    if phone and not is_mainland_mobile(phone):
        errors["contact.phone"] = _l("Please enter an 11-digit mainland mobile number, such as 13812345678.")

    channel = filing.channel or Channel.WEB.value
    if channel not in Channel.values():
        errors["channel"] = _l("Unknown channel.")
    elif filing.offered_channels is not None and channel not in filing.offered_channels:
        errors["channel"] = _l("Petitions do not come in by this channel here.")
    elif channel in STAFF_CHANNELS and not (actor and actor.role in (Role.INTAKE, Role.ADMIN)):
        errors["channel"] = _l("Only intake officers enter letters, calls and visits.")

    if filing.address and len(filing.address) > s.address_max:
        errors["address"] = _l("The address may have at most %(n)s characters.", n=s.address_max)

    typed: list[tuple[Upload, str]] = []
    if len(filing.attachments) > s.attachments_max:
        errors["attachments"] = _l("At most %(n)s attachments.", n=s.attachments_max)
    else:
        for upload in filing.attachments:
            if len(upload.data) > s.attachment_max_bytes:
                errors["attachments"] = _l(
                    "“%(name)s” is larger than %(mb)s MB.",
                    name=clean_filename(upload.filename),
                    mb=s.attachment_max_bytes // (1024 * 1024),
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


def file_petition(filing: Filing, *, actor: User | None = None, citizen: User | None = None) -> Filed:
    """Register a petition and, where a routing rule matches, route it at once (the workflow's
    system rule). One unit of work, one commit."""
    category, township, typed = validate(filing, actor)
    assert category is not None
    work = UnitOfWork()
    at = work.at
    code = query_codes.new_code()
    local_day = at.astimezone(ZoneInfo(settings().timezone)).date()
    try:
        with db.session.no_autoflush:
            petition = Petition(
                tracking_no=tracking.next_number(local_day),
                query_code_hash=query_codes.hash_code(code),
                channel=filing.channel or Channel.WEB.value,
                category=category,
                township=township,
                title=_clean(filing.title),
                content=_clean(filing.content),
                anonymous=bool(filing.anonymous),
                public_consent=bool(filing.public_consent),
                contact_name=_clean(filing.contact_name) or None,
                contact_phone=normalize_mobile(filing.contact_phone) or None,
                address=_clean(filing.address) or None,
                latitude=filing.latitude,
                longitude=filing.longitude,
                status=Status.REGISTERED.value,
                citizen=citizen,
                created_by=actor,
                created_at=at,
                updated_at=at,
            )
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
            work.record(
                petition,
                REGISTERED,
                actor=actor or citizen,
                to_status=Status.REGISTERED.value,
                data={"channel": petition.channel},
            )
            # Without a place, or without a matching rule, it waits for the intake officer.
            unit = reference.route_for(category, township) if township is not None else None
            if unit is None:
                clocks.start(work, petition, "route", None, at)
            else:
                actions.act(work, petition, "route", SYSTEM, None, {"unit": unit})
        work.commit()
    except BaseException:
        work.rollback()
        raise
    return Filed(petition, code)


@cache
def _by_number_with_clocks():
    """A petition by tracking number (parameter `tracking_no`) with its clocks, built once."""
    return select(Petition).where(Petition.tracking_no == bindparam("tracking_no")).options(joinedload(Petition.clocks))


def find_for_citizen(tracking_no: str, code: str) -> Petition:
    """The petition for a tracking number + query code; NotFound for either being wrong, in the
    same time. A code hashed the old way, or under an old key, is rewritten on success."""
    # With its clocks, which every citizen's page of it reads (one statement, found or not).
    petition = (
        db.session.scalars(_by_number_with_clocks(), {"tracking_no": (tracking_no or "").strip()})
        .unique()
        .one_or_none()
    )
    if petition is None:
        query_codes.fail_evenly(code)
        raise NotFound(_l("No petition matches this tracking number and query code."))
    ok, rehash = query_codes.check(petition.query_code_hash, code)
    if not ok:
        raise NotFound(_l("No petition matches this tracking number and query code."))
    if rehash:
        db.session.execute(
            update(Petition)
            .where(Petition.id == petition.id)
            .values(query_code_hash=query_codes.hash_code((code or "").strip()))
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    return petition


def code_holder(tracking_no: str, code: str) -> tuple[Petition, CodeHolder]:
    """The petition and its citizen for a tracking number + query code (NotFound if either is wrong)."""
    petition = find_for_citizen(tracking_no, code)
    return petition, CodeHolder(petition.id)
