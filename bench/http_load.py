"""HTTP load: the app under gunicorn as `make run` starts it, driven over keep-alive connections.

    python bench/http_load.py [--threads 8] [--seconds 15] [--scenarios a,b,c,d,e | a,c1]
                              [--database postgresql+psycopg://...] [--petitions N] [--quick]

The app is started with gunicorn.conf.py ('app:create_app()', the same worker class,
workers and threads as `make run`; WEB_WORKERS and WEB_THREADS, or --workers and
--web-threads, change them) on PostgreSQL and Redis, with the rate limits off. Without
--database a scratch database is created on --server and dropped afterwards; either way
the app's own `flask db upgrade` and `flask seed-demo` run first, and --petitions N adds a
data set through `bench/gen.py --n N --fast --seed 0.42`. A minimal Flask JSON endpoint
(bench/ceiling_app.py) runs beside it under the same settings: before each scenario the
same client code drives it for as long, and each scenario's throughput is given as a share
of that ceiling, so that figures taken on a busy machine can still be compared. Each row is
first driven for --warmup seconds that are not counted (2), so that what is measured is the
steady state, not the first statements of each worker and thread.

Scenarios (each a few rows of the table):
  a  filing through the API: POST /api/v1/petitions
  b  the citizen's look-up: GET /api/v1/petitions/{no}?code=... of its own filings, and of
     the data set's petitions when there are any (their code is 00000000)
  c  queues: a unit handler's (dongcheng-handler), the intake officer's, and the intake
     officer's with a text search (q=); and the intake officer's web page /staff/intake
  d  the staff view of a petition: GET /api/v1/petitions/{no} with a token, and the page
     /staff/petitions/{no} with a logged-in session
  e  the public page /public/ and a month of GET /api/v1/stats/units

Every filing answered 201 is looked for in the database at the end. Prints a table (rows
per scenario: requests, throughput, latency percentiles, errors per status, ceiling and
ratio), the load average before and after, and the command line.

This file is not named http.py: in bench/ that name would hide the standard library's
`http` package from every script run there (they start with bench/ on sys.path).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CONF = ROOT / "gunicorn.conf.py"
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
DEMO_PASSWORD = "petition-demo"
GEN_SEED = "0.42"
GENERATED_CODE = "00000000"  # every query code of bench/gen.py's petitions
STOP_GRACE_SECONDS = 10.0
# Words of the filed petitions; one in ten is about noise, which the text search looks for.
SEARCH_DEFAULT = "噪音"
TOPICS = ("噪音扰民", "道路破损", "路灯不亮", "垃圾清运", "停车难", "供水不稳")


# ---------------------------------------------------------------- the client


class Client:
    """One keep-alive HTTP/1.1 connection (http.client), reopened when the server closed it."""

    def __init__(self, port: int, timeout: float):
        self.port = port
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        """(status, body, response headers); raises on a failure that a new connection does not cure."""
        for attempt in (1, 2):
            fresh = self.conn is None
            if fresh:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                response = self.conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if fresh or attempt == 2:
                    raise
                continue  # the server closed an idle kept-alive connection: once more, on a new one
            except Exception:
                self.close()
                raise
            if response.will_close:
                self.close()
            return response.status, data, response.headers
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


@dataclass
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: dict = field(default_factory=dict)


@dataclass
class Row:
    """One line of the table: a kind of request, made anew for each call."""

    key: str
    label: str
    make: Callable[[random.Random], Request]
    on_answer: Callable[[int, bytes], None] | None = None  # e.g. to keep what a filing returned


@dataclass
class Result:
    latencies: list[float]
    statuses: Counter
    exceptions: Counter
    wall: float
    first: float
    error_sample: str = ""

    @property
    def requests(self) -> int:
        return len(self.latencies) + sum(self.exceptions.values())

    @property
    def errors(self) -> int:
        bad = sum(n for status, n in self.statuses.items() if not 200 <= status < 300)
        return bad + sum(self.exceptions.values())

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall if self.wall > 0 else 0.0


def drive(port: int, row: Row, threads: int, seconds: float, timeout: float, seed: int) -> Result:
    """`threads` clients call `row` back to back for `seconds`; requests under way are waited for."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    statuses = [Counter() for _ in range(threads)]
    exceptions = [Counter() for _ in range(threads)]
    samples: list[str] = []
    finished = [0.0] * threads
    barrier = threading.Barrier(threads + 1)
    start = [0.0]

    def work(i: int) -> None:
        rng = random.Random(seed * 1000 + i)
        client = Client(port, timeout)
        barrier.wait()
        deadline = start[0] + seconds
        try:
            while time.perf_counter() < deadline:
                req = row.make(rng)
                t0 = time.perf_counter()
                try:
                    status, body, _headers = client.request(req.method, req.path, req.body, req.headers)
                except Exception as exc:  # counted, and the client goes on
                    exceptions[i][type(exc).__name__] += 1
                    if not samples:
                        samples.append(f"{type(exc).__name__}: {exc}")
                    continue
                latencies[i].append(time.perf_counter() - t0)
                statuses[i][status] += 1
                if not 200 <= status < 300 and not samples:
                    samples.append(f"{status} {req.method} {req.path}: {body[:200].decode(errors='replace')}")
                if row.on_answer is not None:
                    row.on_answer(status, body)
        finally:
            finished[i] = time.perf_counter()
            client.close()

    workers = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(threads)]
    for w in workers:
        w.start()
    start[0] = time.perf_counter()
    barrier.wait()
    for w in workers:
        w.join()
    wall = max(finished) - start[0]
    firsts = [lat[0] for lat in latencies if lat]
    return Result(
        latencies=sorted(x for lat in latencies for x in lat),
        statuses=sum(statuses, Counter()),
        exceptions=sum(exceptions, Counter()),
        wall=wall,
        first=max(firsts) if firsts else 0.0,
        error_sample=samples[0] if samples else "",
    )


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


