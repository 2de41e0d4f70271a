"""One declaration per API operation: it validates the request and it writes the OpenAPI document.

A view is declared with `operation()`, which also registers its route on the blueprint::

    @operation(
        bp, "POST", "/petitions",
        summary="File a petition", tags=["public"],
        body=FilingIn,                   # pydantic model of the JSON body
        query=None,                      # pydantic model of the query string
        responses={201: FiledOut},       # status -> response model (or a list: anyOf)
        auth=OPTIONAL,                   # None, OPTIONAL or STAFF (bearer token)
        idempotent=True,                 # honours the Idempotency-Key header
        limits=[filing_limit],           # Flask-Limiter decorators (429 with Retry-After)
        errors={404: "No such petition"},  # further error statuses the view may answer
    )
    def file_petition(body: FilingIn):
        ...
        return FiledOut(...), 201

Path parameters are written the OpenAPI way (`/petitions/{tracking_no}`) and arrive as keyword
arguments; the validated models arrive as `body=` and `query=`. A view returns a model, a dict
(validated by the response model of its status), `(value, status)`, or a flask Response.

On each request, in this order: the rate limits; the bearer token (STAFF: a valid staff token
or 401; OPTIONAL: 401 only when a token is sent and is not valid; the user is
`petitions.web.auth.bearer_user()`); the query string (422); the body, which must be
`application/json` (415), at most `max_bytes` (413; API_MAX_JSON_BYTES unless the operation
says otherwise, and never more than MAX_CONTENT_LENGTH), UTF-8 JSON (400), an object nested at
most API_MAX_JSON_DEPTH deep (400), and valid for the model (422, `fields` named by dotted path such as `contact.phone`); the
Idempotency-Key (petitions.services.idempotency); then the view. Request models derive from `ApiIn`
(strict types, strings bounded, none of the characters that petitions.web.inputs forbids, no unpaired
surrogates, which the document states as a pattern on every text), response models from `ApiOut`.
A field that is not in a response model is not sent: add it to the model.

`GET /api/v1/openapi.json` is `build_document()`: it walks the app's URL map, takes every view
declared here, and turns the same models into `components.schemas`, so the document cannot
drift from what the code accepts and answers. Domain rules (lengths, known categories,
mobile numbers, ...) stay in the domain; the models check shape and types.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from flask import Blueprint, Flask, Response, request
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from pydantic.json_schema import models_json_schema
from pydantic_core import PydanticCustomError
from werkzeug.exceptions import RequestEntityTooLarge

from config.settings import Settings
from petitions.domain.errors import DomainError, NotFound, ValidationFailed
from petitions.extensions import settings
from petitions.i18n import lazy_gettext as _l
from petitions.services import idempotency
from petitions.web.auth import bearer_user
from petitions.web.inputs import FILLED_TEXT_PATTERN, FORBIDDEN, TEXT_PATTERN
from petitions.web.jsonout import ApiJSONProvider, dumps, json_response, local_iso  # noqa: F401

STAFF = "staff"
OPTIONAL = "optional"
REF_TEMPLATE = "#/components/schemas/{model}"
# JSON nesting allowed when the config does not set API_MAX_JSON_DEPTH: no body of this API
# goes deeper than 4; a deeper one is an attack on the parser, not a petition.
DEFAULT_JSON_DEPTH = 32


# ---------------------------------------------------------------- errors of the API itself


class Unauthorized(DomainError):
    """No, or bad, credentials (401)."""

    status = 401
    code = "unauthorized"


class BadRequest(DomainError):
    status = 400
    code = "bad_request"


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


# ---------------------------------------------------------------- models


def _check_text(value: Any) -> Any:
    """Unpaired surrogates and the characters no face takes (petitions.web.inputs.FORBIDDEN:
    controls, NUL among them, which PostgreSQL cannot store, and bidirectional overrides)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise PydanticCustomError("text_encoding", "not valid Unicode text") from None
        if FORBIDDEN.search(value):
            raise PydanticCustomError("text_forbidden", "contains characters that are not allowed")
    elif isinstance(value, list):
        for item in value:
            _check_text(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    return value


_OWN_FORM = {"pattern", "enum", "const", "format"}


def _document_text(schema: dict[str, Any], model: Any = None) -> None:
    """Say in the document what _check_text enforces: every text a request model takes has
    TEXT_PATTERN, unless its field gives a form of its own (a code's pattern, an enum)."""
    for prop in schema.get("properties", {}).values():
        for variant in (prop, *prop.get("anyOf", ())):
            for node in (variant, variant.get("items")):
                if isinstance(node, dict) and node.get("type") == "string" and not _OWN_FORM & node.keys():
                    node["pattern"] = TEXT_PATTERN


class ApiIn(BaseModel):
    """Base of request bodies: strict JSON types (no "true" for true), bounded strings."""

    model_config = ConfigDict(
        strict=True,
        str_max_length=Settings().api_max_json_bytes,
        extra="ignore",
        json_schema_extra=_document_text,
    )

    @field_validator("*", mode="after")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return _check_text(value)


class ApiQuery(BaseModel):
    """Base of query-string models: values arrive as text, so types are coerced."""

    model_config = ConfigDict(str_max_length=1000, extra="ignore", json_schema_extra=_document_text)

    @field_validator("*", mode="after")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return _check_text(value)


class ApiOut(BaseModel):
    """Base of response bodies: every field is always present, so the document says required."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: dict[str, str] | None = None


class ErrorOut(BaseModel):
    """The error shape of every 4xx answer."""

    error: ErrorDetail


# Why a field was refused, in the reader's language, by pydantic's error type.
_WHY: dict[str, Any] = {
    "missing": _l("This field is required."),
    "string_type": _l("Must be text."),
    "bool_type": _l("Must be true or false."),
    "int_type": _l("Must be a whole number."),
    "int_parsing": _l("Must be a whole number."),
    "float_type": _l("Must be a number."),
    "float_parsing": _l("Must be a number."),
    "model_type": _l("Must be an object."),
    "model_attributes_type": _l("Must be an object."),
    "dict_type": _l("Must be an object."),
    "list_type": _l("Must be a list."),
    "literal_error": _l("Must be one of: %(expected)s."),
    "enum": _l("Must be one of: %(expected)s."),
    "string_too_long": _l("At most %(max_length)s characters."),
    "string_too_short": _l("At least %(min_length)s characters."),
    "too_long": _l("At most %(max_length)s items."),
    "text_encoding": _l("Contains characters that are not allowed."),
    "text_forbidden": _l("Contains characters that are not allowed."),
    "string_pattern_mismatch": _l("Not in the required form."),
    "greater_than_equal": _l("At least %(ge)s."),
    "less_than_equal": _l("At most %(le)s."),
}


def field_errors(exc: ValidationError) -> dict[str, str]:
    """pydantic's errors as {dotted field name: why}; the first error of a field wins."""
    fields: dict[str, str] = {}
    for err in exc.errors(include_url=False):
        name = ".".join(str(part) for part in err["loc"]) or "body"
        if name in fields:
            continue
        template = _WHY.get(err["type"])
        if err["type"] == "string_pattern_mismatch" and (err.get("ctx") or {}).get("pattern") == FILLED_TEXT_PATTERN:
            template = _WHY["missing"]  # blank: as good as not given
        if template is None:
            fields[name] = str(_l("Invalid value."))
            continue
        ctx = {k: v for k, v in (err.get("ctx") or {}).items() if isinstance(v, str | int)}
        try:
            fields[name] = str(template) % ctx if "%(" in str(template) else str(template)
        except (KeyError, TypeError, ValueError):
            fields[name] = str(_l("Invalid value."))
    return fields


# ---------------------------------------------------------------- JSON out: petitions.web.jsonout


# ---------------------------------------------------------------- operations


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    description: str = ""
    tags: list[str] = field(default_factory=list)
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    responses: dict[int, list[type[BaseModel]]] = field(default_factory=dict)
    auth: str | None = None
    idempotent: bool = False
    rate_limited: bool = False
    max_bytes: Callable[[Settings], int] | None = None
    errors: dict[int, str] = field(default_factory=dict)

    def add_response(self, status: int, model: type[BaseModel]) -> None:
        """Let another module answer this operation with another model too (documented as anyOf)."""
        models = self.responses.setdefault(status, [])
        if model not in models:
            models.append(model)


def operation(
    bp: Blueprint,
    method: str,
    path: str,
    *,
    summary: str,
    description: str = "",
    tags: Iterable[str] = (),
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    responses: Mapping[int, type[BaseModel] | list[type[BaseModel]]] | None = None,
    auth: str | None = None,
    idempotent: bool = False,
    limits: Iterable[Callable] = (),
    max_bytes: Callable[[Settings], int] | None = None,
    errors: Mapping[int, str] | None = None,
) -> Callable[[Callable], Callable]:
    """Declare, validate and register one API operation (see the module docstring)."""
    limits = list(limits)
    op = Operation(
        method=method.upper(),
        path=path,
        summary=summary,
        description=description,
        tags=list(tags),
        body=body,
        query=query,
        responses={s: list(m) if isinstance(m, list) else [m] for s, m in (responses or {}).items()},
        auth=auth,
        idempotent=idempotent,
        rate_limited=bool(limits),
        max_bytes=max_bytes,
        errors=dict(errors or {}),
    )

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def handle(**path_args: Any) -> Response:
            for value in path_args.values():
                if isinstance(value, str) and FORBIDDEN.search(value):
                    raise NotFound(_l("Not found."))
            _check_auth(op)
            kwargs = dict(path_args)
            if op.query is not None:
                kwargs["query"] = _parse(op.query, request.args.to_dict())
            payload: Any = None
            if op.body is not None:
                payload = _read_json(op)
                kwargs["body"] = _parse(op.body, payload)
            key = request.headers.get("Idempotency-Key") if op.idempotent else None
            if key is None:
                return _render(op, view(**kwargs))
            return _run_idempotent(op, key, payload, lambda: _render(op, view(**kwargs)))

        handle.api_operation = op  # type: ignore[attr-defined]
        registered = handle
        for limit in reversed(limits):
            registered = limit(registered)
        registered.api_operation = op  # type: ignore[attr-defined]
        bp.add_url_rule(_flask_path(path), endpoint=view.__name__, view_func=registered, methods=[op.method])
        return registered

    return decorate


def _flask_path(path: str) -> str:
    return re.sub(r"\{(\w+)\}", r"<\1>", path)


def _check_auth(op: Operation) -> None:
    if op.auth is None:
        return
    sent = bool(request.headers.get("Authorization", "").strip())
    user = bearer_user()
    if op.auth == STAFF and (user is None or not user.is_staff):
        raise Unauthorized(_l("A valid staff token is required."), code="unauthorized")
    if op.auth == OPTIONAL and sent and user is None:
        raise Unauthorized(_l("The token is not valid or has expired."), code="invalid_token")


def _parse(model: type[BaseModel], data: Any) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(_l("Some fields need correcting."), field_errors(exc)) from None


def _read_json(op: Operation) -> Any:
    if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        raise UnsupportedMediaType(_l("Send the body as JSON, with Content-Type: application/json."))
    limit = op.max_bytes(settings()) if op.max_bytes else settings().api_max_json_bytes
    # An operation may take less than the whole-request limit, never more.
    limit = min(limit, settings().max_content_length)
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise BadRequest(_l("The body is not valid JSON (UTF-8)."), code="malformed_json") from None
    if not _depth_within(data, settings().api_max_json_depth):
        raise BadRequest(_l("The JSON is nested too deeply."), code="too_deep")
    if not isinstance(data, dict):
        raise BadRequest(_l("The request body must be a JSON object."), code="not_an_object")
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _depth_within(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return True


def _render(op: Operation, value: Any) -> Response:
    if isinstance(value, Response):
        return value
    status = 200
    if isinstance(value, tuple):
        value, status = value
    models = op.responses.get(status)
    if isinstance(value, BaseModel):
        data = value.model_dump(mode="python")
    elif models:
        data = models[0].model_validate(value).model_dump(mode="python")
    else:
        data = value
    return json_response(data, status)


def _run_idempotent(op: Operation, key: str, payload: Any, call: Callable[[], Response]) -> Response:
    user = bearer_user()
    scope = idempotency.scope_for(op.method, request.path, user.id if user is not None else None)
    fingerprint = hashlib.sha256(
        json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()
    stored = idempotency.begin(key, scope, fingerprint)
    if stored is not None:
        return Response(
            stored.body,
            status=stored.status,
            mimetype="application/json",
            headers={"Idempotent-Replayed": "true"},
        )
    try:
        response = call()
    except BaseException:
        idempotency.abandon(key, scope)
        raise
    if 200 <= response.status_code < 300:
        idempotency.finish(key, scope, response.status_code, response.get_data(as_text=True))
    else:
        idempotency.abandon(key, scope)
    return response


# ---------------------------------------------------------------- the document

_ERROR_TEXTS = {
    400: "Malformed: not JSON, not UTF-8, not an object, or nested too deeply",
    401: "No token, or a token that is not valid",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Body too large",
    415: "Body is not application/json",
    422: "Invalid fields (see error.fields)",
    429: "Rate limited; retry after Retry-After seconds",
}


def _openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params: list[dict[str, Any]] = []

    def repl(match: re.Match) -> str:
        converter, name = match.group(1), match.group(2)
        schema = {"type": "integer"} if converter == "int" else {"type": "string"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", repl, rule), params


def _response(description: str, schema: dict[str, Any] | None, headers: dict | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description}
    if schema is not None:
        out["content"] = {"application/json": {"schema": schema}}
    if headers:
        out["headers"] = headers
    return out


def _operations(app: Flask) -> list[tuple[str, str, list[dict[str, Any]], Operation]]:
    found = []
    for rule in app.url_map.iter_rules():
        op = getattr(app.view_functions.get(rule.endpoint), "api_operation", None)
        if op is None:
            continue
        path, path_params = _openapi_path(rule.rule)
        found.append((path, rule.endpoint, path_params, op))
    return sorted(found, key=lambda item: (item[0], item[3].method))


def build_document(app: Flask, *, title: str, version: str, description: str = "") -> dict[str, Any]:
    """The OpenAPI 3.1 document of every operation declared with `operation()`."""
    ops = _operations(app)
    pairs: list[tuple[type[BaseModel], str]] = [(ErrorOut, "serialization")]
    for _path, _endpoint, _params, op in ops:
        if op.body is not None:
            pairs.append((op.body, "validation"))
        for models in op.responses.values():
            pairs.extend((m, "serialization") for m in models)
    pairs = list(dict.fromkeys(pairs))
    refs, defs = models_json_schema(pairs, ref_template=REF_TEMPLATE)
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    error_ref = refs[(ErrorOut, "serialization")]

    paths: dict[str, dict[str, Any]] = {}
    for path, endpoint, path_params, op in ops:
        parameters = list(path_params)
        if op.query is not None:
            qschema = op.query.model_json_schema(ref_template=REF_TEMPLATE)
            schemas.update(qschema.pop("$defs", {}))
            required = set(qschema.get("required", []))
            for name, prop in qschema.get("properties", {}).items():
                param = {"name": name, "in": "query", "required": name in required, "schema": prop}
                if prop.get("description"):
                    param["description"] = prop["description"]
                parameters.append(param)
        if op.idempotent:
            parameters.append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "description": "The same key and body within 24 hours returns the first answer "
                    "and creates nothing new; the same key with another body is refused (422).",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[!-~]+$"},
                }
            )

        responses: dict[str, Any] = {}
        for status, models in sorted(op.responses.items()):
            schema_refs = [refs[(m, "serialization")] for m in models]
            schema = schema_refs[0] if len(schema_refs) == 1 else {"anyOf": schema_refs}
            doc = (models[0].__doc__ or "").strip().splitlines()
            responses[str(status)] = _response(doc[0] if doc else HTTPStatus(status).phrase, schema)
        errors: dict[int, str] = {}
        if op.body is not None:
            errors.update({400: _ERROR_TEXTS[400], 413: _ERROR_TEXTS[413], 415: _ERROR_TEXTS[415]})
        if op.body is not None or op.query is not None or op.idempotent:
            errors[422] = _ERROR_TEXTS[422]
        if op.auth is not None:
            errors[401] = _ERROR_TEXTS[401]
        if path_params:
            errors[404] = _ERROR_TEXTS[404]
        if op.idempotent:
            errors[409] = "A request with this Idempotency-Key is still being processed"
        if op.rate_limited:
            errors[429] = _ERROR_TEXTS[429]
        errors.update(op.errors)
        for status, text in sorted(errors.items()):
            headers = None
            if status == 429:
                headers = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}
            responses[str(status)] = _response(text, error_ref, headers)

        entry: dict[str, Any] = {
            "operationId": endpoint.replace(".", "_"),
            "summary": op.summary,
            "tags": op.tags,
            "parameters": parameters,
            "responses": responses,
        }
        if op.description:
            entry["description"] = op.description
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
            }
        if op.auth == STAFF:
            entry["security"] = [{"bearer": []}]
        elif op.auth == OPTIONAL:
            entry["security"] = [{"bearer": []}, {}]
        else:
            entry["security"] = []
        paths.setdefault(path, {})[op.method.lower()] = entry

    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A staff token from POST /api/v1/tokens",
                }
            },
        },
    }
