"""What every browser test checks on every page it visits, without asking.

The `page` fixture (tests/conftest.py) installs `PageChecks` on its browser context:

- **axe-core** (vendored in tests/vendor/axe-core, from the npm registry) runs in each HTML
  document of the app once it is parsed and styled, and once more on the last document as the
  test left it; any violation fails the test;
- **sideways scrolling**: a document wider than its window fails the test, at any width;
- **content security policy**: a `securitypolicyviolation` event or a console error about the
  policy fails the test (the pages must satisfy the policy that the app sends).

No page escapes: each of our documents announces itself when it is created, and before the
browser leaves a document (its navigation request waits in a route) every check that began
must have reported. A document left before it was even parsed (a redirect passed through, a
test that moved on at once) is set aside; its address must then be checked in another
document of the test, or the test fails.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
WAIT_SECONDS = 30
PARSE_SECONDS = 5

# Runs in every document before the page's own scripts (init scripts are not subject to the
# page's policy). `__xf*` are bindings to PageChecks.
_IN_EVERY_DOCUMENT = """
(() => {
  const base = %(base)s;
  if (!location.href.startsWith(base) || document.contentType !== "text/html") { return; }
  const id = Math.random().toString(36).slice(2) + Date.now().toString(36);
  window.__xfBorn(id, location.href);
  document.addEventListener("securitypolicyviolation", (e) => {
    window.__xfCsp(JSON.stringify({
      page: location.href, directive: e.violatedDirective, blocked: e.blockedURI,
      source: e.sourceFile, line: e.lineNumber, sample: e.sample
    }));
  });
  // A page that rewrites itself while axe-core walks it (a board refreshing, a form changing)
  // can leave a run waiting on nodes that are gone: such a run is given up after a while and
  // begun again with a fresh axe-core on the page as it is now.
  const once = async (fresh) => {
    if (!window.axe || fresh) { window.__xfLoadAxe(); }
    let changed = false;
    const watch = new MutationObserver(() => { changed = true; });
    watch.observe(document.documentElement, {subtree: true, childList: true});
    const began = Date.now();
    let poll;
    const stuck = new Promise((resolve) => {
      poll = setInterval(() => { if (changed && Date.now() - began > 8000) { resolve(null); } }, 250);
    });
    try {
      return await Promise.race([window.axe.run(document, {resultTypes: ["violations"]}), stuck]);
    } catch (e) {
      if (!changed) { throw e; }
      return null;
    } finally {
      clearInterval(poll);
      watch.disconnect();
    }
  };
  window.__xfCheck = async (when) => {
    let result = await once(false);
    for (let again = 0; !result && again < 2; again += 1) { result = await once(true); }
    if (!result) { throw new Error("the page kept changing while it was checked"); }
    const root = document.documentElement;
    return {
      id: id, when: when, url: location.href,
      violations: result.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + " | " + (n.failureSummary || "").split("\\n").join(" "))
      })),
      scrollWidth: root.scrollWidth, clientWidth: root.clientWidth
    };
  };
  // Once the document is parsed and its style sheets are in (not at "load": a test that moves
  // on before then stops the loading, and "load" never comes).
  const styled = () => new Promise((resolve) => {
    const pending = Array.from(document.querySelectorAll("link[rel=stylesheet]")).filter((l) => !l.sheet);
    let left = pending.length;
    if (!left) { resolve(); return; }
    const one = () => { left -= 1; if (!left) { resolve(); } };
    pending.forEach((l) => { l.addEventListener("load", one); l.addEventListener("error", one); });
    setTimeout(resolve, 5000);
  });
  const run = async () => {
    await styled();
    window.__xfStarted(id);
    let found;
    try { found = await window.__xfCheck("loaded"); }
    catch (e) { found = {id: id, when: "loaded", url: location.href, error: String(e)}; }
    window.__xfReport(JSON.stringify(found));
  };
  document.addEventListener("DOMContentLoaded", () => { setTimeout(run, 0); });
})();
"""


def _axe_loader() -> str:
    return "window.__xfLoadAxe = function () {\n" + AXE_JS.read_text(encoding="utf-8") + "\n};"


@dataclass
class PageChecks:
    base_url: str
    violations: dict[tuple[str, str], str] = field(default_factory=dict)
    overflow: dict[str, str] = field(default_factory=dict)
    csp: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    born: dict[str, str] = field(default_factory=dict)
    started: set[str] = field(default_factory=set)
    reported: set[str] = field(default_factory=set)
    checked_urls: set[str] = field(default_factory=set)
    # Documents left before they were even parsed (a redirect passed through, a test that moved on
    # at once): fine if the same address was checked in another document, a failure otherwise.
    abandoned: set[str] = field(default_factory=set)
    page: object = None

    # ------------------------------------------------------------ wiring

    def install(self, context, page) -> None:
        self.page = page
        # The bindings first: the script below calls them as soon as a document starts.
        context.expose_binding("__xfBorn", lambda _src, doc, url: self.born.setdefault(doc, url))
        context.expose_binding("__xfStarted", lambda _src, doc: self.started.add(doc))
        context.expose_binding("__xfReport", lambda _src, data: self._take(json.loads(data)))
        context.expose_binding("__xfCsp", lambda _src, data: self.csp.append(data))
        # axe-core is compiled in every document but runs only when a check begins: the pages'
        # own scripts are not held up by it.
        context.add_init_script(script=_axe_loader())
        context.add_init_script(script=_IN_EVERY_DOCUMENT % {"base": json.dumps(self.base_url + "/")})
        page.on("console", self._console)
        # Not the static files: they stay cached and fast (a routed request skips the cache).
        context.route(re.compile(r"^(?!.*/static/).*$"), self._route)

    def _console(self, message) -> None:
        text = message.text
        if message.type == "error" and ("Content Security Policy" in text or "Refused to" in text):
            self.csp.append(text)

    def _route(self, route, request) -> None:
        # Leave no document unchecked: a navigation waits until every check has reported.
        if request.is_navigation_request() and request.frame == self.page.main_frame:
            self.wait_for_reports()
        route.fallback()

    # ------------------------------------------------------------ findings

    def _take(self, found: dict) -> None:
        self.reported.add(found["id"])
        self.checked_urls.add(found["url"])
        where = found["url"].removeprefix(self.base_url)
        if "error" in found:
            self.errors.append(f"{where}: axe-core could not run: {found['error']}")
            return
        for v in found["violations"]:
            key = (where, v["id"])
            if key not in self.violations:
                nodes = "\n      ".join(v["nodes"])
                self.violations[key] = f"{where} ({found['when']}): [{v['impact']}] {v['id']}: {v['help']}\n      {nodes}"
        if found["scrollWidth"] > found["clientWidth"]:
            self.overflow.setdefault(
                where, f"{where}: {found['scrollWidth']} px wide in a {found['clientWidth']} px window"
            )

    def pending(self) -> list[str]:
        return [doc for doc in self.born if doc not in self.reported]

    def wait_for_reports(self) -> None:
        """Until every document that began its check has reported; one not yet parsed gets a
        moment to begin (a document left before it is parsed never is: it is set aside)."""
        now = time.monotonic()
        deadline, parse_deadline = now + WAIT_SECONDS, now + PARSE_SECONDS
        while time.monotonic() < deadline:
            running = [doc for doc in self.pending() if doc in self.started]
            unparsed = [doc for doc in self.pending() if doc not in self.started]
            if not running and (not unparsed or time.monotonic() >= parse_deadline):
                break
            self.page.wait_for_timeout(25)
        for doc in self.pending():
            url = self.born[doc]
            if doc in self.started:
                self.errors.append(f"{url.removeprefix(self.base_url)}: axe-core did not finish in {WAIT_SECONDS} s")
            else:
                self.abandoned.add(url)
            self.reported.add(doc)

    def check_now(self) -> dict | None:
        """Check the current document as it is now (the end of a test: the state it was left in)."""
        page = self.page
        if page is None or page.is_closed() or not page.url.startswith(self.base_url):
            return None
        self.wait_for_reports()
        if not page.evaluate("typeof window.__xfCheck === 'function'"):
            return None
        found = page.evaluate("() => window.__xfCheck('as left')")
        self._take(found)
        return found

    def problems(self) -> list[str]:
        out = []
        if self.violations:
            out.append("axe-core violations:\n  " + "\n  ".join(self.violations.values()))
        if self.overflow:
            out.append("pages that scroll sideways:\n  " + "\n  ".join(self.overflow.values()))
        if self.csp:
            out.append("content security policy violations:\n  " + "\n  ".join(map(_short, self.csp)))
        never = sorted(url.removeprefix(self.base_url) for url in self.abandoned - self.checked_urls)
        errors = self.errors + [f"{url}: left before it was parsed, and checked nowhere else" for url in never]
        if errors:
            out.append("pages not checked:\n  " + "\n  ".join(errors))
        return out


def _short(item: str) -> str:
    try:
        data = json.loads(item)
    except ValueError:
        return item
    return ", ".join(f"{k}={v}" for k, v in data.items() if v)
