"""Personal data out of what the public reads (政务公开).

Names, phone numbers, ID numbers and addresses are never public (domain.md). The
structured fields are simply not published; free text is masked, because citizens type
their phone number or ID number into the title and content, and units quote them in
replies. Detection errs on the side of masking: any 18-character run of digits not starting
with 0 (the last may be X), or 15 such digits (the old IDs), is taken for an ID number, any mainland mobile number with or without +86,
spaces or dashes, landline numbers with an area code, and e-mail addresses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# 18-digit resident ID (居民身份证号码), last character a digit or X; 15-digit old IDs too.
_ID_RE = re.compile(r"(?<![0-9A-Za-z])(?:[1-9]\d{16}[\dXx]|[1-9]\d{14})(?![0-9A-Za-z])")
# Mainland mobile numbers, as typed: 13812345678, 138 1234 5678, 138-1234-5678, +86 138...
_MOBILE_RE = re.compile(r"(?<![0-9])(?:(?:\+|00)?86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}(?![0-9])")
# Landlines with their area code: 0571-88881234, (0571)88881234, 010 12345678.
_LANDLINE_RE = re.compile(r"(?<![0-9])(?:\(0\d{2,3}\)\s?|0\d{2,3}[\s-])\d{7,8}(?![0-9])")
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")

ID_MASK = "[身份证号已隐去]"
PHONE_MASK = "[电话已隐去]"
EMAIL_MASK = "[邮箱已隐去]"
NAME_MASK = "某某"
ADDRESS_MASK = "[地址已隐去]"


def mask_text(
    text: str | None, *, names: Iterable[str | None] = (), addresses: Iterable[str | None] = ()
) -> str:
    """`text` with ID numbers, phone numbers and e-mails masked, and the given names and
    addresses (the petition's own contact details) replaced wherever they occur."""
    if not text:
        return ""
    # Longest first, so that a full address is replaced before a part of it.
    for value in sorted((a.strip() for a in addresses if a and len(a.strip()) >= 4), key=len, reverse=True):
        text = text.replace(value, ADDRESS_MASK)
    for value in sorted((n.strip() for n in names if n and len(n.strip()) >= 2), key=len, reverse=True):
        text = text.replace(value, NAME_MASK)
    # ID numbers before phones: an ID must not lose only an 11-digit slice of itself.
    text = _ID_RE.sub(ID_MASK, text)
    text = _EMAIL_RE.sub(EMAIL_MASK, text)
    text = _MOBILE_RE.sub(PHONE_MASK, text)
    text = _LANDLINE_RE.sub(PHONE_MASK, text)
    return text


def contains_personal_data(text: str) -> bool:
    """True when `text` still holds something that looks like an ID, phone number or e-mail."""
    return any(r.search(text) for r in (_ID_RE, _MOBILE_RE, _LANDLINE_RE, _EMAIL_RE))
