"""The public JSON API (/api/v1, shared/api.md): categories, units, filing, look-up, staff tokens,
and the OpenAPI document generated from the declarations below (petitions.web.api.spec).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import typing
from collections.abc import Callable
from typing import Any

from flask import current_app, request
from pydantic import BaseModel
from sqlalchemy import select

from config.settings import Settings
from petitions.domain.errors import Forbidden, ValidationFailed
from petitions.domain.validation import TRACKING_NO_PATTERN
from petitions.extensions import db
from petitions.i18n import lazy_gettext as _l
from petitions.models import Category, Unit
from petitions.services import clocks, lockout
from petitions.services import filing as intake
from petitions.web import presenters
from petitions.web.api.blueprint import bp
from petitions.web.api.schemas import (
    AttachmentIn,
    CategoriesOut,
    CitizenView,
    FiledOut,
    FilingIn,
    LookupQuery,
    TokenIn,
    TokenOut,
    UnitOut,
    UnitsOut,
    UnitsQuery,
)
from petitions.web.api.spec import OPTIONAL, Unauthorized, build_document, operation
from petitions.web.auth import authenticate, bearer_user, issue_token
from petitions.web.jsonout import json_response
from petitions.web.ratelimits import code_holder, filing_limit, lookup_limit

TRACKING_NO_RE = re.compile(TRACKING_NO_PATTERN)
# The channels this face offers: what FilingIn.channel may say, and nothing else.
API_CHANNELS = frozenset(typing.get_args(FilingIn.model_fields["channel"].annotation))

API_DESCRIPTION = """\
The JSON API of the county petition bureau (信访).

* Bodies are JSON (`Content-Type: application/json`, UTF-8); another content type is refused
  with 415. Answers are JSON in UTF-8 with Chinese unescaped.
* Times are ISO 8601 in China Standard Time with its offset, e.g. `2026-03-02T09:30:00+08:00`.
  Every time is the server's.
* Errors: a 4xx status and `{"error": {"code", "message", "fields": {"name": "why"}}}`;
  400 malformed JSON, 401 credentials, 403 not allowed, 404 not found (a wrong query code
  answers exactly like an unknown tracking number), 409 conflict, 413 too large, 415 not
  JSON, 422 invalid fields (`fields` names each, dotted for nested ones: `contact.phone`),
  429 rate limited (`Retry-After`).
* Staff calls carry `Authorization: Bearer <token>` (POST /api/v1/tokens).
* A POST that creates something accepts an `Idempotency-Key` header: the same key and body
  within 24 hours returns the first answer and creates nothing new.
