"""Field rules shared by every face: the web form, the JSON API and Open311 all call these."""

from __future__ import annotations

import re

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")

# File types accepted as attachments, recognised by their first bytes, not their names.
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"%PDF-", "application/pdf", ".pdf"),
)


def normalize_mobile(raw: str | None) -> str:
    """Strip spaces, dashes and a +86/0086 prefix from a phone number as people type it."""
    value = re.sub(r"[\s\-()]", "", raw or "")
    for prefix in ("+86", "0086"):
        if value.startswith(prefix):
            value = value[len(prefix):]
    return value


def is_mainland_mobile(value: str) -> bool:
    return bool(MOBILE_RE.match(value))


def sniff_type(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) of an accepted file, or None."""
    for magic, content_type, ext in _SIGNATURES:
        if data.startswith(magic):
            return content_type, ext
    return None


def mask_phone(phone: str | None) -> str:
    """138****1234, for staff who do not need the whole number."""
    if not phone:
        return ""
    if len(phone) >= 7:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
    return "*" * len(phone)
