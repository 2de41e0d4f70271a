"""Field rules shared by every face: the web form, the JSON API and Open311 all call these."""

from __future__ import annotations

import re
import unicodedata

# ASCII digits only, the whole string (\d would take full-width and other digits, $ a newline).
MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")

# File types accepted as attachments, recognised by their first bytes, not their names.
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"%PDF-", "application/pdf", ".pdf"),
)


def normalize_mobile(raw: str | None) -> str:
    """Strip spaces, dashes and a +86/0086 prefix from a phone number as people type it
    (full-width digits, as Chinese keyboards type them, become ASCII ones)."""
    value = re.sub(r"[\s\-()]", "", unicodedata.normalize("NFKC", raw or ""))
    for prefix in ("+86", "0086"):
        if value.startswith(prefix):
            value = value[len(prefix):]
    return value


def is_mainland_mobile(value: str) -> bool:
    return MOBILE_RE.fullmatch(value) is not None


def login_name(raw: str | None) -> str:
    """The account a typed log-in stands for: a mainland mobile number however it is typed
    (spaces, dashes, +86, full-width digits), otherwise the user name without surrounding spaces.
    Log-in and the sign-in lockout both go by it, so that no spelling of one account gets fresh tries."""
    typed = (raw or "").strip()
    mobile = normalize_mobile(typed)
    return mobile if is_mainland_mobile(mobile) else typed


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
