"""What a text search costs, word by word, from rare to nearly every petition: the API's queue
and the web queue, as intake (every petition) and as a unit's handler, the first page and the
next one, in one process with Flask's test client on the app as `make run` builds it.

    python bench/search.py --database postgresql+psycopg://postgres@127.0.0.1:5432/xf_bench_1m

On `gen.py`'s data every title reads 关于小区N号楼相关问题的反映（G）, G the petition's number:
关于小区 is in every petition, （7 in one in nine, （72 in one in ninety, （723 in about 1,100,
（7231 in about 110, and 噪音 only in what the benchmarks filed. Each statement is cut off
after `--timeout` seconds (the app's DB_STATEMENT_TIMEOUT), so that a search that would run
for minutes prints 503 instead. Each request is made twice and the second is timed.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from html import unescape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "petition-demo"
WORDS = "噪音,关于小区,（7231,（723,（72,（7"
WHO = ("intake", "dongcheng-handler")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, help="PostgreSQL URL with the demo county and gen.py's data")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11", help="Redis database for the app")
    parser.add_argument("--words", default=WORDS, help=f"comma-separated (default {WORDS})")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a statement may run")
    args = parser.parse_args()
    os.environ.update(
        DATABASE_URL=args.database,
        REDIS_URL=args.redis,
        RATELIMIT_ENABLED="false",
        DB_STATEMENT_TIMEOUT=str(args.timeout),
    )
    from app import create_app

    app = create_app()
    app.config["WTF_CSRF_ENABLED"] = False
    words = [w for w in args.words.split(",") if w]

    def timed(client, url: str, **kwargs):
        client.get(url, **kwargs)
        start = time.perf_counter()
        answer = client.get(url, **kwargs)
        return answer, (time.perf_counter() - start) * 1000

    print(f"{'face':4} {'who':17} {'word':8} {'status':>6} {'first ms':>9} {'count':>6} {'next ms':>8}")
    for who in WHO:
        api = app.test_client()
        token = api.post("/api/v1/tokens", json={"username": who, "password": PASSWORD}).get_json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        web = app.test_client()
        web.post("/login", data={"username": who, "password": PASSWORD})
        for q in words:
            first, ms = timed(api, "/api/v1/queue", query_string={"q": q}, headers=headers)
            body = first.get_json() or {}
            count = f"{body.get('total', '-')}{'+' if body.get('total_capped') else ''}"
            following = ""
            if body.get("next"):
                following = f"{timed(api, '/api/v1/queue', query_string={'q': q, 'after': body['next']}, headers=headers)[1]:8.1f}"
            print(f"{'api':4} {who:17} {q:8} {first.status_code:6} {ms:9.1f} {count:>6} {following:>8}", flush=True)
            page, ms = timed(web, "/staff/queue", query_string={"q": q, "status": "all"})
            html = page.get_data(as_text=True)
            counted = re.search(r"共 ([0-9,+]+) 件|([0-9,+]+) found", html)
            count = next((g for g in counted.groups() if g), "-") if counted else "-"
            link = re.search(r'href="([^"]*after=[^"]+)"', html)
            following = f"{timed(web, unescape(link.group(1)))[1]:8.1f}" if link else ""
            print(f"{'web':4} {who:17} {q:8} {page.status_code:6} {ms:9.1f} {count:>6} {following:>8}", flush=True)
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("command: python bench/search.py " + " ".join(sys.argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
