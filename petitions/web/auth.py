"""Who is asking: the logged-in user of a web session, or the staff user of a bearer token."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from functools import cache

from flask import current_app, g, request
from sqlalchemy import bindparam, or_, select

from petitions.domain.clocks import now
from petitions.extensions import db, settings
from petitions.models import ApiToken, User
from petitions.services import reference
from petitions.web.inputs import MAX_ID


def load_user(user_id: str) -> User | None:
    """The user of a session: "<id>:<generation>" (User.get_id), only while that generation is
    the user's current one. A bare "<id>", from sessions opened before generations, is generation 0."""
    ident, _, generation = str(user_id).partition(":")
    try:
        number, opened_in = int(ident), int(generation or 0)
    except (TypeError, ValueError):
        return None
    if not 1 <= number <= MAX_ID:
        return None
    user = db.session.get(User, number)
    if user is None or not user.active or opened_in != (user.session_generation or 0):
        return None
    # Every staff page names the user's unit: from the reference cache, not a statement.
    reference.attach_units([user.unit_id])
    return user


def end_sessions(user: User, why: str) -> None:
    """End every web session of `user` (log-out ends them all, not only this browser's). Commits."""
    user.end_sessions()
    db.session.commit()
    current_app.logger.info("sessions ended: user=%s why=%s", user.username, why)


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


@cache
def _token_user():
    """The user of a token that is still good, built once (parameters `token_hash` and `at`)."""
    return (
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == bindparam("token_hash"),
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > bindparam("at", type_=ApiToken.expires_at.type),
            User.active.is_(True),
            # A token issued before the password last changed has ended with the old password.
            or_(User.password_changed_at.is_(None), ApiToken.created_at >= User.password_changed_at),
        )
    )


def bearer_user() -> User | None:
    """The active staff user behind `Authorization: Bearer …`, or None (cached per request)."""
    if "bearer_user" in g:
        return g.bearer_user
    user = None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        user = db.session.scalar(_token_user(), {"token_hash": _token_hash(token.strip()), "at": now()})
    if user is not None:
        reference.attach_units([user.unit_id])
    g.bearer_user = user
    return user


def authenticate(username: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None or not user.active or not user.check_password(password or ""):
        return None
    return user
