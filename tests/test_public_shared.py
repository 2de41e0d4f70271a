"""The public figures shared by every process through Redis (petitions.measures.shared):
computed once under concurrent misses, read by another app from Redis, refreshed by the
scheduled job, stale values served while one process computes them anew, and forgotten on
invalidation."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

from notifications import jobs
from petitions.measures import shared, stats
from tests.conftest import configure
from tests.handling import file


def _in_threads(app, count: int, fn) -> list:
    results: list = [None] * count
    start = threading.Barrier(count)

    def run(i: int) -> None:
        with app.app_context():
            start.wait()
            results[i] = fn()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_concurrent_misses_compute_once_and_the_others_wait_for_it(app):
    calls = []

    def compute():
        calls.append(1)
        time.sleep(0.4)
        return {"n": len(calls)}

    results = _in_threads(app, 8, lambda: shared.cached("test:once", compute))
    assert len(calls) == 1
    assert results == [{"n": 1}] * 8


def test_a_waiter_computes_for_itself_when_the_lock_holder_gives_up(app, redis):
    configure(app, public_wait_seconds=5.0)
    redis.set(shared.PREFIX + "test:orphan" + shared.LOCK_SUFFIX, "someone", px=300)
    began = time.monotonic()
    assert shared.cached("test:orphan", lambda: "mine") == "mine"
    # It waited for the other holder's lock to lapse, not for the whole wait.
    assert 0.25 < time.monotonic() - began < 3


def test_another_app_reads_the_figures_from_redis_without_computing(app, monkeypatch):
    from app import create_app

    period = stats.current_period()
    file(title="路灯不亮")
    shared.refresh_hot()  # the scheduled job, in this app
    first = shared.measures(period)
    assert first["total"]["received"] >= 1

    other = create_app(app.extensions["settings"])

    def fails(*args, **kwargs):
        raise AssertionError("computed again")

    monkeypatch.setattr(stats, "unit_measures", fails)
    with other.app_context():
        shared.clear_local()
        assert shared.measures(period) == first
        page = other.test_client().get("/public/")
        assert page.status_code == 200
        stats_api = other.test_client().get(f"/api/v1/stats/units?period={period.label}")
        assert stats_api.status_code == 200 and stats_api.get_json()["total"] == first["total"]


def test_the_scheduled_job_refreshes_the_figures(app):
    period = stats.current_period()
    before = shared.measures(period)["total"]["received"]
    file(title="路灯不亮")
    # Still the stored figures until the job runs: no visitor computes them.
    shared.clear_local()
    assert shared.measures(period)["total"]["received"] == before
    done = jobs.refresh_public_measures()
    assert period.label in done and stats.current_period("year").label in done
    assert shared.measures(period)["total"]["received"] == before + 1
    assert shared.trend()["totals"][-1]["received"] == before + 1


def test_a_stale_value_is_served_while_one_process_computes_it_anew(app, redis):
    settings = app.extensions["settings"]
    configure(app, public_cache_seconds=0, schedule=replace(settings.schedule, refresh_public_measures=0))
    shared.cached("test:stale", lambda: "old")
    # Stale now; another process holds the lock (it is computing): the old value is served.
    lock = shared.PREFIX + "test:stale" + shared.LOCK_SUFFIX
    redis.set(lock, "other", px=10_000)
    assert shared.cached("test:stale", lambda: "new") == "old"
    # No one holds it: this reader computes it anew.
    redis.delete(lock)
    assert shared.cached("test:stale", lambda: "new") == "new"


def test_values_expire_from_redis_and_invalidation_forgets_them(app, redis):
    shared.cached("test:gone", lambda: 1)
    ttl = redis.ttl(shared.PREFIX + "test:gone")
    assert 0 < ttl <= app.extensions["settings"].public_shared_seconds
    assert shared.invalidate() >= 1
    assert redis.get(shared.PREFIX + "test:gone") is None
    assert shared.cached("test:gone", lambda: 2) == 2


def test_without_redis_each_process_computes_for_itself(app):
    configure(app, redis_url="redis://127.0.0.1:1/0")
    assert shared.cached("test:noredis", lambda: "here") == "here"
