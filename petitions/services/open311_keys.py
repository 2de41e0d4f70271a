"""The api_keys of Open311 clients (managed in the admin area). Only a hash of a key is stored."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select

from petitions.domain.clocks import now
from petitions.domain.errors import ValidationFailed
from petitions.extensions import db
from petitions.i18n import lazy_gettext as _l
from petitions.models import Open311Key, User

DEMO_KEY = "demo-open311-key"
KEY_MAX = 128


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def find(key: str | None) -> Open311Key | None:
    """The active key row for a key as sent, or None."""
    if not key or len(key) > KEY_MAX:
        return None
    row = db.session.scalar(select(Open311Key).where(Open311Key.key_hash == key_hash(key)))
    return row if row is not None and row.active else None


def touch(row: Open311Key) -> None:
    """Remember when the key was last used (the caller commits, with the filing)."""
    row.last_used_at = now()


def create(name: str, actor: User | None, key: str | None = None) -> tuple[str, Open311Key]:
    """A new key for a client; the key itself is shown once. Commits."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_l("Some fields need correcting."), {"name": _l("Please enter a name.")})
    if len(name) > 100:
        raise ValidationFailed(
            _l("Some fields need correcting."), {"name": _l("At most %(n)s characters.", n=100)}
        )
    key = key or secrets.token_urlsafe(24)
    row = Open311Key(
        name=name, key_hash=key_hash(key), prefix=key[:6], active=True, created_by=actor, created_at=now()
    )
    db.session.add(row)
    db.session.commit()
    return key, row


def set_active(key_id: int, active: bool) -> Open311Key | None:
    row = db.session.get(Open311Key, key_id)
    if row is None:
        return None
    row.active = active
    db.session.commit()
    return row


def all_keys() -> list[Open311Key]:
    return list(db.session.scalars(select(Open311Key).order_by(Open311Key.id)))


def ensure_demo_key() -> bool:
    """The demo county's client key `demo-open311-key` (idempotent). The caller commits."""
    if db.session.scalar(select(Open311Key.id).where(Open311Key.key_hash == key_hash(DEMO_KEY))) is not None:
        return False
    db.session.add(
        Open311Key(
            name="演示客户端（12345 热线）", key_hash=key_hash(DEMO_KEY), prefix=DEMO_KEY[:6], active=True
        )
    )
    return True
