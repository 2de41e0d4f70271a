"""What one request costs in one process, without HTTP or other clients: milliseconds and SQL
statements per request, and optionally where the time goes (a profile) and how many Python
function calls it makes (`--calls`: unlike the times, the same however busy the machine is,
so a change that saves a tenth can be seen on a machine whose speed moves by a fifth).

    python bench/request_cost.py --database postgresql+psycopg://postgres@127.0.0.1:5432/xf_bench_1m
    python bench/request_cost.py --database … --only search --profile
    python bench/request_cost.py --database … --only view,page --calls

The requests are those of `bench/http_load.py` (a filing, the citizen's look-up, the queues,
the staff view and page, the public page), plus intake's and a supervisor's web pages, made
with Flask's test client on the app as `make run` builds it, on a database that has the demo
county (`flask seed-demo`) and, for figures at scale, `bench/gen.py`'s petitions. Each kind
is warmed with a few requests, then timed over `--n`. The filings it makes stay in the
database (as those of http_load.py do).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "petition-demo"
# The petitions whose staff view and page are asked for (--petitions).
SAMPLES = {
    "latest": "SELECT tracking_no FROM petitions ORDER BY id DESC LIMIT 200",
    "generated": "SELECT tracking_no FROM petitions TABLESAMPLE SYSTEM (1) REPEATABLE (42)"
    " WHERE tracking_no LIKE 'XB%' LIMIT 500",
}
KINDS = ("file", "lookup", "hq", "iq", "search", "view", "page", "intake", "queue-web", "public")


def _server_ticks(database: str) -> int:
    """CPU ticks so far of the database server's processes serving `database` (0 where the
    server runs elsewhere or /proc is not readable)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if f" {database} ".encode() not in (entry / "cmdline").read_bytes().replace(b"\0", b" ") + b" ":
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, help="PostgreSQL URL with the demo county loaded")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11", help="Redis database for the app")
    parser.add_argument("--n", type=int, default=200, help="requests timed per kind")
    parser.add_argument(
        "--petitions",
        choices=("latest", "generated"),
        default="latest",
        help="which petitions the staff view and page show: the 200 latest (default), or 500 of"
        " bench/gen.py's sampled as http_load.py samples them (rows b2 and d)",
    )
    parser.add_argument("--only", default=",".join(KINDS), help=f"kinds, comma-separated: {', '.join(KINDS)}")
    parser.add_argument("--profile", action="store_true", help="print the 25 costliest functions of each kind")
    parser.add_argument("--profile-out", help="with --profile, also write each kind's profile to PREFIX.KIND")
    parser.add_argument(
        "--calls",
        action="store_true",
        help="also count the Python function calls of a request (a figure the machine's load does not move)",
    )
    args = parser.parse_args()
    kinds = [k for k in args.only.split(",") if k]
    unknown = set(kinds) - set(KINDS)
    if unknown:
        parser.error(f"unknown kinds: {', '.join(sorted(unknown))}")
    os.environ.update(DATABASE_URL=args.database, REDIS_URL=args.redis, RATELIMIT_ENABLED="false")

    from sqlalchemy import event, text

    from app import create_app
    from petitions.extensions import db

    app = create_app()
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    counted = [0]
    with app.app_context():
        numbers = [r[0] for r in db.session.execute(text(SAMPLES[args.petitions]))]
        event.listen(db.engine, "before_cursor_execute", lambda *a, **k: counted.__setitem__(0, counted[0] + 1))
    if not numbers:
        print("the database has no petitions: load the demo county and bench/gen.py's data first", file=sys.stderr)
        return 2

    def token(username: str) -> dict[str, str]:
        answer = client.post("/api/v1/tokens", json={"username": username, "password": PASSWORD})
        if answer.status_code != 201:
            raise SystemExit(f"no token for {username}: {answer.status_code} (is the demo county loaded?)")
        return {"Authorization": "Bearer " + answer.get_json()["token"]}

    def session(username: str):
        browser = app.test_client()
        browser.post("/login", data={"username": username, "password": PASSWORD})
        return browser

    handler, intake = token("dongcheng-handler"), token("intake")
    intake_web, supervisor_web = session("intake"), session("supervisor")

    def leaves(nodes):
        for node in nodes:
            if node.get("selectable"):
                yield node
            yield from leaves(node.get("children", []))

    category = next(leaves(client.get("/api/v1/categories").get_json()["categories"]))["code"]
    place = next(u["code"] for u in client.get("/api/v1/units").get_json()["units"] if u["kind"] == "township")
    filed: list[tuple[str, str]] = []
    rng = random.Random(1)

    def file():
        n = rng.randrange(10**8)
        topic = "噪音" if n % 10 == 0 else ("道路破损", "路灯不亮", "垃圾清运", "停车难", "供水不稳")[n % 5]
        answer = client.post(
            "/api/v1/petitions",
            json={
                # One in ten about noise, as in http_load.py, so that runs do not crowd the search.
                "title": f"关于小区{n % 50}号楼{topic}的反映",
                "content": f"本人反映的{topic}问题已持续较长时间，影响周边居民正常生活，恳请有关部门尽快核实处理。" * 3,
                "category": category,
                "township": place,
                "anonymous": False,
                "public_consent": False,
                "contact": {"name": "张三", "phone": f"139{n:08d}"},
            },
        )
        filed.append((answer.get_json()["tracking_no"], answer.get_json()["query_code"]))
        return answer

    for _ in range(5):
        file()
    requests = {
        "file": file,
        "lookup": lambda: client.get("/api/v1/petitions/{}?code={}".format(*rng.choice(filed))),
        "hq": lambda: client.get("/api/v1/queue", headers=handler),
        "iq": lambda: client.get("/api/v1/queue", headers=intake),
        "search": lambda: client.get("/api/v1/queue?q=噪音", headers=intake),
        "view": lambda: client.get(f"/api/v1/petitions/{rng.choice(numbers)}", headers=intake),
        "page": lambda: intake_web.get(f"/staff/petitions/{rng.choice(numbers)}"),
        "intake": lambda: intake_web.get("/staff/intake"),
        "queue-web": lambda: supervisor_web.get("/staff/queue"),
        "public": lambda: client.get("/public/"),
    }
    db_name = args.database.rsplit("/", 1)[-1].split("?")[0]
    calls_head = f" {'calls':>8}" if args.calls else ""
    print(f"{'kind':<10} {'ms/request':>10} {'cpu ms':>8} {'server ms':>10} {'statements':>10}{calls_head}")
    for kind in kinds:
        call = requests[kind]
        for _ in range(5):
            answer = call()
            if answer.status_code not in (200, 201):
                raise SystemExit(f"{kind}: {answer.status_code} {answer.get_data()[:200]!r}")
        counted[0] = 0
        server0 = _server_ticks(db_name)
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(args.n):
            call()
        ms = (time.perf_counter() - t0) * 1000 / args.n
        cpu = (time.process_time() - c0) * 1000 / args.n
        server = (_server_ticks(db_name) - server0) * 1000 / os.sysconf("SC_CLK_TCK") / args.n
        statements = counted[0] / args.n
        profile = None
        if args.calls or args.profile:
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(args.n):
                call()
            profile.disable()
        calls = f" {pstats.Stats(profile).total_calls / args.n:>8.0f}" if args.calls else ""
        print(f"{kind:<10} {ms:>10.2f} {cpu:>8.2f} {server:>10.2f} {statements:>10.1f}{calls}", flush=True)
        if args.profile:
            if args.profile_out:
                profile.dump_stats(f"{args.profile_out}.{kind}")
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    print("load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    print("command: python bench/request_cost.py " + " ".join(sys.argv[1:]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
