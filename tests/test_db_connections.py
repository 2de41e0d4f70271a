"""Pooled database connections: checked with a round trip only after lying idle, and a dead
idle one replaced before anyone sees it (PostgreSQL: the server ends it)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from config.settings import Settings
from petitions.extensions import ping_when_idle


def _pid(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT pg_backend_pid()"))


def _terminate(database_url: str, pid: int) -> None:
    killer = create_engine(database_url, poolclass=NullPool)
    with killer.connect() as conn:
        assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    killer.dispose()
    time.sleep(0.2)


@contextmanager
def _one_connection(database_url: str, idle_seconds: float) -> Iterator[tuple[Engine, int]]:
    """A pool of one connection checked after `idle_seconds`, and that connection's server
    process, which the server has just ended."""
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    ping_when_idle(engine, idle_seconds)
    try:
        first = _pid(engine)
        _terminate(database_url, first)
        yield engine, first
    finally:
        engine.dispose()


def test_an_idle_connection_the_server_ended_is_replaced_before_use(postgres, database_url):
    with _one_connection(database_url, 0.1) as (engine, first):
        # Idle longer than 0.1 s: checked, found dead, replaced; the caller sees none of it.
        second = _pid(engine)
        assert second != first
        assert _pid(engine) == second


def test_a_connection_used_a_moment_ago_is_not_checked_and_fails_once_if_dead(postgres, database_url):
    with _one_connection(database_url, 3600) as (engine, first):
        with pytest.raises(OperationalError):
            _pid(engine)
        # The failure drops the pool's connections: the next use gets a live one.
        assert _pid(engine) != first


def test_pings_only_after_the_idle_time(database_url, monkeypatch):
    engine = create_engine(database_url)
    ping_when_idle(engine, 0.2)
    pings = []
    real = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda conn: pings.append(1) or real(conn))
    try:
        for _ in range(3):
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        assert pings == []
        time.sleep(0.25)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert pings == [1]
    finally:
        engine.dispose()


def test_the_idle_time_is_a_setting():
    assert Settings.from_env({"DB_PING_IDLE_SECONDS": "2.5"}).db_ping_idle_seconds == 2.5
    assert Settings.from_env({}).db_ping_idle_seconds == 10.0
    assert Settings.from_env({}).flask_config()["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": False}
