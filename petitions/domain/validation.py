"""Field rules shared by every face: the web form, the JSON API and Open311 all call these."""

from __future__ import annotations

import re
import unicodedata

# ASCII digits only, the whole string (\d would take full-width and other digits, $ a newline).
MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")

# The forms of codes and names that every face takes (the API's document gives these patterns).
CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"  # units and categories
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,63}$"
TRACKING_NO_PATTERN = r"^[A-Za-z0-9-]{1,32}$"
QUERY_CODE_PATTERN = r"^[0-9]{1,32}$"

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


FILENAME_MAX = 200
# Characters a file name never keeps: controls (line breaks included) and the bidirectional
# marks, embeddings, overrides and isolates that make "gpj.exe" read as "exe.jpg".
_FILENAME_DROP = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def clean_filename(raw: str | None, fallback: str = "attachment") -> str:
    """An attachment's name as it may be kept and sent back: its last path part only (no
    directories, no "../"), without control or bidirectional characters, no leading dots, spaces
    collapsed, at most FILENAME_MAX characters with the extension kept; `fallback` if nothing is left."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = _FILENAME_DROP.sub("", re.sub(r"\s+", " ", name))
    name = name.strip().lstrip(".").strip()
    if len(name) > FILENAME_MAX:
        stem, dot, ext = name.rpartition(".")
        ext = ext if dot and stem and len(ext) <= 16 else ""
        name = name[: FILENAME_MAX - len(ext) - (1 if ext else 0)].rstrip() + ("." + ext if ext else "")
    return name or fallback


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
