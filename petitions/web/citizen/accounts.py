"""Citizen accounts: a citizen registers with a mobile number, which is also the login name; logging in.

Neither tells whether a number has an account: log-in answers a wrong password and an unknown
number alike, and registration answers a number that has an account as it answers a new one.
"""

from __future__ import annotations

from functools import cache

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from petitions.domain.errors import ValidationFailed
from petitions.domain.validation import is_mainland_mobile, login_name, mask_phone, normalize_mobile
from petitions.extensions import db
from petitions.i18n import lazy_gettext as _l
from petitions.models import Role, User
from petitions.web.auth import authenticate


@cache
def _dummy_hash() -> str:
    return generate_password_hash("no-such-account")


def log_in(login: str | None, password: str | None) -> User | None:
    """The active user for a citizen's mobile number (as typed) or a staff user name, or None.

    An unknown account costs the same password check as a wrong password, so that neither
    the answer nor its timing tells whether an account exists.
    """
    username = login_name(login)
    user = authenticate(username, password or "")
    if user is None and db.session.scalar(select(User.id).where(User.username == username)) is None:
        check_password_hash(_dummy_hash(), password or "")
    return user


def register_citizen(phone: str | None, name: str | None, password: str) -> User | None:
    """Create a citizen account (username = phone = the normalized mobile number). Commits.

    A number that already has an account is not told apart from a new one: nothing is written,
    the password is hashed all the same (the same time taken) and None is returned, and the page
    answers as for a new account. Only logging in tells, as it would anyway.
    """
    mobile = normalize_mobile(phone)
    errors: dict[str, object] = {}
    if not mobile:
        errors["phone"] = _l("Please enter your mobile number.")
    elif not is_mainland_mobile(mobile):
        errors["phone"] = _l("Please enter an 11-digit mainland mobile number, such as 13812345678.")
    clean_name = (name or "").strip()
    if not clean_name:
        errors["name"] = _l("Please enter your name.")
    if errors:
        raise ValidationFailed(_l("Some fields need correcting."), errors)

    password_hash = generate_password_hash(password)
    if db.session.scalar(select(User.id).where(User.username == mobile)) is not None:
        current_app.logger.info("registration for a number that has an account: %s", mask_phone(mobile))
        return None
    user = User(username=mobile, phone=mobile, name=clean_name[:64], role=Role.CITIZEN.value, active=True)
    user.password_hash = password_hash
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        # Registered a moment ago by another request with the same number.
        db.session.rollback()
        return None
    return user
