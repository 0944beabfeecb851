"""The escalation sweep over a large database: its cost should follow the due items, not
the total.

    python bench/sweep.py [--due 10000] [--totals 100000 1000000]

For each total it builds a SQLite database (bulk rows written directly, as a migration or an
import would leave them) in which ``--due`` issues have an SLA run out (the plan_late rule:
an event, an escalation record and two notices each) and the rest are not due for months.
It then times one sweep, in a process of its own, and reports that process's peak resident
memory (the interpreter and the engine loaded: about 60 MB before the sweep reads a row).  Targets: under 5 s for 10,000 due items among 1,000,000 on
SQLite; time that grows with the due items, not the total; peak memory under 300 MB.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from zhenggai import Actor, Engine, FixedClock

SQLITE_TS = "%Y-%m-%d %H:%M:%S.%f"


def build(path: Path, total: int, due: int) -> None:
    eng = Engine(f"sqlite:///{path}", clock=FixedClock("2026-03-01"))
    eng.init()
    eng.open_round(
        "R1",
        title="bench",
        org="省局",
        feedback_date="2026-03-01",
        actor=Actor("wang", frozenset({"inspection_office"})),
    )
    eng.db.dispose()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    round_id, wf_id = conn.execute("SELECT id, workflow_id FROM rounds").fetchone()
    entered = datetime(2026, 3, 2, 1, tzinfo=UTC).strftime(SQLITE_TS)
    soon = datetime(2026, 3, 20, tzinfo=UTC).strftime(SQLITE_TS)  # due for a check by the sweep below
    later = datetime(2026, 9, 1, tzinfo=UTC).strftime(SQLITE_TS)
    rows = (
        (
            f"B{i:07d}",
            round_id,
            wf_id,
            "问题",
            "",
            "phased",
            "normal",
            f"省局/处{i % 50}",
            "li",
            "zhao",
            "2026-12-31",
            "identified",
            1,
            entered,
            "office",
            entered,
            soon if i < due else later,
            "green",
            "",
            0,
            0,
            1,
            "0" * 64,
            1,
            entered,
        )
        for i in range(total)
    )
    conn.executemany(
        "INSERT INTO issues (code, round_id, workflow_id, title, description, category, severity, unit, owner, lead,"
        " due_date, state, state_seq, state_entered_at, state_entered_by, last_activity_at, next_check_at, light,"
        " stage_fired, escalation_level, recurrence_count, seq, last_hash, version, created_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def measure(path: Path) -> dict[str, float]:
    eng = Engine(f"sqlite:///{path}", clock=FixedClock("2026-03-25"))
    eng.rounds()  # open the connection and load the workflow outside the timing
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    report = eng.sweep(batch=500)
    elapsed = time.perf_counter() - t0
    rss1 = _rss_mb()
    with eng.db.read() as conn:
        notices = conn.exec_driver_sql("SELECT count(*) FROM outbox").scalar_one()
    eng.db.dispose()
    return {
        "seconds": elapsed,
        "checked": report.checked,
        "fired": len(report.fired),
        "notices": notices,
        "rss_before_mb": rss0,
        "peak_rss_mb": rss1,
        "sweep_rss_growth_mb": rss1 - rss0,
    }


def _rss_mb() -> float:
    """The process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--due", type=int, default=10_000)
    ap.add_argument("--totals", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # in a child: sweep this database
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for total in args.totals:
            path = Path(tmp) / f"sweep{total}.db"
            t0 = time.perf_counter()
            build(path, total, args.due)
            built = time.perf_counter() - t0
            # the sweep in a process of its own, so its peak memory is the sweep's, not the build's
            child = subprocess.run(
                [sys.executable, __file__, "--measure", str(path)], capture_output=True, text=True, check=True
            )
            r = json.loads(child.stdout.strip().splitlines()[-1])
            r.update(total=total, due=args.due, build_seconds=built)
            results.append(r)
            print(
                f"{total:>9,} issues, {args.due:,} due: sweep {r['seconds']:.2f} s "
                f"({r['fired']:,} rules fired, {r['notices']:,} notices), peak RSS {r['peak_rss_mb']:.0f} MB "
                f"(built in {built:.0f} s)"
            )
            path.unlink()
    print(f"machine {platform.machine()}, python {platform.python_version()}, sqlite {sqlite3.sqlite_version}")
    if len(results) >= 2:
        a, b = results[0], results[-1]
        print(
            f"time ratio {b['total']:,} vs {a['total']:,} issues at the same due count: {b['seconds'] / a['seconds']:.2f}"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
