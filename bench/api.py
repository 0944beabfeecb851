"""The HTTP API under load, against PostgreSQL: signed transitions from 50 concurrent clients.

    python bench/api.py [--clients 50] [--seconds 30] [--workers 2] [--race-seconds 15] [--minimal] [--rate R …]
                        [--servers gunicorn prefork] [--no-floor] [--load-fraction 0.75]

Starts ``zhenggai serve`` (``--workers`` uvicorn workers under gunicorn, then under the plain
prefork: ``--servers``) on a loopback port over a fresh PostgreSQL schema, then:

0. **the floor** — the same load against ``bench/floor.py``: the same server stack answering
   the same signed transition with the same PostgreSQL reads and writes in hand-written SQL,
   no engine; prints engine/floor (target: at least 0.5).  Then the engine at
   ``--load-fraction`` (75 %) of its measured capacity, open loop: its p99 (target < 100 ms).

1. **distinct issues** — each client owns one issue and cycles it in_progress -> self_checked
   (``submit_self_check``: guards measures_done, evidence_attached, the plan checks) ->
   in_progress (``send_back``, a comment required), every request signed, for ``--seconds``.
   Reports throughput and p50/p99 latency; targets p99 < 100 ms and no errors.
   With ``--rate``, the same clients then offer a fixed total rate (open loop: each request
   has an appointed time and its latency counts from then): latency at a given load rather
   than at saturation, where a closed loop's latency is only concurrency ÷ throughput.
2. **a race** — the same clients fire the same two triggers at 10 shared issues for
   ``--race-seconds``.  Most requests lose (409: refused in the new state, or changed
   concurrently); afterwards every issue's chain must verify, the states on each history
   must follow each other (no transition applied twice) and the number of 200 answers must
   equal the number of transition events written.

The load comes from separate processes (threads inside each), so the client side is not one
interpreter's lock.  PostgreSQL from ``ZHENGGAI_BENCH_PG`` (default the local test database).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid

SHA = "ab" * 32
KEY = "5e0b9c4a7d21f38e6a9c0d5b2f7e14a8c3d6b9e0f1a2c4e7b8d0f3a5c6e9b2d4"  # a fixed random key
ROLES = ["owner", "reviewer"]


def pg_url() -> str:
    return os.environ.get("ZHENGGAI_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


def setup(url: str, n: int) -> str:
    """A round with ``n`` issues in progress, each ready to be self-checked; the client secret."""
    from zhenggai import Actor, Engine
    from zhenggai.api.clients import Clients

    eng = Engine(url)
    eng.init()
    office = Actor("wang", frozenset({"inspection_office"}))
    owner = Actor("li", frozenset({"owner"}))
    lead = Actor("zhao", frozenset({"unit_lead"}))
    eng.open_round("R1", title="bench", org="省局", feedback_date="2026-11-01", period_months=12, actor=office)
    for i in range(n):
        code = f"A{i:04d}"
        eng.add_issue("R1", code, title="问题", category="phased", unit="省局/处", owner="li", lead="zhao",
                      due_date="2027-09-30", actor=office)  # fmt: skip
        eng.add_measure(code, "措施", owner="li", due_date="2027-09-01", target="100%", actor=owner)
        eng.fire(code, "plan", actor=owner)
        eng.sign_off(code, "unit_lead", actor=lead)
        eng.fire(code, "start", actor=owner)
        eng.complete_measure(code, 1, actor=owner)
        eng.add_evidence(code, "oa://f/1", SHA, actor=owner)
    _, secret = Clients(eng).add("bench", roles=ROLES, scopes=["*"], by="bench")
    eng.db.dispose()
    return secret


def client_process(
    base: str,
    secret: str,
    issues: list[str],
    deadline: float,
    out: mp.Queue,
    minimal: bool = False,
    interval: float | None = None,
) -> None:
    """Threads, one per issue given (a shared issue may appear in several processes).

    Each keeps one connection open (http.client, as a Java host's pooled HttpClient would)
    and signs with the library's own ``signed_headers``: the load generator shares the two
    cores with the server, so it should spend as little of them as it can."""
    import http.client
    from urllib.parse import urlsplit

    from zhenggai.api.signing import signed_headers

    host = urlsplit(base)
    results: list[tuple[float, int]] = []
    lock = threading.Lock()

    def run(code: str) -> None:
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
        mine: list[tuple[float, int]] = []
        extra = {"Content-Type": "application/json", **({"Prefer": "return=minimal"} if minimal else {})}
        steps = [("submit_self_check", {"role": "owner"}), ("send_back", {"role": "reviewer", "comment": "补充材料"})]
        bodies = [json.dumps(b, ensure_ascii=False).encode() for _, b in steps]
        i = 0
        # open loop: each request has its appointed time, and its latency counts from then, so
        # a server that falls behind is charged for the wait (no coordinated omission)
        due = time.perf_counter() + (random.random() * interval if interval else 0.0)
        while time.monotonic() < deadline:
            trigger, body = steps[i % 2][0], bodies[i % 2]
            if interval:
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                t0 = due
                due += interval
            else:
                t0 = time.perf_counter()
            target = f"/issues/{code}/transitions/{trigger}"
            headers = {
                **extra,
                **signed_headers(secret, "bench", "POST", target, body, user="li", roles=ROLES, headers=extra),
            }
            try:
                conn.request("POST", target, body=body, headers=headers)
                r = conn.getresponse()
                r.read()
                status = r.status
            except (OSError, http.client.HTTPException):
                status = -1
                conn.close()
                conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
            mine.append((time.perf_counter() - t0, status))
            if status in (200, 409):  # moved on, or lost a race and the issue moved: the other trigger next
                i += 1
        conn.close()
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=run, args=(c,)) for c in issues]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put(results)


def load(
    base: str,
    secret: str,
    assignment: list[str],
    seconds: float,
    processes: int,
    minimal: bool = False,
    rate: float | None = None,
) -> list[tuple[float, int]]:
    deadline = time.monotonic() + seconds
    q: mp.Queue = mp.Queue()
    chunks = [assignment[i::processes] for i in range(processes)]
    interval = len(assignment) / rate if rate else None  # each client's share of the offered rate
    procs = [
        mp.Process(target=client_process, args=(base, secret, c, deadline, q, minimal, interval)) for c in chunks if c
    ]
    for p in procs:
        p.start()
    results: list[tuple[float, int]] = []
    for _ in procs:
        results += q.get()
    for p in procs:
        p.join()
    return results


def summary(name: str, results: list[tuple[float, int]], seconds: float) -> dict[str, object]:
    lat = sorted(d for d, _ in results)
    statuses: dict[str, int] = {}
    for _, s in results:
        statuses[str(s)] = statuses.get(str(s), 0) + 1
    ok = statuses.get("200", 0)
    q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [0.0] * 99
    return {
        "phase": name,
        "requests": len(results),
        "ok": ok,
        "statuses": statuses,
        "ok_per_second": round(ok / seconds, 1),
        "requests_per_second": round(len(results) / seconds, 1),
        "p50_ms": round(q[49] * 1000, 1),
        "p99_ms": round(q[98] * 1000, 1),
        "errors": sum(n for s, n in statuses.items() if s not in ("200", "409")),
    }


def check_race(url: str, codes: list[str], ok_answers: int) -> dict[str, object]:
    from zhenggai import Actor, Engine

    eng = Engine(url)
    office = Actor("wang", frozenset({"inspection_office"}))
    chains_ok = all(eng.verify(c, office).ok for c in codes)
    transitions = 0
    consecutive = True
    for c in codes:
        moves = [e for e in eng.history(c, office) if e["kind"] == "transition"][2:]  # after plan and start
        transitions += len(moves)
        prev = "in_progress"
        for e in moves:
            consecutive &= e["from"] == prev
            prev = e["to"]
    eng.db.dispose()
    return {
        "chains_verify": chains_ok,
        "histories_consecutive": consecutive,
        "transition_events": transitions,
        "ok_answers": ok_answers,
        "none_applied_twice": consecutive and transitions == ok_answers,
    }


def why_not_verified(url: str, codes: list[str]) -> str:
    from zhenggai import Actor, Engine

    eng = Engine(url)
    office = Actor("wang", frozenset({"inspection_office"}))
    out = []
    for c in codes:
        rep = eng.verify(c, office)
        if not rep.ok:
            out.append(f"{c}: {rep.to_dict() if hasattr(rep, 'to_dict') else rep}")
    eng.db.dispose()
    return "; ".join(out)[:3000]


def start_server(cmd: list[str], env: dict[str, str], log_name: str) -> tuple[subprocess.Popen[bytes], str]:
    """A server on a fresh loopback port, once it answers."""
    import requests

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), log_name), "w")  # noqa: SIM115
    proc = subprocess.Popen([*cmd, "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            requests.post(base + "/issues/none/transitions/none", timeout=1)
            break
        except requests.RequestException:
            time.sleep(0.1)
    time.sleep(1.0)  # every worker up, not only the first
    return proc, base


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--race-seconds", type=float, default=15)
    ap.add_argument("--race-issues", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--processes", type=int, default=5, help="load-generating processes")
    ap.add_argument("--minimal", action="store_true", help="ask for minimal answers (Prefer: return=minimal)")
    ap.add_argument(
        "--servers",
        nargs="+",
        choices=["gunicorn", "prefork"],
        default=["gunicorn", "prefork"],
        help="the engine behind each `zhenggai serve --server`, measured in turn (the first is the one reported)",
    )
    ap.add_argument("--repeat", type=int, default=1, help="measure every stack this many times, interleaved")
    ap.add_argument(
        "--no-floor", action="store_true", help="skip the floor (bench/floor.py: hand-written SQL, no engine)"
    )
    ap.add_argument(
        "--load-fraction",
        type=float,
        default=0.75,
        help="then offer this fraction of the first server's measured capacity (open loop) and report its p99",
    )
    ap.add_argument(
        "--rate",
        type=float,
        nargs="*",
        default=[],
        help="also offer these open-loop rates (transitions/s shared by the clients) after the closed-loop run",
    )
    args = ap.parse_args()

    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    base_url = pg_url()
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{base_url}{'&' if '?' in base_url else '?'}options=-csearch_path%3D{schema}"
    env = {**os.environ, "ZHENGGAI_API_KEY": KEY}
    bench_dir = os.path.dirname(os.path.abspath(__file__))
    try:
        os.environ["ZHENGGAI_API_KEY"] = KEY
        t0 = time.perf_counter()
        secret = setup(url, args.clients + args.race_issues)
        print(f"set up {args.clients + args.race_issues} issues in {time.perf_counter() - t0:.1f} s", flush=True)
        distinct = [f"A{i:04d}" for i in range(args.clients)]
        engine_cmd = [sys.executable, "-m", "zhenggai.cli", "--db", url, "serve", "--workers", str(args.workers)]
        floor_cmd = [sys.executable, os.path.join(bench_dir, "floor.py"), "--db", url, "--workers", str(args.workers)]
        stacks = {kind: ([*engine_cmd, "--server", kind], env) for kind in args.servers}
        if not args.no_floor:
            stacks["floor"] = (floor_cmd, {**env, "PYTHONPATH": bench_dir})
        # interleaved, --repeat times: a machine whose load drifts charges every stack alike
        runs: dict[str, list[dict[str, object]]] = {k: [] for k in stacks}
        for r in range(args.repeat):
            for kind, (cmd, cmd_env) in stacks.items():
                proc, base = start_server(cmd, cmd_env, f"api-{kind}.log")
                try:
                    results = load(base, secret, distinct, args.seconds, args.processes, args.minimal)
                finally:
                    stop(proc)
                label = "floor (hand-written SQL, no engine)" if kind == "floor" else f"engine on {kind}"
                runs[kind].append(summary(f"distinct issues, {label}, run {r + 1}", results, args.seconds))
                print(json.dumps(runs[kind][-1], ensure_ascii=False), flush=True)
        rate = {k: statistics.median(float(x["ok_per_second"]) for x in v) for k, v in runs.items()}  # type: ignore[arg-type]
        print(f"median transitions/s: {json.dumps(rate)}", flush=True)
        head = args.servers[0]
        if len(args.servers) > 1:
            print(f"{head}/{args.servers[1]}: {rate[head] / rate[args.servers[1]]:.2f} of the throughput", flush=True)
        if "floor" in rate:
            print(f"engine ({head})/floor: {rate[head] / rate['floor']:.2f} (target at least 0.5)", flush=True)
        first = {"ok_per_second": rate[head]}

        proc, base = start_server([*engine_cmd, "--server", args.servers[0]], env, "api-server.log")
        try:
            rates = list(args.rate)
            if args.load_fraction:
                rates.insert(0, round(float(first["ok_per_second"]) * args.load_fraction, 1))  # type: ignore[arg-type]
            for rate in rates:
                paced = load(base, secret, distinct, args.seconds, args.processes, args.minimal, rate)
                at = summary(f"distinct issues, open loop at {rate:g}/s offered", paced, args.seconds)
                print(json.dumps(at, ensure_ascii=False), flush=True)
            shared = [f"A{args.clients + i % args.race_issues:04d}" for i in range(args.clients)]
            race = load(base, secret, shared, args.race_seconds, args.processes, args.minimal)
            second = summary("race on shared issues", race, args.race_seconds)
            second.update(check_race(url, sorted(set(shared)), second["ok"]))  # type: ignore[arg-type]
            print(json.dumps(second, ensure_ascii=False), flush=True)
            if not second["chains_verify"]:
                print(f"chains: {why_not_verified(url, sorted(set(shared)))}", flush=True)
        finally:
            stop(proc)
        print(
            f"machine {platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}; "
            f"server: {args.workers} uvicorn workers ({', '.join(args.servers)}); load: {args.processes} processes, "
            f"{args.clients} clients" + ("; Prefer: return=minimal" if args.minimal else "")
        )
    finally:
        with psycopg.connect(base_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
