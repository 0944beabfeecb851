"""``audit verify`` over a database of a million events: every chain recomputed, every issue's
records compared with its replayed history.

    python bench/verify.py [--issues 50000] [--events 20] [--db POSTGRES_URL] [--profile FILE]

The database is built in bulk (bypassing the engine) with correctly chained events hashed by
the engine's own ``event_hash``, and each issue's measure, sign-off and evidence rows as its
history says, so the audit finds nothing.  Each issue: created, measure added, planned, unit
lead's sign-off, started, measure done, evidence, then self-check and send-back in turn.  On
SQLite (the default, a temporary file) the rows go in with ``executemany``; with ``--db`` the
same rows go into a fresh schema ``bench_<hex>`` on that PostgreSQL with ``COPY``, and the
schema is dropped afterwards.  The audit then runs in a child process (its own peak RSS),
once through the Engine and once as the ``zhenggai audit verify`` command; ``--profile``
writes the cProfile stats of the former.  Target: under 30 s.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import resource
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from zhenggai import Actor, Engine, FixedClock
from zhenggai.engine.history import GENESIS, event_hash

SQLITE_TS = "%Y-%m-%d %H:%M:%S.%f"
SHA = "ab" * 32


def _dumps(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True) if data else "{}"


def history(code: str, n: int, t0: datetime) -> list[dict]:
    """The events of one issue, in order, as the engine would have written them."""
    fields = {
        "title": "问题",
        "category": "phased",
        "severity": "normal",
        "unit": "省局/处",
        "owner": "li",
        "lead": "zhao",
        "due_date": "2026-12-31",
    }
    measure = {"no": 1, "text": "措施", "owner": "li", "due_date": "2026-09-01", "target": "100%"}
    steps = [
        ("created", None, None, "identified", "wang", "inspection_office", fields),
        ("measure_added", None, None, None, "li", "owner", measure),
        ("transition", "plan", "identified", "planned", "li", "owner", {}),
        ("signed_off", None, None, None, "zhao", "unit_lead", {"role": "unit_lead", "state": "planned"}),
        ("transition", "start", "planned", "in_progress", "li", "owner", {}),
        ("measure_done", None, None, None, "li", "owner", {"no": 1}),
        ("evidence_added", None, None, None, "li", "owner", {"uri": "oa://f/1", "sha256": SHA, "measure_no": 1}),
    ]
    while len(steps) < n:
        if steps[-1][3] == "self_checked":
            steps.append(("transition", "send_back", "self_checked", "in_progress", "he", "reviewer", {}))
        else:
            steps.append(("transition", "submit_self_check", "in_progress", "self_checked", "li", "owner", {}))
    out = []
    for i, (kind, trigger, frm, to, actor, role, data) in enumerate(steps[:n]):
        out.append(
            dict(
                seq=i + 1,
                kind=kind,
                trigger=trigger,
                from_state=frm,
                to_state=to,
                actor_id=actor,
                role=role,
                at=t0 + timedelta(minutes=i),
                comment="补充材料" if trigger == "send_back" else None,
                data=_dumps(data),
                request_id=None,
            )
        )
    return out


# The bulk-loaded tables and their columns, in the order ``rows`` builds each tuple.
COLUMNS = {
    "issues": (
        "id", "code", "round_id", "workflow_id", "title", "description", "category", "severity", "unit", "owner",
        "lead", "due_date", "state", "state_seq", "state_entered_at", "state_entered_by", "last_activity_at",
        "next_check_at", "light", "stage_fired", "escalation_level", "recurrence_count", "seq", "last_hash",
        "version", "created_at",
    ),
    "events": (
        "issue_id", "seq", "kind", "trigger", "from_state", "to_state", "actor_id", "role", "at", "comment",
        "data", "request_id", "prev_hash", "hash",
    ),
    "measures": ("issue_id", "no", "text", "owner", "due_date", "target", "done_at", "done_by"),
    "signoffs": ("issue_id", "role", "actor_id", "state", "stage_seq", "comment", "at"),
    "evidence": ("issue_id", "measure_no", "uri", "sha256", "note", "added_by", "added_at"),
}  # fmt: skip
BATCH = 2000


def _quoted(columns: tuple[str, ...]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def open_round(url: str) -> None:
    """The schema at head and one round (with its workflow), made through the Engine."""
    eng = Engine(url, clock=FixedClock("2026-03-01"))
    eng.init()
    eng.open_round(
        "R1",
        title="bench",
        org="省局",
        feedback_date="2026-03-01",
        actor=Actor("wang", frozenset({"inspection_office"})),
    )
    eng.db.dispose()


def rows(ids: range, n_events: int, round_id: int, wf_id: int) -> dict[str, list[tuple]]:
    """The rows of the issues ``ids`` for every table in ``COLUMNS``: chained events and the
    issue, measure, sign-off and evidence rows their history implies.  Times are the text
    SQLite stores (naive UTC), which PostgreSQL reads as the same ``timestamp``."""
    t0 = datetime(2026, 3, 2, 1, tzinfo=UTC)
    ts = t0.strftime(SQLITE_TS)
    out: dict[str, list[tuple]] = {name: [] for name in COLUMNS}
    issues, evs, meas, signs, evid = (out[name] for name in COLUMNS)
    for iid in ids:
        code = f"V{iid:07d}"
        prev = GENESIS
        state, state_seq, planned_at = "identified", 1, 1
        for e in history(code, n_events, t0):
            h = event_hash(code, prev, e)
            head = (iid, e["seq"], e["kind"], e["trigger"], e["from_state"], e["to_state"], e["actor_id"])
            evs.append((*head, e["role"], e["at"].strftime(SQLITE_TS), e["comment"], e["data"], None, prev, h))
            prev = h
            if e["kind"] == "transition" or e["kind"] == "created":
                state, state_seq = e["to_state"], e["seq"]
                if state == "planned":
                    planned_at = e["seq"]
        done = n_events >= 6
        fixed = (iid, code, round_id, wf_id, "问题", "", "phased", "normal", "省局/处", "li", "zhao", "2026-12-31")
        issues.append((*fixed, state, state_seq, ts, "li", ts, None, "green", "", 0, 0, n_events, prev, n_events, ts))
        if n_events >= 2:
            meas.append((iid, 1, "措施", "li", "2026-09-01", "100%", ts if done else None, "li" if done else None))
        if n_events >= 4:
            signs.append((iid, "unit_lead", "zhao", "planned", planned_at, "", ts))
        if n_events >= 7:
            evid.append((iid, 1, "oa://f/1", SHA, "", "li", ts))
    return out


def batches(n_issues: int, n_events: int, round_id: int, wf_id: int) -> Iterator[dict[str, list[tuple]]]:
    for start in range(0, n_issues, BATCH):
        yield rows(range(start + 1, min(start + BATCH, n_issues) + 1), n_events, round_id, wf_id)


def build(path: Path, n_issues: int, n_events: int) -> None:
    open_round(f"sqlite:///{path}")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    round_id, wf_id = conn.execute("SELECT id, workflow_id FROM rounds").fetchone()
    inserts = {
        name: f"INSERT INTO {name} ({_quoted(cols)}) VALUES ({','.join('?' * len(cols))})"
        for name, cols in COLUMNS.items()
    }
    for batch in batches(n_issues, n_events, round_id, wf_id):
        for name, values in batch.items():
            conn.executemany(inserts[name], values)
        conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def build_pg(url: str, n_issues: int, n_events: int) -> int:
    """The same rows in the (empty) schema ``url`` points to, loaded with COPY; returns its size in bytes."""
    import psycopg

    open_round(url)
    with psycopg.connect(_libpq(url)) as conn:
        round_id, wf_id = conn.execute("SELECT id, workflow_id FROM rounds").fetchone()
        copies = {name: f"COPY {name} ({_quoted(cols)}) FROM STDIN" for name, cols in COLUMNS.items()}
        with conn.cursor() as cur:
            for batch in batches(n_issues, n_events, round_id, wf_id):
                for name, values in batch.items():
                    with cur.copy(copies[name]) as copy:
                        for row in values:
                            copy.write_row(row)
            conn.commit()
            for name in COLUMNS:
                cur.execute(f"ANALYZE {name}")
            size = cur.execute(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'"
            ).fetchone()[0]
        conn.commit()
    return int(size or 0)


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as libpq takes it (no ``+driver``)."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


def measure(url: str, profile: Path | None = None) -> None:
    """In a child process: the audit through the Engine, its time and this process's peak RSS
    (with ``profile``, run under cProfile and the stats written there)."""
    eng = Engine(url)
    eng.rounds()  # open the connection outside the timing
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    t0 = time.perf_counter()
    report = eng.audit_verify()
    seconds = time.perf_counter() - t0
    if prof:
        prof.disable()
        prof.dump_stats(profile)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    eng.db.dispose()
    print(
        json.dumps(
            {
                "ok": report.ok,
                "issues": report.issues,
                "events": report.events,
                "bad": [b.to_dict() for b in report.bad[:3]],
                "orphan_events": report.orphan_events,
                "seconds": round(seconds, 2),
                "rss_before_mb": round(rss0, 1),
                "peak_rss_mb": round(rss, 1),
            },
            ensure_ascii=False,
        )
    )


@contextmanager
def pg_schema(url: str) -> Iterator[str]:
    """A fresh schema ``bench_<hex>`` on the PostgreSQL at ``url``, dropped afterwards; yields
    the URL whose search_path is that schema."""
    import psycopg

    schema = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(_libpq(url), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def run(url: str, db_arg: str, label: str, args: argparse.Namespace) -> None:
    """The audit of the built database at ``url``: through the Engine in a child process, then
    as the ``zhenggai audit verify`` command (``--db db_arg``)."""
    cmd = [sys.executable, __file__, "--measure", url]
    if args.profile:
        cmd += ["--profile", str(args.profile)]
    child = subprocess.run(cmd, capture_output=True, text=True, check=True)
    r = json.loads(child.stdout)
    print(
        f"engine audit_verify ({label}): {r['events']:,} events of {r['issues']:,} issues in {r['seconds']:.2f} s, "
        f"ok={r['ok']}, peak RSS {r['peak_rss_mb']:.0f} MB (before the audit {r['rss_before_mb']:.0f} MB)"
    )
    if not r["ok"]:
        print(f"problems: {len(r['bad'])} shown, {r['orphan_events']} orphan events: {json.dumps(r['bad'])[:2000]}")
    t0 = time.perf_counter()
    cli = subprocess.run(
        [sys.executable, "-m", "zhenggai.cli", "--db", db_arg, "--json", "audit", "verify"],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    out = json.loads(cli.stdout)
    print(f"zhenggai audit verify: exit {cli.returncode}, ok={out['ok']}, {wall:.2f} s wall (process start included)")
    print(f"target < 30 s: {'met' if r['seconds'] < 30 else 'NOT met'}")
    del r["bad"]
    print(json.dumps({**r, "cli_seconds": round(wall, 2)}))
    if not (r["ok"] and out["ok"] and cli.returncode == 0):
        sys.exit(1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--issues", type=int, default=50_000)
    ap.add_argument("--events", type=int, default=20)
    ap.add_argument(
        "--db",
        metavar="POSTGRES_URL",
        help="build and audit on this PostgreSQL database (in a fresh schema, dropped afterwards) instead of SQLite",
    )
    ap.add_argument("--profile", type=Path, help="write the audit's cProfile stats to this file")
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        measure(args.measure, args.profile)
        return
    if args.db:
        import psycopg

        with pg_schema(args.db) as url:
            t0 = time.perf_counter()
            size = build_pg(url, args.issues, args.events)
            print(
                f"built {args.issues:,} issues x {args.events} events in {time.perf_counter() - t0:.0f} s "
                f"({size / 2**20:.0f} MB with indexes)"
            )
            run(url, url, "PostgreSQL", args)
            with psycopg.connect(_libpq(url)) as conn:
                server = conn.execute("SHOW server_version").fetchone()[0]
        print(f"machine {platform.machine()}, python {platform.python_version()}, PostgreSQL {server}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "verify.db"
        t0 = time.perf_counter()
        build(path, args.issues, args.events)
        print(
            f"built {args.issues:,} issues x {args.events} events in {time.perf_counter() - t0:.0f} s "
            f"({path.stat().st_size / 2**20:.0f} MB)"
        )
        run(f"sqlite:///{path}", str(path), "SQLite", args)
        print(f"machine {platform.machine()}, python {platform.python_version()}, sqlite {sqlite3.sqlite_version}")


if __name__ == "__main__":
    main()