# ---------------------------------------------------------------- servers


def _own_group_dying_with_parent() -> None:
    """In the child before exec: its own process group, and SIGTERM if this process dies."""
    os.setsid()
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn -c gunicorn.conf.py APP on PORT, in its own process group."""

    def __init__(self, name: str, app: str, env: dict[str, str], log_dir: Path):
        self.name = name
        self.port = free_port()
        self.log = log_dir / f"{name}.log"
        self.argv = [str(BIN / "gunicorn"), "-c", str(CONF), app]
        self.env = {**env, "PORT": str(self.port)}
        self.proc: subprocess.Popen | None = None

    def start(self, probe: str, timeout: float = 90.0) -> None:
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_own_group_dying_with_parent,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with code {self.proc.returncode}:\n{self.tail()}")
            try:
                status, _body, _h = Client(self.port, 5).request("GET", probe)
                if status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not answer on port {self.port}:\n{self.tail()}")
            time.sleep(0.2)

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM the process group, wait, then SIGKILL what is left (the workers too)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(STOP_GRACE_SECONDS)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.proc = None


def gunicorn_settings() -> dict:
    """What gunicorn.conf.py makes of the current environment (workers, threads, ...)."""
    import runpy

    values = runpy.run_path(str(CONF))
    return {k: values[k] for k in ("workers", "threads", "worker_class", "timeout") if k in values}


# ---------------------------------------------------------------- the database and Redis


def sql_engine(url: str):
    from sqlalchemy import create_engine

    return create_engine(url, isolation_level="AUTOCOMMIT", pool_size=1)


def app_env(database: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment the app's processes run in for a benchmark: this database and Redis,
    rate limits off, this checkout on the path; `extra` adds or overrides settings."""
    env = dict(os.environ)
    env.update(
        FLASK_APP="app",
        DATABASE_URL=database,
        REDIS_URL=redis_url,
        RATELIMIT_ENABLED="false",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        **extra,
    )
    return env


def prepare(env: dict[str, str]) -> None:
    """Migrate and load the demo county, as `make run` does (both do nothing when done)."""
    run_step("migrate", [str(BIN / "flask"), "db", "upgrade"], env)
    run_step("demo county", [str(BIN / "flask"), "seed-demo"], env)


