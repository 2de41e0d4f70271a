"""Query codes (查询码): eight digits the citizen reads out on the phone, stored as a keyed hash.

The stored form is `hmac-sha256$<key id>$<hex>`: HMAC-SHA256 of the code under a secret key
that lives in the settings (QUERY_CODE_KEYS), never in the database, so a stolen database
gives no code away, and checking one costs microseconds. Keys are rotated by id: a new
current key (QUERY_CODE_KEY_ID) hashes new codes; the old keys still check old ones, and a
code checked under an old key, or under the PBKDF2 hash of earlier versions, is rewritten
under the current key on its first successful use.

A wrong code and an unknown tracking number must not be told apart, also not by timing:
every failed check costs one PBKDF2 round of the old kind, whatever failed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

from petitions.extensions import settings

SCHEME = "hmac-sha256"
_LEGACY_METHOD = "pbkdf2:sha256:60000"
# What a failed check costs: the same work as checking an old-kind hash.
_FAILURE_HASH = generate_password_hash("no-such-petition", method=_LEGACY_METHOD)


def new_code() -> str:
    """Digits only: easy to read out over the phone and to type on any keypad."""
    return "".join(secrets.choice("0123456789") for _ in range(settings().query_code_length))


def _digest(key: bytes, code: str) -> str:
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def hash_code(code: str) -> str:
    s = settings()
    key_id = s.query_code_key_id
    return f"{SCHEME}${key_id}${_digest(s.query_code_keys[key_id], code)}"


def check(stored: str | None, code: str) -> tuple[bool, bool]:
    """(the code matches, the stored hash should be rewritten under the current key)."""
    code = (code or "").strip()
    if stored and stored.startswith(SCHEME + "$"):
        _scheme, key_id, digest = stored.split("$", 2)
        key = settings().query_code_keys.get(key_id)
        if key is not None and hmac.compare_digest(_digest(key, code), digest):
            return True, key_id != settings().query_code_key_id
    elif stored and check_password_hash(stored, code):
        return True, True
    elif stored:
        return False, False  # the PBKDF2 check above already cost what a failure costs
    check_password_hash(_FAILURE_HASH, code)
    return False, False


def fail_evenly(code: str) -> None:
    """The cost of a failed check, for a tracking number that matched nothing."""
    check_password_hash(_FAILURE_HASH, (code or "").strip())
