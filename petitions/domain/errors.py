"""Domain errors. Every face turns them into its own answer (JSON error shape, form message)."""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: object, fields: dict[str, object] | None = None, code: str | None = None):
        # Messages may be lazy translations: they are rendered in the reader's language
        # only when a face turns them into text.
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})
        if code:
            self.code = code

    def __str__(self) -> str:
        return str(self.message)

    def text_fields(self) -> dict[str, str]:
        return {name: str(why) for name, why in self.fields.items()}


class ValidationFailed(DomainError):
    """One or more fields are invalid (422)."""

    status = 422
    code = "invalid"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    """Stale version, or an action the current state does not allow (409)."""

    status = 409
    code = "conflict"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
