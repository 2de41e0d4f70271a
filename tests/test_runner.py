"""The runner stops what it started, work horses included (they put themselves in a process
group of their own, as RQ's do, so a signal to the worker's group does not reach them)."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from ops import runner

# A parent that forks a child into a group of its own, as RQ's worker forks its work horse;
# the parent dies on SIGTERM, the child would sleep on.
FAMILY = """
import os, sys, time
pid = os.fork()
if pid == 0:
    os.setpgrp()
    time.sleep(300)
    os._exit(0)
open(sys.argv[1], "w").write(str(pid))
time.sleep(300)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: it only waits for its parent to read its status.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_stopping_a_child_stops_what_it_forked_into_another_group(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "STOP_GRACE_SECONDS", 2.0)
    pid_file = tmp_path / "horse.pid"
    child = runner.Child("family", [sys.executable, "-c", FAMILY, str(pid_file)])
    runner._start(child, dict(os.environ))
    for _ in range(100):
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.05)
    horse = int(pid_file.read_text())
    assert horse in runner.descendants(child.proc.pid)
    assert os.getpgid(horse) != os.getpgid(child.proc.pid)
    assert _alive(horse)
    runner._stop(child)
    for _ in range(50):
        if not _alive(horse):
            break
        time.sleep(0.1)
    assert child.proc.poll() is not None
    assert not _alive(horse)


def test_a_signal_to_the_group_alone_would_leave_the_horse(tmp_path):
    """What the runner guards against, shown plainly: killing the group misses the horse."""
    pid_file = tmp_path / "horse.pid"
    child = runner.Child("family", [sys.executable, "-c", FAMILY, str(pid_file)])
    runner._start(child, dict(os.environ))
    for _ in range(100):
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.05)
    horse = int(pid_file.read_text())
    os.killpg(child.proc.pid, signal.SIGKILL)
    child.proc.wait()
    time.sleep(0.2)
    try:
        assert _alive(horse)
    finally:
        os.kill(horse, signal.SIGKILL)
