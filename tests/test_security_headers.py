"""Every response carries the framing and content security headers, the pages satisfy the policy
(no inline script, event handler or style), and the client address behind trusted proxies."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.handling import act, file, logged_in

ROOT = Path(__file__).resolve().parent.parent


def _policy(response) -> dict[str, str]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = " ".join(words[1:])
    return directives


def _pages(app) -> list[tuple[str, str | None]]:
    """(path, who) for every kind of page: citizen, public, staff, supervision, admin, API, Open311."""
    petition, _code = file()
    act(petition, "accept", "jtj-handler")
    no = petition.tracking_no
    return [
        ("/", None),
        ("/track", None),
        ("/track?no=" + no, None),
        ("/file", None),
        ("/login", None),
        ("/rate", None),
        ("/public/", None),
        ("/public/petitions", None),
        ("/no-such-page", None),
        ("/static/site.css", None),
        ("/api/v1/categories", None),
        ("/api/v1/petitions/XF0?code=1", None),
        ("/open311/v2/services.json", None),
        ("/staff/queue", "jtj-handler"),
        (f"/staff/petitions/{no}", "jtj-leader"),
        (f"/staff/petitions/{no}/notices/acceptance", "jtj-leader"),
        (f"/staff/petitions/{no}/notices/acceptance.pdf", "jtj-leader"),
        ("/staff/intake", "intake"),
        ("/staff/intake/new", "intake"),
        ("/supervision/", "supervisor"),
        ("/supervision/rankings", "supervisor"),
        ("/supervision/board.json", "supervisor"),
        ("/supervision/export/measures?format=csv", "supervisor"),
        ("/admin/", "admin"),
        ("/admin/units", "admin"),
        ("/admin/users", "admin"),
        ("/admin/calendar", "admin"),
        ("/staff/petitions/XF-NOT-THERE", "jtj-handler"),
    ]


def test_every_kind_of_page_forbids_framing_and_sets_the_policy(app):
    for path, who in _pages(app):
        client = app.test_client()
        if who:
            logged_in(client, who)
        response = client.get(path)
        assert response.status_code < 500, path
        assert response.headers.get("X-Frame-Options") == "DENY", path
        policy = _policy(response)
        assert policy.get("frame-ancestors") == "'none'", path
        assert policy.get("default-src") == "'self'", path
        for directive in ("script-src", "style-src"):
            assert policy.get(directive) == "'self'", (path, directive, policy)
        assert policy.get("object-src") == "'none'", path
        assert response.headers.get("X-Content-Type-Options") == "nosniff", path
        assert response.headers.get("Referrer-Policy") == "same-origin", path


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline script"),
    (re.compile(r"<style[\s>]", re.I), "style element"),
    (re.compile(r"\sstyle=\"", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+=\"", re.I), "event handler attribute"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def test_no_page_needs_what_the_policy_refuses(app):
    """The policy has no 'unsafe-inline': no page may carry inline script, handlers or style."""
    for path, who in _pages(app):
        client = app.test_client()
        if who:
            logged_in(client, who)
        response = client.get(path)
        if response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        for pattern, what in INLINE:
            found = pattern.search(html)
            assert found is None, f"{path}: {what}: {html[max(0, found.start() - 80):found.end() + 80]}"


_PROBE = textwrap.dedent(
    """
    import sys
    from flask import request
    from app import create_app
    from config.settings import Settings

    app = create_app(
        Settings.for_tests(
            trusted_proxies=int(sys.argv[1]),
            database_url="sqlite://",
            redis_url="redis://127.0.0.1:1/0",
            ratelimit_storage_uri="memory://",
        )
    )
    app.add_url_rule("/_who", "who", lambda: f"{request.remote_addr} {request.scheme}")
    client = app.test_client()
    answer = client.get(
        "/_who",
        headers={"X-Forwarded-For": "198.51.100.9, 203.0.113.7", "X-Forwarded-Proto": "https, https"},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )
    print(answer.get_data(as_text=True))
    """
)


@pytest.mark.parametrize(
    ("hops", "seen"),
    [
        (0, "10.0.0.2 http"),  # the default: forwarded headers are ignored (anyone can send them)
        (1, "203.0.113.7 https"),  # one proxy: the address it saw, not what the client claimed
        (2, "198.51.100.9 https"),
    ],
)
def test_client_address_behind_trusted_proxies(hops, seen):
    """TRUSTED_PROXIES decides whose word the rate limits, lockouts and logs take for the address.
    (A fresh app in its own process: an app's extensions are set up once per process.)"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(hops)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == seen


def test_trusted_proxies_is_a_setting_that_is_off_by_default():
    from config.settings import Settings
    from petitions.web import trust_proxies

    assert Settings.from_env({}).trusted_proxies == 0
    assert Settings.from_env({"TRUSTED_PROXIES": "2"}).trusted_proxies == 2

    class Fake:
        extensions = {"settings": Settings.for_tests(trusted_proxies=-1)}
        wsgi_app = None

    with pytest.raises(ValueError):
        trust_proxies(Fake())
    assert Fake.wsgi_app is None