def run_step(label: str, argv: list[str], env: dict[str, str]) -> None:
    print(f"{label}: {' '.join(argv)}", flush=True)
    t0 = time.perf_counter()
    done = subprocess.run(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    if done.returncode != 0:
        print(done.stdout, file=sys.stderr)
        raise RuntimeError(f"{label} failed with code {done.returncode}")
    last = [line for line in done.stdout.splitlines() if line.strip()][-1:]
    print(f"  {time.perf_counter() - t0:.1f}s {last[0] if last else ''}", flush=True)


def flush_redis(url: str) -> None:
    """FLUSHDB on the one database of `url` (never FLUSHALL)."""
    from redis import Redis

    client = Redis.from_url(url, socket_connect_timeout=3)
    client.flushdb()
    client.close()


# ---------------------------------------------------------------- the rows


class Context:
    """What the rows need: codes, tokens, a session cookie, and petitions to look at."""

    def __init__(self, port: int, timeout: float, search: str, period: str):
        self.port = port
        self.client = Client(port, timeout)
        self.search = search
        self.period = period
        self.categories: list[dict] = []
        self.places: list[str] = []
        self.tokens: dict[str, str] = {}
        self.cookie = ""
        self.filed: list[tuple[str, str]] = []  # (tracking_no, query_code) of every 201
        self.filed_lock = threading.Lock()
        self.generated: list[str] = []
        self.counter = 0

    def get_json(self, path: str, headers: dict | None = None):
        status, body, _h = self.client.request("GET", path, headers=headers)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {body[:300]!r}")
        return json.loads(body)

    def load_codes(self) -> None:
        def leaves(nodes):
            for node in nodes:
                if node.get("selectable"):
                    yield node
                yield from leaves(node.get("children", []))

        self.categories = list(leaves(self.get_json("/api/v1/categories")["categories"]))
        units = self.get_json("/api/v1/units")["units"]
        self.places = [u["code"] for u in units if u["kind"] in ("township", "committee")]
        if not self.categories or not self.places:
            raise RuntimeError("no selectable category or no township: is the demo county loaded?")

    def token(self, username: str) -> str:
        body = json.dumps({"username": username, "password": DEMO_PASSWORD}).encode()
        status, data, _h = self.client.request(
            "POST", "/api/v1/tokens", body, {"Content-Type": "application/json"}
        )
        if status != 201:
            raise RuntimeError(f"token for {username}: {status} {data[:300]!r}")
        self.tokens[username] = json.loads(data)["token"]
        return self.tokens[username]

    def log_in(self, username: str) -> None:
        """A staff session through the web log-in form (CSRF token and cookie)."""
        status, body, headers = self.client.request("GET", "/login")
        match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body)
        if status != 200 or match is None:
            raise RuntimeError(f"GET /login: {status}, no CSRF token")
        cookie = _cookies(headers)
        form = urllib.parse.urlencode(
            {"csrf_token": match.group(1).decode(), "username": username, "password": DEMO_PASSWORD}
        ).encode()
        status, body, headers = self.client.request(
            "POST",
            "/login",
            form,
            {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
        )
        if status != 302:
            raise RuntimeError(f"POST /login as {username}: {status} {body[:200]!r}")
        self.cookie = _cookies(headers) or cookie

    def filing_body(self, rng: random.Random) -> bytes:
        category = rng.choice(self.categories)
        place = rng.choice(self.places)
        with self.filed_lock:
            self.counter += 1
            n = self.counter
        topic = TOPICS[n % 10] if n % 10 < len(TOPICS) else "其他问题"
        anonymous = bool(category.get("allows_anonymous")) and rng.random() < 0.3
        body = {
            "title": f"关于{place}小区{n % 50}号楼{topic}的反映",
            "content": f"本人反映的{topic}问题已持续较长时间，影响周边居民正常生活，恳请有关部门尽快核实处理。"
            * 3,
            "category": category["code"],
            "township": place,
            "anonymous": anonymous,
            "public_consent": rng.random() < 0.3,
        }
        if not anonymous:
            body["contact"] = {"name": "张三", "phone": f"139{rng.randrange(10**8):08d}"}
        return json.dumps(body, ensure_ascii=False).encode()

    def keep_filing(self, status: int, body: bytes) -> None:
        if status == 201:
            answer = json.loads(body)
            with self.filed_lock:
                self.filed.append((answer["tracking_no"], answer["query_code"]))

    def file_some(self, n: int) -> None:
        rng = random.Random(7)
        for _ in range(n):
            status, body, _h = self.client.request(
                "POST", "/api/v1/petitions", self.filing_body(rng), {"Content-Type": "application/json"}
            )
            if status != 201:
                raise RuntimeError(f"POST /api/v1/petitions: {status} {body[:300]!r}")
            self.keep_filing(status, body)

    def targets(self) -> list[str]:
        """Petitions for the staff views: the data set's when there is one, else its own filings."""
        return self.generated or [no for no, _code in self.filed]


def _cookies(headers) -> str:
    pairs = [value.split(";", 1)[0] for value in headers.get_all("Set-Cookie") or []]
    return "; ".join(pairs)


def rows_for(scenario: str, ctx: Context) -> list[Row]:
    json_headers = {"Content-Type": "application/json"}

    def bearer(username: str) -> dict:
        return {"Authorization": f"Bearer {ctx.tokens[username]}"}

    if scenario == "a":
        return [
            Row(
                "a",
                "filing: POST /api/v1/petitions",
                lambda rng: Request("POST", "/api/v1/petitions", ctx.filing_body(rng), json_headers),
                ctx.keep_filing,
            )
        ]
    if scenario == "b":
        with ctx.filed_lock:
            own = list(ctx.filed)
        rows = [
            Row(
                "b1",
                "look-up of its own filings: GET /api/v1/petitions/{no}?code=",
                lambda rng: Request("GET", "/api/v1/petitions/{}?code={}".format(*rng.choice(own))),
            )
        ]
        if ctx.generated:
            gen = ctx.generated
            rows.append(
                Row(
                    "b2",
                    "look-up of generated petitions: GET /api/v1/petitions/{no}?code=",
                    lambda rng: Request("GET", f"/api/v1/petitions/{rng.choice(gen)}?code={GENERATED_CODE}"),
                )
            )
        return rows
    if scenario == "c":
        q = urllib.parse.quote(ctx.search)
        return [
            Row(
                "c1",
                "handler's queue (dongcheng-handler): GET /api/v1/queue",
                lambda rng: Request("GET", "/api/v1/queue", headers=bearer("dongcheng-handler")),
            ),
            Row(
                "c2",
                "intake queue (intake): GET /api/v1/queue",
                lambda rng: Request("GET", "/api/v1/queue", headers=bearer("intake")),
            ),
            Row(
                "c3",
                f"intake queue, text search: GET /api/v1/queue?q={ctx.search}",
                lambda rng: Request("GET", f"/api/v1/queue?q={q}", headers=bearer("intake")),
            ),
            Row(
                "c4",
                "intake's page (intake session): GET /staff/intake",
                lambda rng: Request("GET", "/staff/intake", headers={"Cookie": ctx.cookie}),
            ),
        ]
    if scenario == "d":
        targets = ctx.targets()
        return [
            Row(
                "d1",
                "staff view (intake token): GET /api/v1/petitions/{no}",
                lambda rng: Request(
                    "GET", f"/api/v1/petitions/{rng.choice(targets)}", headers=bearer("intake")
                ),
            ),
            Row(
                "d2",
                "staff page (intake session): GET /staff/petitions/{no}",
                lambda rng: Request(
                    "GET", f"/staff/petitions/{rng.choice(targets)}", headers={"Cookie": ctx.cookie}
                ),
            ),
        ]
    if scenario == "e":
        return [
            Row("e1", "public page: GET /public/", lambda rng: Request("GET", "/public/")),
            Row(
                "e2",
                f"stats of a month: GET /api/v1/stats/units?period={ctx.period}",
                lambda rng: Request("GET", f"/api/v1/stats/units?period={ctx.period}"),
            ),
        ]
    raise ValueError(scenario)


CEILING = Row("ceiling", "minimal Flask JSON endpoint: GET /ping", lambda rng: Request("GET", "/ping"))


# ---------------------------------------------------------------- main


def previous_month(timezone: str) -> str:
    today = datetime.now(ZoneInfo(timezone)).date()
    last = today.replace(day=1) - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}" if seconds >= 0.1 else f"{seconds * 1000:,.1f}"


