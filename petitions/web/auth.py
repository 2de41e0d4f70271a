"""Who is asking: the logged-in user of a web session, or the staff user of a bearer token."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import g, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from petitions.domain.clocks import now
from petitions.extensions import db, settings
from petitions.models import ApiToken, User


def load_user(user_id: str) -> User | None:
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None
    return user if user is not None and user.active else None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User) -> tuple[str, ApiToken]:
    """A new bearer token for a staff user; only its hash is kept. Caller commits."""
    token = secrets.token_urlsafe(32)
    row = ApiToken(
        token_hash=_token_hash(token),
        user_id=user.id,
        created_at=now(),
        expires_at=now() + timedelta(hours=settings().token_ttl_hours),
    )
    db.session.add(row)
    return token, row


def bearer_user() -> User | None:
    """The active staff user behind `Authorization: Bearer …`, or None (cached per request)."""
    if "bearer_user" in g:
        return g.bearer_user
    user = None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        row = db.session.scalar(
            select(ApiToken)
            .where(ApiToken.token_hash == _token_hash(token.strip()))
            .options(joinedload(ApiToken.user))
        )
        if row is not None and row.revoked_at is None and row.expires_at > now() and row.user.active:
            user = row.user
    g.bearer_user = user
    return user


def authenticate(username: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None or not user.active or not user.check_password(password or ""):
        return None
    return user
