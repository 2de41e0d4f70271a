"""Sign-in lockout: after LOGIN_LOCK_FAILURES failed attempts for one username from one client
address, that pair is locked for LOGIN_LOCK_MINUTES (the API token endpoint and the web log-in).

The count is per (account, address), so that someone guessing from one address cannot lock
the real officer out everywhere: the same username from another address still signs in.
The account is the one log-in would sign in to (petitions.domain.validation.login_name): every
spelling of a mobile number (spaces, dashes, +86) counts against, and meets, the same lock.
Failures and locks are rows (the administrator's security page lists the locks) and every
lock is logged on the app's logger. A lock answers 429 with Retry-After, even to the right password.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update

from petitions.domain.clocks import now
from petitions.domain.errors import DomainError
from petitions.domain.validation import login_name
from petitions.extensions import db, settings
from petitions.i18n import lazy_gettext as _l
from petitions.models import AuthLock, LoginFailure, User

USERNAME_MAX = 64
ADDRESS_MAX = 64


@dataclass(frozen=True)
class Locked:
    """The pair is locked until `until`; `retry_after` is in whole seconds."""

    until: datetime
    retry_after: int


class SignInLocked(DomainError):
    """Too many failed sign-ins for this username from this address (429, with Retry-After)."""

    status = 429
    code = "locked"

    def __init__(self, locked: Locked):
        minutes = max(1, math.ceil(locked.retry_after / 60))
        super().__init__(
            _l("Too many failed attempts. Please try again in %(n)s minutes.", n=minutes), code="locked"
        )
        self.headers = {"Retry-After": str(locked.retry_after)}


def _key(username: str | None, address: str | None) -> tuple[str, str]:
    return login_name(username)[:USERNAME_MAX], (address or "unknown")[:ADDRESS_MAX]


def _window() -> timedelta:
    return timedelta(minutes=settings().login_lock_minutes)


def active_lock(username: str | None, address: str | None) -> Locked | None:
    """The running lock of this pair, if any."""
    name, addr = _key(username, address)
    at = now()
    lock = db.session.scalar(
        select(AuthLock)
        .where(
            AuthLock.username == name,
            AuthLock.address == addr,
            AuthLock.until > at,
            AuthLock.released_at.is_(None),
        )
        .order_by(AuthLock.until.desc())
        .limit(1)
    )
    if lock is None:
        return None
    return Locked(until=lock.until, retry_after=max(1, math.ceil((lock.until - at).total_seconds())))


def record_failure(username: str | None, address: str | None) -> Locked | None:
    """Count one failed sign-in; lock the pair when it reaches the limit. Commits."""
    name, addr = _key(username, address)
    at = now()
    db.session.add(LoginFailure(username=name, address=addr, at=at, cleared=False))
    db.session.flush()
    # Failures count within the window, and only those after the pair's last lock.
    since = at - _window()
    last_lock = db.session.scalar(
        select(func.max(AuthLock.locked_at)).where(AuthLock.username == name, AuthLock.address == addr)
    )
    if last_lock is not None and last_lock > since:
        since = last_lock
    failures = db.session.scalar(
        select(func.count())
        .select_from(LoginFailure)
        .where(
            LoginFailure.username == name,
            LoginFailure.address == addr,
            LoginFailure.cleared.is_(False),
            LoginFailure.at >= since,
        )
    )
    locked = None
    if failures >= settings().login_lock_failures:
        until = at + _window()
        db.session.add(AuthLock(username=name, address=addr, failures=failures, locked_at=at, until=until))
        current_app.logger.warning(
            "sign-in locked: username=%r address=%s after %d failures, until %s",
            name,
            addr,
            failures,
            until.isoformat(),
        )
        locked = Locked(until=until, retry_after=math.ceil(_window().total_seconds()))
    db.session.commit()
    return locked


def record_success(username: str | None, address: str | None) -> None:
    """A successful sign-in clears the pair's earlier failures. The caller commits."""
    name, addr = _key(username, address)
    db.session.execute(
        update(LoginFailure)
        .where(LoginFailure.username == name, LoginFailure.address == addr, LoginFailure.cleared.is_(False))
        .values(cleared=True)
    )


def refuse_if_locked(username: str | None, address: str | None) -> None:
    """Raise SignInLocked while the pair is locked: the password is not even checked."""
    locked = active_lock(username, address)
    if locked is not None:
        raise SignInLocked(locked)


def fail(username: str | None, address: str | None) -> None:
    """Count a failure (the caller still answers "wrong password"); the next attempt meets the lock."""
    record_failure(username, address)


def recent_locks(limit: int = 200) -> list[AuthLock]:
    """The latest locks, newest first (running and ended)."""
    return list(
        db.session.scalars(
            select(AuthLock).order_by(AuthLock.locked_at.desc(), AuthLock.id.desc()).limit(limit)
        )
    )


def release(lock_id: int, admin: User) -> AuthLock | None:
    """An administrator ends a running lock early (the row stays, with who released it). Commits."""
    lock = db.session.get(AuthLock, lock_id)
    if lock is None or lock.released_at is not None or lock.until <= now():
        return None
    lock.released_at = now()
    lock.released_by = admin
    current_app.logger.warning(
        "sign-in lock released: username=%r address=%s by %s", lock.username, lock.address, admin.username
    )
    db.session.commit()
    return lock
