"""Idempotency-Key for POSTs that create something: the same key and body within the TTL
(IDEMPOTENCY_TTL_HOURS) gets the first answer again and creates nothing new.

A key is scoped by method + path + caller: the staff user of a bearer token, or nobody for
anonymous callers. Not the client address: many citizens' phones share one address behind
a carrier's NAT, and one phone changes address as it moves; an anonymous key is then
shared by path alone, which is safe because a replay also needs the same body.

The row is inserted (and committed) before the work starts, so the unique constraint on
(key, scope) lets only one of two concurrent duplicates through; the other sees the row
still pending (409, try again) or finished (the stored answer). Only successful answers
are kept: when the work fails, the row is removed and the client may try again with the
same key. A process that dies between creating and storing the answer leaves the row
pending until it expires: the client is told to wait rather than risk a second petition.

The stored answer holds what the first one held (a filing's query code included), so rows
are purged once they expire.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from petitions.domain.clocks import now
from petitions.domain.errors import Conflict, ValidationFailed
from petitions.extensions import db, settings
from petitions.i18n import lazy_gettext as _l
from petitions.models import IdempotencyKey

PENDING = 0
KEY_MAX = 128


@dataclass
class Stored:
    status: int
    body: str


def scope_for(method: str, path: str, user_id: int | None) -> str:
    caller = f"user:{user_id}" if user_id is not None else "anonymous"
    scope = f"{method.upper()} {path} {caller}"
    if len(scope) > 300:  # the column's width; long paths are hashed, still unique per path
        scope = f"{method.upper()} sha256:{hashlib.sha256(path.encode()).hexdigest()} {caller}"
    return scope


def _cutoff():
    return now() - timedelta(hours=settings().idempotency_ttl_hours)


def check_key(key: str) -> None:
    if not 0 < len(key) <= KEY_MAX or not all("!" <= ch <= "~" for ch in key):
        raise ValidationFailed(
            _l("The Idempotency-Key must be 1 to %(n)s visible ASCII characters.", n=KEY_MAX),
            {"Idempotency-Key": _l("1 to %(n)s visible ASCII characters, such as a UUID.", n=KEY_MAX)},
            code="invalid_idempotency_key",
        )


def _existing(key: str, scope: str) -> IdempotencyKey | None:
    return db.session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.key == key, IdempotencyKey.scope == scope, IdempotencyKey.created_at >= _cutoff()
        )
    )


def begin(key: str, scope: str, body_hash: str) -> Stored | None:
    """Claim the key for this request (None: go ahead), or the stored answer to replay.

    Raises ValidationFailed (code idempotency_key_reused) for the same key with another
    body, and Conflict (code idempotency_in_progress) while the first request still runs.
    Commits.
    """
    check_key(key)
    for _attempt in range(2):
        # Expired keys no longer count, and they must not block the unique constraint.
        db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < _cutoff()))
        db.session.add(
            IdempotencyKey(
                key=key, scope=scope, body_hash=body_hash, status_code=PENDING, response="", created_at=now()
            )
        )
        try:
            db.session.commit()
            return None
        except IntegrityError:
            db.session.rollback()
        row = _existing(key, scope)
        if row is None:  # finished and abandoned (or expired) in between: claim it again
            continue
        if row.body_hash != body_hash:
            raise ValidationFailed(
                _l("This Idempotency-Key was already used with a different request body."),
                {"Idempotency-Key": _l("Use a new key for a different request.")},
                code="idempotency_key_reused",
            )
        if row.status_code == PENDING:
            raise Conflict(
                _l("A request with this Idempotency-Key is still being processed. Try again shortly."),
                code="idempotency_in_progress",
            )
        return Stored(row.status_code, row.response)
    raise Conflict(
        _l("A request with this Idempotency-Key is still being processed. Try again shortly."),
        code="idempotency_in_progress",
    )


def finish(key: str, scope: str, status: int, body: str) -> None:
    """Store the answer of a claimed key. Commits."""
    db.session.rollback()  # nothing of a failed unit of work may ride along
    row = db.session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.key == key, IdempotencyKey.scope == scope)
    )
    if row is not None:
        row.status_code = status
        row.response = body
        db.session.commit()


def abandon(key: str, scope: str) -> None:
    """Release a claimed key whose request failed, so that it may be retried. Commits."""
    db.session.rollback()
    db.session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.key == key, IdempotencyKey.scope == scope, IdempotencyKey.status_code == PENDING
        )
    )
    db.session.commit()


def purge_expired() -> int:
    """Delete expired keys (their answers may hold query codes). Commits; returns how many."""
    result = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < _cutoff()))
    db.session.commit()
    return result.rowcount or 0
