"""The GeoReport v2 endpoints. Each view reads its parameters, calls one function, answers JSON."""

from __future__ import annotations

from typing import Any

from flask import request

from petitions.domain.errors import DomainError
from petitions.extensions import db, settings
from petitions.i18n import lazy_gettext as _l
from petitions.services import open311_keys as keys
from petitions.web.jsonout import json_response
from petitions.web.open311 import georeport
from petitions.web.open311.blueprint import bp, error_response
from petitions.web.ratelimits import filing_limit, lookup_limit

_TEXT_MAX = 20_000


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError):
    return error_response(
        exc.status, str(exc.message), getattr(exc, "headers", None), getattr(exc, "details", None) or None
    )


def _text(value: Any, name: str) -> str:
    """A parameter as text: form values are text already; JSON may send numbers."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise georeport.Open311Error(_l("%(name)s must be text.", name=name))
    text = str(value)
    if len(text) > _TEXT_MAX or "\x00" in text:
        raise georeport.Open311Error(_l("%(name)s is not acceptable text.", name=name))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise georeport.Open311Error(_l("%(name)s is not acceptable text.", name=name)) from None
    return text


def _params() -> dict[str, Any]:
    """The POST parameters: form-encoded as the specification says, or a JSON object."""
    request.max_content_length = settings().open311_max_bytes
    if request.is_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise georeport.Open311Error(_l("The body is not a JSON object."))
        return data
    return request.form.to_dict()


def _attributes(params: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    nested = params.get("attribute")
    if isinstance(nested, dict):
        for code, value in nested.items():
            found[str(code)] = _text(value, f"attribute[{code}]")
    for name, value in params.items():
        if name.startswith("attribute[") and name.endswith("]"):
            found[name[len("attribute[") : -1]] = _text(value, name)
    return found


@bp.get("/services.json")
def services():
    return json_response(georeport.services())


@bp.get("/services/<service_code>.json")
def service_definition(service_code: str):
    return json_response(georeport.definition(service_code))


@bp.post("/requests.json")
@filing_limit
def create_request():
    params = _params()
    key = keys.find(_text(params.get("api_key") or request.args.get("api_key"), "api_key"))
    if key is None:
        raise georeport.KeyRefused(_l("api_key was not provided or is not valid."))
    data = georeport.RequestIn(
        **{
            name: _text(params.get(name), name)
            for name in georeport.RequestIn.__dataclass_fields__
            if name != "attributes"
        },
        attributes=_attributes(params),
    )
    keys.touch(key)
    answer = georeport.file_request(data)
    db.session.commit()  # the key's last use (the filing itself is committed by intake)
    return json_response(answer, 201)


@bp.get("/requests/<request_id>.json")
@lookup_limit
def show_request(request_id: str):
    petition = georeport.find_request(request_id)
    return json_response([georeport.request_view(petition)])


@bp.get("/requests.json")
@lookup_limit
def list_requests():
    query = georeport.SearchIn(
        **{name: _text(request.args.get(name), name) for name in georeport.SearchIn.__dataclass_fields__}
    )
    return json_response(georeport.search(query))
