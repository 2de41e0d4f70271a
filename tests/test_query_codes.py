"""Query codes: stored as a keyed hash (HMAC-SHA256, keys by id in the settings, never in the
database); the right code opens the petition, a wrong code and an unknown number answer alike;
old PBKDF2 hashes still open it and are rewritten on first use; rotating the key keeps old codes
working and moves each to the new key when it is next used."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from petitions.domain.errors import NotFound
from petitions.models import Petition
from petitions.services import query_codes
from petitions.services.filing import find_for_citizen
from tests.conftest import configure
from tests.handling import file

KEY_1 = b"first key, from the settings"
KEY_2 = b"second key, after rotation"


def _stored(db, petition) -> str:
    db.session.expire_all()
    return db.session.scalar(select(Petition.query_code_hash).where(Petition.id == petition.id))


def test_the_stored_form_is_a_keyed_hash_of_the_code(app, db):
    configure(app, query_code_keys={"k1": KEY_1}, query_code_key_id="k1")
    petition, code = file()
    stored = _stored(db, petition)
    expected = hmac.new(KEY_1, code.encode(), hashlib.sha256).hexdigest()
    assert stored == f"hmac-sha256$k1${expected}"
    assert code not in stored and "KEY" not in stored  # neither the code nor the key is kept


def test_right_code_wrong_code_unknown_number(app, db):
    petition, code = file()
    assert find_for_citizen(petition.tracking_no, code).id == petition.id
    assert find_for_citizen(f"  {petition.tracking_no} ", f" {code} ").id == petition.id
    wrong = "0" * 8 if code != "0" * 8 else "1" * 8
    with pytest.raises(NotFound) as bad_code:
        find_for_citizen(petition.tracking_no, wrong)
    with pytest.raises(NotFound) as bad_number:
        find_for_citizen("XF20990101000000", code)
    assert str(bad_code.value) == str(bad_number.value)


def test_a_wrong_code_and_an_unknown_number_take_the_same_time(app, db):
    petition, code = file()
    wrong = "0" * 8 if code != "0" * 8 else "1" * 8

    def timed(number: str, value: str) -> float:
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            with pytest.raises(NotFound):
                find_for_citizen(number, value)
            best = min(best, time.perf_counter() - started)
        return best

    wrong_code, unknown = timed(petition.tracking_no, wrong), timed("XF20990101000000", code)
    started = time.perf_counter()
    find_for_citizen(petition.tracking_no, code)
    right = time.perf_counter() - started
    # Both failures pay the same deliberate cost; the right code does not.
    assert 0.5 < wrong_code / unknown < 2.0, (wrong_code, unknown)
    assert right < wrong_code / 3, (right, wrong_code)


def test_an_old_pbkdf2_hash_still_opens_and_is_rewritten_on_first_use(app, db):
    configure(app, query_code_keys={"k1": KEY_1}, query_code_key_id="k1")
    petition, _code = file()
    legacy = generate_password_hash("12345678", method="pbkdf2:sha256:60000")
    db.session.execute(
        Petition.__table__.update().where(Petition.id == petition.id).values(query_code_hash=legacy)
    )
    db.session.commit()
    with pytest.raises(NotFound):
        find_for_citizen(petition.tracking_no, "87654321")
    assert _stored(db, petition) == legacy  # a wrong code changes nothing
    assert find_for_citizen(petition.tracking_no, "12345678").id == petition.id
    rewritten = _stored(db, petition)
    assert rewritten == "hmac-sha256$k1$" + hmac.new(KEY_1, b"12345678", hashlib.sha256).hexdigest()
    assert find_for_citizen(petition.tracking_no, "12345678").id == petition.id


def test_key_rotation_keeps_old_codes_and_moves_them_to_the_new_key(app, db):
    configure(app, query_code_keys={"k1": KEY_1}, query_code_key_id="k1")
    petition, code = file()
    assert _stored(db, petition).startswith("hmac-sha256$k1$")
    # A new key hashes new codes; the old one is still listed.
    configure(app, query_code_keys={"k1": KEY_1, "k2": KEY_2}, query_code_key_id="k2")
    newer, newer_code = file(title="轮换之后")
    assert _stored(db, newer).startswith("hmac-sha256$k2$")
    assert find_for_citizen(petition.tracking_no, code).id == petition.id
    assert _stored(db, petition) == "hmac-sha256$k2$" + hmac.new(KEY_2, code.encode(), hashlib.sha256).hexdigest()
    # Once the old key is gone, codes not yet moved no longer open; moved ones do.
    unmoved, unmoved_code = file(title="还没用过")
    db.session.execute(
        Petition.__table__.update()
        .where(Petition.id == unmoved.id)
        .values(query_code_hash="hmac-sha256$k1$" + hmac.new(KEY_1, unmoved_code.encode(), hashlib.sha256).hexdigest())
    )
    db.session.commit()
    configure(app, query_code_keys={"k2": KEY_2}, query_code_key_id="k2")
    assert find_for_citizen(petition.tracking_no, code).id == petition.id
    assert find_for_citizen(newer.tracking_no, newer_code).id == newer.id
    with pytest.raises(NotFound):
        find_for_citizen(unmoved.tracking_no, unmoved_code)


def test_the_keys_come_from_the_environment_and_an_unknown_current_key_is_refused():
    from config.settings import Settings

    s = Settings.from_env({"QUERY_CODE_KEYS": "a:first,b:second", "QUERY_CODE_KEY_ID": "b"})
    assert s.query_code_keys == {"a": b"first", "b": b"second"} and s.query_code_key_id == "b"
    with pytest.raises(ValueError):
        Settings.from_env({"QUERY_CODE_KEYS": "a:first", "QUERY_CODE_KEY_ID": "z"})
    derived = Settings.from_env({"SECRET_KEY": "s"})
    assert list(derived.query_code_keys) == ["k0"] and derived.query_code_key_id == "k0"
    assert query_codes.SCHEME == "hmac-sha256"
