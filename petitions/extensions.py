"""Flask extensions, created once and bound to the app in create_app()."""

from __future__ import annotations

import re
import time
from functools import lru_cache

from flask import current_app, has_request_context, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as _Session
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.exc import DisconnectionError

from config.settings import Settings

# Stable constraint names so that Alembic migrations agree on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Requests that only read (RFC 9110's safe methods).
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# The engine a request that only reads takes its connection from, by the app's engine
# (reads_without_transaction; one per app, which lives as long as the process).
_reads: dict[Engine, Engine] = {}


class Session(_Session):
    """The app's session: a request that only reads (READ_METHODS) takes its connection from
    the engine that `reads_without_transaction` made for it, where there is one."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        engine = super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        if _reads and isinstance(engine, Engine) and has_request_context() and request.method in READ_METHODS:
            return _reads.get(engine, engine)
        return engine


db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING), session_options={"class_": Session})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def settings() -> Settings:
    """The settings of the running app (built in create_app), read at call time."""
    return current_app.extensions["settings"]


# A statement that reads and holds nothing: a SELECT that neither locks rows nor takes an
# advisory lock (which in autocommit would be let go at once).
_PLAIN_READ = re.compile(r"\s*SELECT\b", re.IGNORECASE)
_HOLDS = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+|KEY\s+)?(?:UPDATE|SHARE)\b|\bpg_advisory", re.IGNORECASE)


@lru_cache(maxsize=2048)
def needs_transaction(statement: str) -> bool:
    """Whether `statement` writes or holds a lock, so that it must run inside a transaction."""
    return not _PLAIN_READ.match(statement) or _HOLDS.search(statement) is not None


def reads_without_transaction(engine: Engine) -> None:
    """On PostgreSQL, a request that only reads runs its statements in autocommit: without the
    BEGIN before them and the ROLLBACK after, two round trips of the four of a look-up. Under
    READ COMMITTED each statement sees the data as of its own start either way, so a reader
    sees nothing different. Should such a request write after all (a query code rehashed on
    its first use, a row shown once), lock, or stream its rows through a cursor on the server,
    its connection opens a transaction just before that statement, which then commits or rolls
    back as any other."""
    if engine.dialect.name != "postgresql":
        return
    from psycopg import ServerCursor

    _reads[engine] = engine.execution_options(isolation_level="AUTOCOMMIT", petitions_reads=True)

    @event.listens_for(engine, "before_cursor_execute")
    def _begin_before_a_write(conn, cursor, statement, parameters, context, executemany) -> None:
        dbapi_connection = cursor.connection
        if (
            dbapi_connection.autocommit
            and conn.get_execution_options().get("petitions_reads")
            # A streamed read (an export) declares a cursor on the server, which lives in a
            # transaction.
            and (needs_transaction(statement) or isinstance(cursor, ServerCursor))
        ):
            # psycopg sends BEGIN before the next statement, this one.
            dbapi_connection.autocommit = False


def ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Check a pooled connection with a round trip only when it has lain idle `idle_seconds` or
    more (a server restart or a firewall's idle timeout happens then), instead of before every
    request; a dead one is replaced before the request sees it. A connection that dies while in
    use fails that request, and the pool then drops every connection made before the failure."""

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, proxy) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("the connection was found dead after lying idle") from exc