"""


# ---------------------------------------------------------------- categories and units


def _limit(kind: str, category: Category) -> dict[str, Any]:
    limit = clocks.limit_for(kind, category)
    return {"statutory_days": limit.statutory, "committed_days": limit.committed, "day_unit": limit.unit}


def _category_node(category: Category) -> dict[str, Any]:
    return {
        "code": category.code,
        "name": category.name,
        "kind": category.kind,
        "description": category.description or "",
        "keywords": category.keyword_list(),
        "selectable": category.selectable,
        "allows_anonymous": category.allows_anonymous,
        "time_limits": {"accept": _limit("accept", category), "handle": _limit("handle", category)},
        "children": [_category_node(child) for child in category.children if child.active],
    }


@operation(
    bp,
    "GET",
    "/categories",
    summary="The subject tree (categories), with their time limits",
    tags=["public"],
    responses={200: CategoriesOut},
)
def categories():
    roots = db.session.scalars(
        select(Category)
        .where(Category.parent_id.is_(None), Category.active.is_(True))
        .order_by(Category.sort_order, Category.id)
    )
    return {"categories": [_category_node(c) for c in roots]}


@operation(
    bp,
    "GET",
    "/units",
    summary="The units: townships, committees, departments, the bureau, ...",
    tags=["public"],
    query=UnitsQuery,
    responses={200: UnitsOut},
)
def units(query: UnitsQuery):
    stmt = select(Unit).where(Unit.active.is_(True)).order_by(Unit.sort_order, Unit.id)
    if query.kind is not None:
        stmt = stmt.where(Unit.kind == query.kind)
    rows = list(db.session.scalars(stmt))
    codes = {uid: code for uid, code in db.session.execute(select(Unit.id, Unit.code))}
    return {
        "units": [
            UnitOut(
                code=u.code,
                name=u.name,
                kind=u.kind,
                parent=codes.get(u.parent_id) if u.parent_id else None,
                place=u.kind in intake.PLACE_KINDS,
            )
            for u in rows
        ]
    }


# ---------------------------------------------------------------- filing


def _filing_max_bytes(rules: Settings) -> int:
    # Room for the form and for every attachment at its largest, base64-encoded.
    per_file = math.ceil(rules.attachment_max_bytes / 3) * 4 + 1024
    return rules.api_max_json_bytes + rules.attachments_max * per_file


def _uploads(attachments: list[AttachmentIn]) -> list[intake.Upload]:
    uploads, errors = [], {}
    for i, item in enumerate(attachments):
        try:
            data = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError):
            errors[f"attachments.{i}.content_base64"] = _l("Not valid base64.")
            continue
        uploads.append(intake.Upload(filename=item.filename.strip(), data=data))
    if errors:
        raise ValidationFailed(_l("Some fields need correcting."), errors)
    return uploads


@operation(
    bp,
    "POST",
    "/petitions",
    summary="File a petition",
    description="Anyone may file (channel `web`). With an intake officer's token the channel may be "
    "`letter`, `phone` or `visit` and the filing is recorded as theirs.",
    tags=["public"],
    body=FilingIn,
    responses={201: FiledOut},
    auth=OPTIONAL,
    idempotent=True,
    limits=[filing_limit],
    max_bytes=_filing_max_bytes,
)
def file_petition(body: FilingIn):
    user = bearer_user()
    contact = body.contact
    filing = intake.Filing(
        title=body.title,
        content=body.content,
        category=body.category,
        township=body.township,
        contact_name=contact.name if contact else None,
        contact_phone=contact.phone if contact else None,
        anonymous=body.anonymous,
        public_consent=body.public_consent,
        channel=body.channel,
        attachments=_uploads(body.attachments),
        offered_channels=API_CHANNELS,
    )
    filed = intake.file_petition(filing, actor=user if user is not None and user.is_staff else None)
    petition = filed.petition
    return FiledOut(
        tracking_no=petition.tracking_no,
        query_code=filed.query_code,
        status=petition.status,
        status_label=presenters.status_label(petition.status),
        unit=presenters.unit_ref(petition.unit),
        deadlines=presenters.deadlines(petition),
        created_at=petition.created_at,
    ), 201


# ---------------------------------------------------------------- look-up

# The staff face answers GET /petitions/{tracking_no} without a code (register_staff_view).
_staff_view: Callable[[str], Any] | None = None


def register_staff_view(view: Callable[[str], Any], model: type[BaseModel]) -> None:
    """Serve GET /api/v1/petitions/{tracking_no} to a staff token when no `code` is given.

    `view(tracking_no)` returns what an operation returns (best an instance of `model`) and
    does its own rights checks (403/404); `model` is added to the documented 200 answers.
    """
    global _staff_view
    _staff_view = view
    petition_lookup.api_operation.add_response(200, model)
    petition_lookup.api_operation.errors.setdefault(403, "Not allowed")


@operation(
    bp,
    "GET",
    "/petitions/{tracking_no}",
    summary="A petition: the citizen's view with the query code, or the staff view with a staff token",
    tags=["public"],
    query=LookupQuery,
    responses={200: CitizenView},
    auth=OPTIONAL,
    limits=[lookup_limit],
    errors={404: "No petition matches this tracking number and query code"},
)
def petition_lookup(tracking_no: str, query: LookupQuery):
    if query.code is None:
        user = bearer_user()
        if _staff_view is not None and user is not None and user.is_staff:
            return _staff_view(tracking_no)
        raise ValidationFailed(_l("Please give the query code."), {"code": _l("This field is required.")})
    # A tracking number of the wrong form is just an unknown one (same answer, same time).
    number = tracking_no if TRACKING_NO_RE.match(tracking_no) else ""
    found, _holder = code_holder(number, query.code)
    return CitizenView.model_validate(presenters.citizen_view(found))


# ---------------------------------------------------------------- staff tokens


@operation(
    bp,
    "POST",
    "/tokens",
    summary="A bearer token for a staff account",
    tags=["staff"],
    body=TokenIn,
    responses={201: TokenOut},
    limits=[lookup_limit],
    errors={
        401: "Wrong username or password",
        403: "Citizens' accounts have no API tokens",
        429: "Rate limited, or the username is locked for this client address after "
        "too many failed attempts; retry after Retry-After seconds",
    },
)
def tokens(body: TokenIn):
    address = request.remote_addr
    lockout.refuse_if_locked(body.username, address)
    user = authenticate(body.username, body.password)
    if user is None:
        lockout.fail(body.username, address)
        raise Unauthorized(_l("Wrong username or password."), code="invalid_credentials")
    if not user.is_staff:
        raise Forbidden(_l("API tokens are for staff accounts only."))
    lockout.record_success(body.username, address)
    token, row = issue_token(user)
    db.session.commit()
    return TokenOut(
        token=token, expires_at=row.expires_at, role=user.role, unit=presenters.unit_ref(user.unit)
    ), 201


# ---------------------------------------------------------------- the document


@bp.get("/openapi.json")
def openapi():
    doc = build_document(
        current_app, title="County petition bureau API", version="1.0", description=API_DESCRIPTION
    )
    return json_response(doc)
