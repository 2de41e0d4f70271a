"""SMS senders: Twilio when TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM are set,
otherwise a console sender for development that prints each message and keeps it.

A sender answers with the provider's message id, or raises `PermanentFailure` (the
provider refused this message: a bad number; never retried) or `TransientFailure`
(5xx, rate limiting, timeouts, network trouble: retried with backoff).
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)

TWILIO_HOST = "https://api.twilio.com"


class SendFailure(Exception):
    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


class PermanentFailure(SendFailure):
    """Not worth trying again (bad number, unsubscribed, refused content)."""


class TransientFailure(SendFailure):
    """Worth trying again later."""


@dataclass(frozen=True)
class Sent:
    provider_id: str
    status: str


class Sender(Protocol):
    name: str

    def send(
        self, to: str | None, body: str, *, status_callback: str | None = None, label: str = ""
    ) -> Sent: ...


def to_e164(phone: str) -> str:
    """A mainland mobile number as Twilio wants it (+86...)."""
    phone = phone.strip()
    if phone.startswith("+"):
        return phone
    return "+86" + phone


class ConsoleSender:
    """Prints each message (the embedded default) and keeps it in `sent` for the curious."""

    name = "console"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def send(self, to: str | None, body: str, *, status_callback: str | None = None, label: str = "") -> Sent:
        target = to or f"{label} (no mobile number on file)"
        line = f"[SMS → {target}] {body}"
        print(line, flush=True)
        log.info(line)
        with self._lock:
            self.sent.append((target, body))
        # Unique across processes (RQ forks a work horse per job).
        return Sent(provider_id=f"console-{uuid.uuid4().hex}", status="sent")


class _LocalBaseHttpClient:
    """Twilio's own HTTP client, with api.twilio.com swapped for a local stand-in (tests)."""

    def __new__(cls, base: str, timeout: float):
        from twilio.http.http_client import TwilioHttpClient

        class Redirected(TwilioHttpClient):
            def request(self, method, url, *args, **kwargs):
                if url.startswith(TWILIO_HOST):
                    url = base.rstrip("/") + url[len(TWILIO_HOST) :]
                return super().request(method, url, *args, **kwargs)

        return Redirected(timeout=timeout)


class TwilioSender:
    name = "twilio"

    def __init__(
        self, account_sid: str, auth_token: str, from_: str, *, api_base: str = "", timeout: float = 15
    ):
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        http_client = (
            _LocalBaseHttpClient(api_base, timeout) if api_base else TwilioHttpClient(timeout=timeout)
        )
        self.client = Client(account_sid, auth_token, http_client=http_client)
        self.from_ = from_

    def send(self, to: str | None, body: str, *, status_callback: str | None = None, label: str = "") -> Sent:
        import requests
        from twilio.base.exceptions import TwilioException, TwilioRestException

        if not to:
            raise PermanentFailure("no mobile number on file")
        kwargs = {"to": to_e164(to), "from_": self.from_, "body": body}
        if status_callback:
            kwargs["status_callback"] = status_callback
        try:
            message = self.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            text = f"Twilio {exc.status}" + (f" error {exc.code}" if exc.code else "") + f": {exc.msg}"
            if exc.status == 429 or exc.status >= 500:
                raise TransientFailure(text, exc.code) from exc
            raise PermanentFailure(text, exc.code) from exc
        except (requests.RequestException, TwilioException, OSError) as exc:
            raise TransientFailure(f"{type(exc).__name__}: {exc}") from exc
        return Sent(provider_id=message.sid, status=message.status or "queued")


_console = ConsoleSender()
_twilio: dict[tuple, TwilioSender] = {}


def sender_for(config: dict) -> Sender:
    """The sender the configuration asks for."""
    sid, token, from_ = (
        config.get("TWILIO_ACCOUNT_SID"),
        config.get("TWILIO_AUTH_TOKEN"),
        config.get("TWILIO_FROM"),
    )
    if not (sid and token and from_):
        return _console
    timeout = float(config.get("NOTIFY", {}).get("provider_timeout", 15))
    key = (sid, token, from_, config.get("TWILIO_API_BASE", ""), timeout)
    if key not in _twilio:
        _twilio[key] = TwilioSender(sid, token, from_, api_base=key[3], timeout=timeout)
    return _twilio[key]


def console() -> ConsoleSender:
    return _console
