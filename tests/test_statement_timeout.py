"""The web server's last guard: on PostgreSQL no statement of a request runs longer than the
request may (DB_STATEMENT_TIMEOUT, which gunicorn.conf.py sets to its own timeout); a request
whose statement was cancelled so answers 503 with a message, and any other database fault
stays a fault."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from config.settings import Settings
from petitions.extensions import db
from petitions.services import queues
from tests.handling import logged_in

ROOT = Path(__file__).resolve().parents[1]
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/xf"


def _engine_options(**env: str) -> dict:
    return Settings.from_env(env).flask_config()["SQLALCHEMY_ENGINE_OPTIONS"]


def test_the_timeout_is_a_connection_option_on_postgresql_only():
    assert _engine_options(DATABASE_URL=PG, DB_STATEMENT_TIMEOUT="2.5")["connect_args"] == {
        "options": "-c statement_timeout=2500"
    }
    assert "connect_args" not in _engine_options(DATABASE_URL=PG)
    assert "connect_args" not in _engine_options(DATABASE_URL=PG, DB_STATEMENT_TIMEOUT="0")
    assert "connect_args" not in _engine_options(DATABASE_URL="sqlite:///x.db", DB_STATEMENT_TIMEOUT="30")


def test_the_web_server_sets_its_own_timeout_unless_told_otherwise():
    def read(**env: str) -> str:
        environment = {k: v for k, v in os.environ.items() if k not in ("DB_STATEMENT_TIMEOUT", "WEB_TIMEOUT")}
        code = "import os, runpy; runpy.run_path('gunicorn.conf.py'); print(os.environ['DB_STATEMENT_TIMEOUT'])"
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env={**environment, **env}, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    assert read() == "30"
    assert read(WEB_TIMEOUT="17") == "17"
    assert read(WEB_TIMEOUT="17", DB_STATEMENT_TIMEOUT="5") == "5"


def test_a_statement_past_the_timeout_is_cancelled(app, postgres, database_url):
    options = Settings.for_tests(database_url=database_url, db_statement_timeout_seconds=0.2).flask_config()
    engine = create_engine(database_url, **options["SQLALCHEMY_ENGINE_OPTIONS"])
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_sleep(0.01), 1")).one()[1] == 1
            with pytest.raises(OperationalError) as cancelled:
                conn.execute(text("SELECT pg_sleep(2)"))
            assert cancelled.value.orig.sqlstate == "57014"
    finally:
        engine.dispose()


def _slow(*args, **kwargs):
    """A list that takes longer than its connection allows."""
    db.session.execute(text("SET statement_timeout = 20"))
    db.session.execute(text("SELECT pg_sleep(1)"))


def test_a_cancelled_statement_answers_503_with_a_message(app, postgres, client, staff_token, monkeypatch):
    monkeypatch.setattr(queues, "rows_page", _slow)
    monkeypatch.setattr(queues, "keyset_page", _slow)
    try:
        api = client.get("/api/v1/queue?q=噪音", headers={"Authorization": f"Bearer {staff_token('intake')}"})
        assert api.status_code == 503 and api.headers["Retry-After"] == "10"
        assert api.get_json()["error"]["code"] == "timeout"
        assert "查询用时太长" in api.get_json()["error"]["message"]
        page = logged_in(app.test_client(), "intake").get("/staff/queue?q=噪音")
        assert page.status_code == 503
        assert "查询用时太长" in page.get_data(as_text=True)
    finally:
        db.session.remove()
        db.engine.dispose()  # the connections that were told the short timeout


def test_any_other_database_fault_is_not_taken_for_a_timeout(app, client, staff_token, monkeypatch):
    def broken(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, ConnectionError("the server closed the connection"))

    monkeypatch.setattr(queues, "rows_page", broken)
    headers = {"Authorization": f"Bearer {staff_token('intake')}"}
    # The test app lets a fault through to the test (the server would answer 500).
    with pytest.raises(OperationalError):
        client.get("/api/v1/queue", headers=headers)
