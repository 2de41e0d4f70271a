"""A stand-in for Twilio's Messages API on 127.0.0.1, for the real twilio client to talk to.

    POST /2010-04-01/Accounts/{sid}/Messages.json  → 201 {"sid": "SM...", "status": "queued", ...}

Programmable per request: `fail_next(kind, n)` makes the next n requests answer 500, 400
with Twilio's error 21211 (a bad number), or hang past the client's timeout; `fail_share`
makes that share of the other sends answer 500 at random; `pause()` closes the port (the
client's connections are refused) until `resume()` opens it again. Only answered 201s count
as accepted messages (`accepted`); every request is kept in `requests`.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass
class Request:
    path: str
    form: dict[str, str]
    auth: tuple[str, str] | None
    outcome: str = ""
    at: float = field(default_factory=time.time)


@dataclass
class FakeTwilio:
    account_sid: str = "AC" + "0" * 32
    auth_token: str = "test-auth-token"
    requests: list[Request] = field(default_factory=list)
    accepted: list[Request] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)
    hang_seconds: float = 3.0
    # After accepting, wait this long before answering (a crash can fall in between).
    answer_delay: float = 0.0
    # A message accepted less than this long ago is not yet in the list of sent messages.
    list_lag: float = 0.0
    lists: int = 0
    # This share of sends (not planned otherwise) answers 500 without accepting the message.
    fail_share: float = 0.0
    seed: int = 0
    port: int = 0
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, kind: str, n: int = 1) -> None:
        """kind: "500", "bad_number", "hang"."""
        with self._lock:
            self.plan += [kind] * n

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.accepted.clear()
            self.plan.clear()
            self.answer_delay = 0.0
            self.list_lag = 0.0
            self.lists = 0

    def bodies(self) -> list[tuple[str, str]]:
        return [(r.form.get("To", ""), r.form.get("Body", "")) for r in self.accepted]

    def _next(self) -> str:
        with self._lock:
            if self.plan:
                return self.plan.pop(0)
            if self.fail_share and self._rng.random() < self.fail_share:
                return "500"
            return "ok"

    def start(self) -> FakeTwilio:
        self._rng = random.Random(self.seed)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                """The list of sent messages, filtered by To, From and DateSent> (a prefix of the path)."""
                path, _, query = self.path.partition("?")
                params = {k: v[0] for k, v in parse_qs(query).items()}
                if path != f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json":
                    return self._reply(404, {"code": 20404, "message": "not found", "status": 404})
                with fake._lock:
                    fake.lists += 1
                    shown = [
                        r
                        for r in fake.accepted
                        if time.time() - r.at >= fake.list_lag
                        and r.form.get("To") == params.get("To", r.form.get("To"))
                        and r.form.get("From") == params.get("From", r.form.get("From"))
                    ]
                messages = [
                    {
                        "sid": r.outcome,
                        "account_sid": fake.account_sid,
                        "to": r.form.get("To"),
                        "from": r.form.get("From"),
                        "body": r.form.get("Body"),
                        "status": "sent",
                    }
                    for r in shown
                ]
                return self._reply(
                    200,
                    {"messages": messages, "page": 0, "page_size": 50, "next_page_uri": None, "uri": path},
                )

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                auth = None
                header = self.headers.get("Authorization", "")
                if header.startswith("Basic "):
                    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                    auth = (user, password)
                req = Request(self.path, form, auth)
                with fake._lock:
                    fake.requests.append(req)
                expected = f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
                if self.path != expected:
                    req.outcome = "404"
                    return self._reply(404, {"code": 20404, "message": "not found", "status": 404})
                if auth != (fake.account_sid, fake.auth_token):
                    req.outcome = "401"
                    return self._reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
                kind = fake._next()
                if kind == "hang":
                    req.outcome = "hang"
                    time.sleep(fake.hang_seconds)
                    try:
                        return self._reply(503, {"code": 20503, "message": "late", "status": 503})
                    except OSError:
                        return None
                if kind == "500":
                    req.outcome = "500"
                    return self._reply(
                        500, {"code": 20500, "message": "Internal Server Error", "status": 500}
                    )
                if kind == "bad_number":
                    req.outcome = "400"
                    return self._reply(
                        400,
                        {
                            "code": 21211,
                            "message": f"The 'To' number {form.get('To')} is not a valid phone number.",
                            "more_info": "https://www.twilio.com/docs/errors/21211",
                            "status": 400,
                        },
                    )
                sid = f"SM{next(fake._ids):032x}"
                req.outcome = sid
                with fake._lock:
                    fake.accepted.append(req)
                if fake.answer_delay:
                    time.sleep(fake.answer_delay)
                with contextlib.suppress(OSError):
                    self._reply(
                        201,
                        {
                            "sid": sid,
                            "account_sid": fake.account_sid,
                            "to": form.get("To"),
                            "from": form.get("From"),
                            "body": form.get("Body"),
                            "status": "queued",
                            "num_segments": "1",
                            "direction": "outbound-api",
                            "api_version": "2010-04-01",
                            "uri": f"/2010-04-01/Accounts/{fake.account_sid}/Messages/{sid}.json",
                        },
                    )

        self._handler = Handler
        self._serve()
        return self

    def _serve(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def pause(self) -> None:
        """Close the port: every connection is refused until resume()."""
        self.stop()

    def resume(self) -> None:
        if self.server is None:
            self._serve()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def redirecting_http_client(base: str):
    """A factory of Twilio's own HTTP client with api.twilio.com swapped for `base`
    (notifications.sms.http_client_factory), so that the real client reaches the stand-in;
    the app does the same when the setting `twilio.api_url` (TWILIO_API_URL) names it."""
    from notifications.sms import twilio_http_client

    def factory(timeout: float, api_url: str = ""):
        return twilio_http_client(timeout, base)

    return factory
