"""JSON out, for every face that answers in JSON (the API, Open311, the error shape): Chinese
unescaped, times as ISO 8601 with the bureau's offset."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, has_app_context
from flask.json.provider import DefaultJSONProvider
from flask_babel.speaklater import LazyString
from pydantic import BaseModel

from config.settings import Settings
from petitions.extensions import settings


def local_iso(value: datetime) -> str:
    """ISO 8601 in the bureau's time zone with its offset, e.g. 2026-03-02T09:30:00+08:00."""
    tz = ZoneInfo(settings().timezone if has_app_context() else Settings().timezone)
    if value.tzinfo is None:  # stored times are aware; a naive one is UTC
        value = value.replace(tzinfo=ZoneInfo("UTC"))
    return value.astimezone(tz).isoformat(timespec="seconds")


def _default(o: Any) -> Any:
    if isinstance(o, datetime):
        return local_iso(o)
    if isinstance(o, date):
        return o.isoformat()
    if isinstance(o, BaseModel):
        return o.model_dump(mode="python")
    if isinstance(o, LazyString):
        return str(o)
    return DefaultJSONProvider.default(o)


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=_default)


class ApiJSONProvider(DefaultJSONProvider):
    """jsonify() with Chinese unescaped and times as local ISO 8601 (used by the error shape too)."""

    ensure_ascii = False
    default = staticmethod(_default)


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(dumps(data), status=status, mimetype="application/json", headers=dict(headers or {}))