def error_text(result: Result) -> str:
    parts = [f"{status}: {n}" for status, n in sorted(result.statuses.items()) if not 200 <= status < 300]
    parts += [f"{name}: {n}" for name, n in sorted(result.exceptions.items())]
    return f"{result.errors} ({', '.join(parts)})" if parts else "0"


def print_table(lines: list[tuple[Row, Result, Result]]) -> None:
    header = (
        "| row | what | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | slowest first ms "
        "| errors | ceiling req/s | ratio |"
    )
    print(header)
    print("|" + " --- |" * header.count(" |"))
    for row, res, ceiling in lines:
        lat = res.latencies
        print(
            f"| {row.key} | {row.label} | {res.requests:,} | {res.throughput:,.1f} "
            f"| {ms(percentile(lat, 0.50))} | {ms(percentile(lat, 0.95))} | {ms(percentile(lat, 0.99))} "
            f"| {ms(lat[-1]) if lat else '-'} | {ms(res.first)} | {error_text(res)} "
            f"| {ceiling.throughput:,.0f} | {res.throughput / ceiling.throughput:.4f} |"
        )


def print_comparison(compared: list[tuple[Row, str, list[Result], list[Result]]]) -> None:
    """Per row and setting: all rounds pooled; throughput as the median of the rounds."""
    header = (
        "| row | setting | requests | req/s (median of rounds) | p50 ms | p95 ms | p99 ms | errors "
        "| ratio to ceiling (median) | ratio to the first setting (median) |"
    )
    print(header)
    print("|" + " --- |" * header.count(" |"))
    first: dict[str, list[Result]] = {}
    for row, name, runs, ceilings in compared:
        first.setdefault(row.key, runs)
        pooled = sorted(x for r in runs for x in r.latencies)
        errors = Result(
            [], sum((r.statuses for r in runs), Counter()), sum((r.exceptions for r in runs), Counter()), 0, 0
        )
        to_ceiling = statistics.median(
            r.throughput / c.throughput for r, c in zip(runs, ceilings, strict=True)
        )
        to_first = statistics.median(
            r.throughput / f.throughput if f.throughput else float("nan")
            for r, f in zip(runs, first[row.key], strict=True)
        )
        print(
            f"| {row.key} | {name} | {sum(r.requests for r in runs):,} "
            f"| {statistics.median(r.throughput for r in runs):,.1f} "
            f"| {ms(percentile(pooled, 0.50))} | {ms(percentile(pooled, 0.95))} | {ms(percentile(pooled, 0.99))} "
            f"| {error_text(errors)} | {to_ceiling:.4f} | {to_first:.2f} |"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--seconds", type=float, default=15, help="seconds per scenario row and ceiling")
    parser.add_argument(
        "--warmup",
        type=float,
        default=2,
        help="seconds each row runs before it is measured, not counted (every worker and thread "
        "has then made its statements and filled its caches; default 2)",
    )
    parser.add_argument(
        "--scenarios", default="a,b,c,d,e", help="which of a,b,c,d,e (default all), or rows such as c1"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 s each, 2 client threads")
    parser.add_argument("--database", default="", help="an existing PostgreSQL database (else a scratch one)")
    parser.add_argument("--server", default=DEFAULT_SERVER, help="where to create the scratch database")
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="Redis database, flushed before and after")
    parser.add_argument("--petitions", type=int, default=0, help="first add N petitions with bench/gen.py")
    parser.add_argument("--workers", type=int, help="gunicorn workers (WEB_WORKERS; gunicorn.conf.py)")
    parser.add_argument("--web-threads", type=int, help="gunicorn threads per worker (WEB_THREADS)")
    parser.add_argument(
        "--search", default=SEARCH_DEFAULT, help=f"text of the queue search (default {SEARCH_DEFAULT})"
    )
    parser.add_argument("--period", default="", help="month of the stats API (default: last month)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds one request may take")
    parser.add_argument(
        "--compare",
        default="",
        help="gunicorn settings to compare, WORKERSxTHREADS, e.g. 2x2,3x2,4x1: one server each, taken in turn",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="with --compare: turns of every setting per row"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.threads, args.warmup = 3, 2, min(args.warmup, 0.5)
    # A scenario's letter runs all its rows; a row's key (c1) runs that row alone.
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in scenarios if not re.fullmatch(r"[a-e][0-9]?", s)]
    if unknown or not scenarios:
        parser.error(f"--scenarios takes a,b,c,d,e or rows such as c1; not {', '.join(unknown) or 'nothing'}")
    if args.database and not args.database.startswith("postgresql"):
        parser.error("this benchmark is for PostgreSQL: --database postgresql+psycopg://...")
    compare = [tuple(int(n) for n in x.split("x")) for x in args.compare.split(",") if x.strip()]
    if args.compare and not all(len(c) == 2 and min(c) > 0 for c in compare):
        parser.error("--compare takes WORKERSxTHREADS settings, e.g. 2x2,3x2,4x1")
    if args.workers:
        os.environ["WEB_WORKERS"] = str(args.workers)
    if args.web_threads:
        os.environ["WEB_THREADS"] = str(args.web_threads)

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    load_before = load()
    settings = gunicorn_settings()
    period = args.period or previous_month(os.environ.get("TIMEZONE", "Asia/Shanghai"))
    servers: list[Server] = []
    scratch = None
    admin = None
    database = args.database

    def on_term(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    log_dir = Path(tempfile.mkdtemp(prefix="xf-http-bench-"))
    lines: list[tuple[Row, Result, Result]] = []
    completed = False
    try:
        if not database:
            scratch = f"xf_bench_http_{os.getpid()}"
            admin = sql_engine(args.server)
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{scratch}"'))
            database = make_url(args.server).set(database=scratch).render_as_string(hide_password=False)
        shown_db = make_url(database).render_as_string(hide_password=True)
        print(f"database: {shown_db}{'  (scratch, dropped afterwards)' if scratch else ''}", flush=True)
        flush_redis(args.redis)

        env = app_env(database, args.redis)
        prepare(env)
        if args.petitions:
            run_step(
                f"data set of {args.petitions:,} petitions",
                [
                    str(BIN / "python"),
                    str(ROOT / "bench" / "gen.py"),
                    "--database",
                    database,
                    "--n",
                    str(args.petitions),
                    "--fast",
                    "--seed",
                    GEN_SEED,
                ],
                env,
            )

        # The public figures, as `flask cron`'s job leaves them in Redis (it runs on start, then
        # every few minutes): visitors read them, they never compute them.
        run_step("public figures", [str(BIN / "flask"), "refresh-public-measures"], env)

        db = sql_engine(database)
        with db.connect() as conn:
            petitions_before = conn.execute(text("SELECT count(*) FROM petitions")).scalar_one()
            # A sample of the data set's petitions (block sample: no full scan of a big table).
            generated = list(
                conn.execute(
                    text(
                        "SELECT tracking_no FROM petitions TABLESAMPLE SYSTEM (1) REPEATABLE (42) "
                        "WHERE tracking_no LIKE 'XB%' LIMIT 500"
                    )
                ).scalars()
            )
        print(f"petitions in the database: {petitions_before:,}", flush=True)

        if compare:
            candidates = {
                f"{w}x{t}": Server(
                    f"app-{w}x{t}",
                    "app:create_app()",
                    {**env, "WEB_WORKERS": str(w), "WEB_THREADS": str(t)},
                    log_dir,
                )
                for w, t in compare
            }
        else:
            candidates = {"": Server("app", "app:create_app()", env, log_dir)}
        app_server = next(iter(candidates.values()))
        ceiling_server = Server("ceiling", "bench.ceiling_app:app", env, log_dir)
        servers += [*candidates.values(), ceiling_server]
        t0 = time.perf_counter()
        for server in candidates.values():
            server.start("/api/v1/units")
        ceiling_server.start("/ping")
        print(
            f"gunicorn -c gunicorn.conf.py: {settings.get('workers')} workers x {settings.get('threads')} "
            f"threads ({settings.get('worker_class')}); app on port {app_server.port}, ceiling on port "
            f"{ceiling_server.port}; up in {time.perf_counter() - t0:.1f}s",
            flush=True,
        )
        if compare:
            print("compared: " + ", ".join(f"{name} on port {sv.port}" for name, sv in candidates.items()))

        ctx = Context(app_server.port, args.timeout, args.search, period)
        ctx.load_codes()
        ctx.generated = generated
        ctx.token("dongcheng-handler")
        ctx.token("intake")
        ctx.log_in("intake")
        # Petitions of its own to look up even when scenario a is not run; also a warm-up.
        ctx.file_some(10)
        ctx.client.close()

        if compare:
            # Every server warmed up the same way (the first one was, by the set-up above).
            for server in list(candidates.values())[1:]:
                for path in ("/api/v1/categories", "/api/v1/units"):
                    Client(server.port, args.timeout).request("GET", path)

        def selected():
            # Made when their turn comes: the look-ups use the filings made before them.
            for scenario in scenarios:
                for row in rows_for(scenario[0], ctx):
                    if len(scenario) == 1 or row.key == scenario:
                        yield row

        compared: list[tuple[Row, str, list[Result], list[Result]]] = []
        seed = 1
        for row in selected() if compare else []:
            runs: dict[str, list[Result]] = {name: [] for name in candidates}
            ceilings: list[Result] = []
            for turn in range(args.rounds):
                seed += 1
                ceilings.append(
                    drive(ceiling_server.port, CEILING, args.threads, args.seconds, args.timeout, seed)
                )
                names = list(candidates)
                # Each round starts with another setting: no setting always follows the ceiling.
                for name in names[turn % len(names) :] + names[: turn % len(names)]:
                    if turn == 0 and args.warmup > 0:
                        drive(candidates[name].port, row, args.threads, args.warmup, args.timeout, seed)
                    result = drive(candidates[name].port, row, args.threads, args.seconds, args.timeout, seed)
                    runs[name].append(result)
                    print(
                        f"  {row.key:<3} round {turn + 1} {name:<5} {result.throughput:>8,.1f}/s  "
                        f"p50 {ms(percentile(result.latencies, 0.5))} ms  errors {error_text(result)}  "
                        f"ceiling {ceilings[-1].throughput:,.0f}/s  (load {load()})",
                        flush=True,
                    )
            for name in candidates:
                compared.append((row, name, runs[name], ceilings))
        for row in [] if compare else selected():
            seed += 1
            ceiling = drive(ceiling_server.port, CEILING, args.threads, args.seconds, args.timeout, seed)
            if args.warmup > 0:
                drive(app_server.port, row, args.threads, args.warmup, args.timeout, seed)
            result = drive(app_server.port, row, args.threads, args.seconds, args.timeout, seed)
            lines.append((row, result, ceiling))
            lat = result.latencies
            print(
                f"  {row.key:<3} {result.requests:>7,} requests  {result.throughput:>8,.1f}/s  "
                f"p50 {ms(percentile(lat, 0.5))} ms  p99 {ms(percentile(lat, 0.99))} ms  "
                f"errors {error_text(result)}  ceiling {ceiling.throughput:,.0f}/s  "
                f"ratio {result.throughput / ceiling.throughput:.4f}  (load {load()})",
                flush=True,
            )
            if result.error_sample:
                print(f"      first error: {result.error_sample}", flush=True)

        for server in servers:
            server.stop()
        # Every filing answered 201 must be a petition in the database.
        numbers = [no for no, _code in ctx.filed]
        with db.connect() as conn:
            found = conn.execute(
                text("SELECT count(*) FROM petitions WHERE tracking_no = ANY(CAST(:numbers AS text[]))"),
                {"numbers": numbers},
            ).scalar_one()
            # The search reads and sorts every petition it matches: how many it matched at the end.
            like = "%" + args.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            matched = conn.execute(
                text(
                    "SELECT count(*) FROM petitions WHERE tracking_no ILIKE :like OR title ILIKE :like "
                    "OR content ILIKE :like"
                ),
                {"like": like},
            ).scalar_one()
        db.dispose()
        completed = True
    finally:
        for server in servers:
            server.stop()
        # The servers' logs (access logs included) are kept only when something went wrong.
        if completed:
            shutil.rmtree(log_dir, ignore_errors=True)
        else:
            print(f"server logs: {log_dir}", file=sys.stderr)
        with contextlib.suppress(Exception):
            flush_redis(args.redis)
        if scratch and admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
            admin.dispose()

    print()
    print(
        f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"load average before {load_before}, after {load()}"
    )
    if compare:
        how = f"settings {args.compare}, each row {args.rounds} rounds of {args.seconds:g} s per setting"
    else:
        how = f"{settings.get('workers')} workers x {settings.get('threads')} threads; {args.seconds:g} s per row"
    how += f" after {args.warmup:g} s of it not counted" if args.warmup > 0 else ", no warm-up"
    print(
        f"server: gunicorn -c gunicorn.conf.py 'app:create_app()', {how}; {args.threads} client threads; "
        f"database {shown_db} ({petitions_before:,} petitions before the run); stats period {period}"
    )
    print()
    if compare:
        print_comparison(compared)
    else:
        print_table(lines)
    print()
    verdict = "all there" if found == len(numbers) else f"{len(numbers) - found:,} MISSING"
    print(f"filings answered 201: {len(numbers):,}; found in the database: {found:,} ({verdict})")
    print(f"petitions the text search q={args.search} matches after the run: {matched:,}")
    print("command: " + " ".join(["python", *sys.argv]))
    return 0 if found == len(numbers) else 1


if __name__ == "__main__":
    sys.exit(main())
