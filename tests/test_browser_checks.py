"""The page checks that every browser test gets (tests/browser_support.py) do see what they are
for: an accessibility violation, a page wider than its window, a script the policy refuses; and
the app's own pages load with the policy in force and nothing refused."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'"


def _serve(page, path: str, body: str) -> None:
    """A page of the live server's origin with the app's policy, made up for the check."""
    page.route(
        f"**{path}",
        lambda route: route.fulfill(
            status=200,
            body=body,
            headers={"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": POLICY},
        ),
    )


def test_the_checks_catch_what_they_are_for(page, page_checks):
    _serve(
        page,
        "/probe-bad",
        '<!doctype html><html lang="en"><head><title>probe</title></head><body><main>'
        '<h1>Probe</h1><img src="/static/none.png"><pre>' + "wide " * 200 + "</pre>"
        "<script>document.title = 'ran';</script></main></body></html>",
    )
    page.set_viewport_size({"width": 360, "height": 600})
    page.goto("/probe-bad")
    page.goto("/")  # leaving it: its check must have reported first
    problems = "\n".join(page_checks.problems())
    assert "image-alt" in problems  # axe-core: the image has no text alternative
    assert "/probe-bad: " in problems and "scroll sideways" in problems
    assert "content security policy" in problems and "script-src" in problems
    # This test made those on purpose: the fixture must not fail it for them.
    page_checks.violations.clear()
    page_checks.overflow.clear()
    page_checks.csp.clear()


def test_the_apps_pages_load_under_the_policy_with_nothing_refused(page, page_checks):
    for path in ("/", "/file", "/track", "/public/", "/login"):
        response = page.goto(path)
        policy = response.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in policy and "'unsafe-inline'" not in policy
        assert response.headers.get("x-frame-options") == "DENY"
    page.goto("/file")
    # The page's own script ran (the anonymity box is hidden by it), under the policy.
    assert page.locator(".anonymity").is_hidden()
    page_checks.check_now()
    assert page_checks.csp == []
