"""Which Redis the app talks to when REDIS_URL is not set."""

from __future__ import annotations

from notifications import redis_conn
from tests.conftest import configure


def test_a_command_beside_make_run_joins_its_redis(tmp_path, redis_url, monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    runner_dir = tmp_path / "redis"
    runner_dir.mkdir()
    # No runner: nothing to join.
    assert redis_conn.running_url(str(runner_dir)) is None
    # The runner's Redis answers: join it rather than start another one.
    (runner_dir / "url").write_text(redis_url + "\n", encoding="utf-8")
    assert redis_conn.running_url(str(runner_dir)) == redis_url
    assert redis_conn.resolve_url("", str(tmp_path / "private.db"), str(runner_dir)) == redis_url
    # Configured beats both.
    assert (
        redis_conn.resolve_url("redis://127.0.0.1:6379/3", "", str(runner_dir)) == "redis://127.0.0.1:6379/3"
    )


def test_a_stale_runner_file_is_ignored(tmp_path):
    runner_dir = tmp_path / "redis"
    runner_dir.mkdir()
    (runner_dir / "url").write_text(f"unix://{tmp_path / 'gone.sock'}\n", encoding="utf-8")
    assert redis_conn.running_url(str(runner_dir)) is None
    (runner_dir / "url").write_text("not a url\n", encoding="utf-8")
    assert redis_conn.running_url(str(runner_dir)) is None
    assert redis_conn.running_url(None) is None


def test_an_unusable_redis_url_is_a_connection_error_and_filing_goes_on(app, monkeypatch):
    import pytest
    from redis.exceptions import RedisError

    from notifications import queueing
    from tests.handling import file

    with pytest.raises(RedisError):
        redis_conn.connect("")
    configure(app, redis_url="")
    petition, _code = file()  # schedules its clock's jobs after the commit: they wait for the sweep
    assert petition.id is not None and petition.status == "routed"
    assert queueing.schedule_clock(petition.open_clock.id, [petition.open_clock.due_at]) == 0


def test_a_process_that_started_the_embedded_redis_stops_it_when_it_exits(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys; from notifications import redis_conn, queueing;"
        "url = redis_conn.embedded_url(sys.argv[1]);"
        "client = redis_conn.connect(url); client.ping();"  # a second client, as RQ would hold
        "print(url)"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "cli.db")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    url = done.stdout.strip().splitlines()[-1]
    assert url.startswith("unix://")
    # Gone with the process that started it: nothing left running, nothing answering.
    assert redis_conn.running_url(None) is None
    (tmp_path / "url").write_text(url, encoding="utf-8")
    assert redis_conn.running_url(str(tmp_path)) is None
