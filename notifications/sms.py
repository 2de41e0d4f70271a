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
from datetime import datetime
from typing import Protocol

log = logging.getLogger(__name__)

# Messages to one number since a row was owed: a handful at most.
LIST_LIMIT = 50



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

    def find_sent(self, to: str | None, body: str, *, since: datetime) -> Sent | None:
        """A message with this text the provider accepted for `to` since `since`, if it lists one."""


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

    def find_sent(self, to: str | None, body: str, *, since: datetime) -> Sent | None:
        return None  # nothing leaves the machine: printing twice is harmless


TWILIO_API_URL = "https://api.twilio.com"


def twilio_http_client(timeout: float, api_url: str = TWILIO_API_URL):
    """The HTTP client the Twilio client talks through: to `api_url` instead of Twilio's own
    address when the settings name another (a local server that speaks Twilio's API)."""
    from twilio.http.http_client import TwilioHttpClient

    base = api_url.rstrip("/")
    if base == TWILIO_API_URL:
        return TwilioHttpClient(timeout=timeout)

    class Redirected(TwilioHttpClient):
        def request(self, method, url, *args, **kwargs):
            if url.startswith(TWILIO_API_URL):
                url = base + url[len(TWILIO_API_URL) :]
            return super().request(method, url, *args, **kwargs)

    return Redirected(timeout=timeout)


# Replaced by the tests only, to reach a local server that speaks Twilio's API.
http_client_factory = twilio_http_client


class TwilioSender:
    name = "twilio"

    def __init__(
        self, account_sid: str, auth_token: str, from_: str, *, timeout: float = 15, api_url: str = TWILIO_API_URL
    ):
        from twilio.rest import Client

        http_client = (
            http_client_factory(timeout) if api_url == TWILIO_API_URL else http_client_factory(timeout, api_url)
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

    def find_sent(self, to: str | None, body: str, *, since: datetime) -> Sent | None:
        import requests
        from twilio.base.exceptions import TwilioException

        if not to:
            return None
        try:
            listed = self.client.messages.list(
                to=to_e164(to), from_=self.from_, date_sent_after=since, limit=LIST_LIMIT
            )
        except (requests.RequestException, TwilioException, OSError) as exc:
            # Not knowing is not sending: try again later rather than risk a second copy.
            raise TransientFailure(f"could not list sent messages: {exc}") from exc
        found = next((m for m in listed if m.body == body), None)
        return Sent(provider_id=found.sid, status=found.status or "sent") if found is not None else None


_console = ConsoleSender()
_twilio: dict[tuple, TwilioSender] = {}


def sender_for(settings) -> Sender:
    """The sender the settings ask for: Twilio when its account is configured, else the console."""
    twilio = settings.twilio
    if not twilio.configured:
        return _console
    timeout = float(settings.notify.provider_timeout)
    key = (twilio.account_sid, twilio.auth_token, twilio.from_, timeout, twilio.api_url, http_client_factory)
    if key not in _twilio:
        _twilio[key] = TwilioSender(
            twilio.account_sid, twilio.auth_token, twilio.from_, timeout=timeout, api_url=twilio.api_url
        )
    return _twilio[key]


def console() -> ConsoleSender:
    return _console
