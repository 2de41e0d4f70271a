"""Shown once: what a page shows a single time (a new petition's query code, after web filing
and after staff entry) waits on the server, never in the session cookie.

The session keeps only a random key; the database keeps the value sealed with a keystream drawn
from that key (SHAKE-256) and found by the key's hash. Taking it deletes the row, so a copy of
the cookie replayed later shows nothing, and a look at the table shows no code. A value not taken
within SHOWN_ONCE_MINUTES is gone too (rows past their time are removed as new ones are put).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from datetime import timedelta
from typing import Any

from flask import session
from sqlalchemy import delete, select

from petitions.domain.clocks import now
from petitions.extensions import db, settings
from petitions.models import ShownOnce

KEY_BYTES = 32


def _keystream(key: bytes, length: int) -> bytes:
    return hashlib.shake_256(b"shown-once\0" + key).digest(length)


def _seal(key: bytes, data: bytes) -> str:
    return base64.b64encode(bytes(a ^ b for a, b in zip(data, _keystream(key, len(data)), strict=True))).decode()


def _unseal(key: bytes, sealed: str) -> bytes:
    data = base64.b64decode(sealed)
    return bytes(a ^ b for a, b in zip(data, _keystream(key, len(data)), strict=True))


def _hash(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()


def put(slot: str, value: dict[str, Any]) -> None:
    """Keep `value` for the next `take(slot)` of this browser's session. Commits."""
    key = secrets.token_bytes(KEY_BYTES)
    at = now()
    db.session.execute(delete(ShownOnce).where(ShownOnce.expires_at <= at))
    db.session.add(
        ShownOnce(
            key_hash=_hash(key),
            sealed=_seal(key, json.dumps(value, ensure_ascii=False).encode()),
            created_at=at,
            expires_at=at + timedelta(minutes=settings().shown_once_minutes),
        )
    )
    db.session.commit()
    session[slot] = base64.urlsafe_b64encode(key).decode()


def take(slot: str) -> dict[str, Any] | None:
    """The value put for this session's `slot`, once: None when there is none, it has been
    taken already (by this cookie or a copy of it), or its time is up. Commits."""
    token = session.pop(slot, None)
    if not isinstance(token, str):
        return None
    try:
        key = base64.urlsafe_b64decode(token.encode())
    except (binascii.Error, ValueError):
        return None
    row = db.session.scalar(select(ShownOnce).where(ShownOnce.key_hash == _hash(key)))
    if row is None:
        return None
    sealed, expired = row.sealed, row.expires_at <= now()
    # Only the request whose DELETE removes the row shows it (two at once: one of them).
    gone = db.session.execute(delete(ShownOnce).where(ShownOnce.id == row.id)).rowcount
    db.session.commit()
    if gone != 1 or expired:
        return None
    return json.loads(_unseal(key, sealed).decode())
