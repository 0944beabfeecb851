"""The console's server time: the dashboard of a round of 10,000 issues, and a page of the
list over 100,000 issues (first, middle and last pages: keyset), each beside the same SQL
queries run alone in the same run, as a ratio.

    python bench/ui.py [--dashboard 10000] [--list 100000] [--runs 200]

The issues are written in bulk (as bench/sweep.py does); a signed-in session calls the ASGI
app in process (no network, no client: the server's own time).  Targets: dashboard p95
< 150 ms; a page of the list p95 < 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sweep import build

from zhenggai import Actor, Engine, FixedClock

KEY = "9f1c2e7a4b8d03e6f5a1c9b7d2e4f608a3b5c7d9e1f2a4c6b8d0e2f4a6c8b0d1"


async def _get(app, path: str, query: str, cookie: str) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"host", b"127.0.0.1"), (b"cookie", f"zhenggai_session={cookie}".encode())],
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 5000),
    }
    status = 0

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20)[-1] * 1000


def alternating(fns: list[Callable[[], object]], runs: int) -> list[list[float]]:
    """Each function timed ``runs`` times, taking turns, so that a shared machine's load falls
    on all of them alike."""
    out: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            out[i].append(time.perf_counter() - t0)
    return out


def session_for(path: Path) -> tuple[object, str, Engine]:
    from zhenggai.api.app import create_app
    from zhenggai.api.clients import Clients
    from zhenggai.web import sessions

    os.environ.setdefault("ZHENGGAI_API_KEY", KEY)
    eng = Engine(f"sqlite:///{path}", clock=FixedClock("2026-03-25"))
    client, _ = Clients(eng).add("oa", roles=["inspection_office"], scopes=["*"], by="bench")
    token, _ = sessions.start(
        eng,
        "oa",
        client.generation,
        Actor("wang", frozenset({"inspection_office"})),
        __import__("datetime").timedelta(hours=1),
    )
    return create_app(eng), token, eng


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dashboard", type=int, default=10_000)
    ap.add_argument("--list", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()
    loop = asyncio.new_event_loop()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        # the dashboard of a round of N issues
        path = Path(tmp) / "dash.db"
        build(path, args.dashboard, 0)
        app, token, eng = session_for(path)
        raw = sqlite3.connect(path)
        # the queries the page's numbers come from: the round's issues as counted, their
        # transitions (the burn-down), the rounds with their counts by state, the session
        queries = [
            "SELECT i.id, i.code, i.category, i.unit, coalesce(nullif(i.source, ''), r.source), i.confidential,"
            " i.state, i.light, i.due_date, i.recurrence_count, i.escalation_level, i.created_at, i.workflow_id"
            " FROM issues i JOIN rounds r ON r.id = i.round_id WHERE i.round_id = 1 ORDER BY i.id",
            "SELECT e.issue_id, e.from_state, e.to_state, e.at FROM events e JOIN issues i ON i.id = e.issue_id"
            " WHERE i.round_id = 1 AND e.kind = 'transition' ORDER BY e.issue_id, e.seq",
            "SELECT round_id, state, count(*) FROM issues GROUP BY round_id, state",
            "SELECT * FROM ui_sessions s JOIN api_clients c ON c.name = s.client WHERE s.ended_at IS NULL",
        ]

        def sql_alone() -> None:
            for q in queries:
                raw.execute(q).fetchall()

        loop.run_until_complete(_get(app, "/ui/", "round=R1", token))  # warm: definitions loaded, pool open
        runs = max(20, args.runs // 4)
        start_load = os.getloadavg()[0]
        office = Actor("wang", frozenset({"inspection_office"}))
        server, engine, sql = alternating(
            [
                lambda: loop.run_until_complete(_get(app, "/ui/", "round=R1", token)),
                lambda: eng.stats("R1", actor=office, by="unit"),
                sql_alone,
            ],
            runs,
        )
        results["dashboard"] = {
            "issues": args.dashboard,
            "p95_ms": p95(server),
            "engine_stats_p95_ms": p95(engine),
            "sql_p95_ms": p95(sql),
            "ratio_to_sql": p95(server) / p95(sql),
        }
        raw.close()
        eng.db.dispose()

        # a page of the list over M issues, at random depths (keyset: the cursor is an id)
        path = Path(tmp) / "list.db"
        build(path, args.list, 0)
        app, token, eng = session_for(path)
        raw = sqlite3.connect(path)
        page_sql = (
            "SELECT i.*, r.code FROM issues i JOIN rounds r ON r.id = i.round_id"
            " WHERE r.code = 'R1' AND i.id > ? ORDER BY i.id LIMIT 51"
        )
        rng = random.Random(7)
        cursors = [rng.randrange(0, args.list - 50) for _ in range(args.runs)]
        loop.run_until_complete(_get(app, "/ui/issues", "round=R1", token))
        served, alone = iter(cursors), iter(cursors)
        server, sql = alternating(
            [
                lambda: loop.run_until_complete(_get(app, "/ui/issues", f"round=R1&after={next(served)}", token)),
                lambda: raw.execute(page_sql, (next(alone),)).fetchall(),
            ],
            args.runs,
        )
        status = loop.run_until_complete(_get(app, "/ui/issues", f"round=R1&after={args.list - 10}", token))
        assert status == 200
        results["list"] = {
            "issues": args.list,
            "p95_ms": p95(server),
            "sql_p95_ms": p95(sql),
            "ratio_to_sql": p95(server) / p95(sql),
        }
        raw.close()
        eng.db.dispose()
    d, li = results["dashboard"], results["list"]
    print(
        f"dashboard of {d['issues']:,} issues: p95 {d['p95_ms']:.1f} ms (engine stats alone {d['engine_stats_p95_ms']:.1f} ms,"
        f" its SQL alone {d['sql_p95_ms']:.1f} ms, ratio {d['ratio_to_sql']:.1f})"
    )
    print(
        f"list page over {li['issues']:,} issues: p95 {li['p95_ms']:.1f} ms (its SQL alone {li['sql_p95_ms']:.2f} ms,"
        f" ratio {li['ratio_to_sql']:.1f})"
    )
    print(f"load average at the start {start_load:.1f}, at the end {os.getloadavg()[0]:.1f} (nproc {os.cpu_count()})")
    print(f"machine {platform.machine()}, python {platform.python_version()}, sqlite {sqlite3.sqlite_version}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
