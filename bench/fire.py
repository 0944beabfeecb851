"""Persisted transitions per second on SQLite, next to a raw-SQL baseline in the same run.

Each transition is its own transaction with its guards evaluated and its hash-chained event
written: issues cycle in_progress -> self_checked (guards: measures_done, evidence_attached)
-> in_progress (send_back, a comment required).  The baseline does the same reads and writes
with the sqlite3 module and hand-written SQL, on a copy of the same database, so the ratio
shows what the engine costs over the storage itself.

    python bench/fire.py [--issues 1000] [--transitions 20000] [--rounds 3]

Targets: at least 5,000 transitions/s, and at least a third of the baseline.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import shutil
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from zhenggai import Actor, Engine, FixedClock

SHA = "ab" * 32


def build(path: Path, n: int) -> None:
    clock = FixedClock("2026-03-10")
    eng = Engine(f"sqlite:///{path}", clock=clock)
    eng.init()
    office = Actor("wang", frozenset({"inspection_office"}))
    owner = Actor("li", frozenset({"owner"}))
    lead = Actor("zhao", frozenset({"unit_lead"}))
    eng.open_round("R1", title="bench", org="省局", feedback_date="2026-03-10", actor=office)
    for i in range(n):
        code = f"B{i:06d}"
        eng.add_issue(
            "R1",
            code,
            title="问题",
            category="phased",
            unit="省局/处",
            owner="li",
            lead="zhao",
            due_date="2026-09-30",
            actor=office,
        )
        eng.add_measure(code, "措施", owner="li", due_date="2026-09-01", target="100%", actor=owner)
        eng.fire(code, "plan", actor=owner)
        eng.sign_off(code, "unit_lead", actor=lead)
        eng.fire(code, "start", actor=owner)
        eng.complete_measure(code, 1, actor=owner)
        eng.add_evidence(code, "oa://f/1", SHA, actor=owner)
    eng.db.dispose()


def run_engine(path: Path, n_issues: int, n: int) -> float:
    clock = FixedClock("2026-04-01")
    eng = Engine(f"sqlite:///{path}", clock=clock)
    owner = Actor("li", frozenset({"owner"}))
    reviewer = Actor("he", frozenset({"reviewer"}))
    codes = [f"B{i:06d}" for i in range(n_issues)]
    eng.issue(codes[0], owner)  # warm the workflow cache and the connection
    t0 = time.perf_counter()
    done = 0
    while done < n:
        for code in codes:
            eng.fire(code, "submit_self_check", actor=owner)
            eng.fire(code, "send_back", actor=reviewer, comment="补充材料")
            done += 2
            if done >= n:
                break
    dt = time.perf_counter() - t0
    eng.db.dispose()
    return done / dt


def run_raw(path: Path, n_issues: int, n: int) -> float:
    """The same transitions by hand: same reads, same writes, same hash, no engine."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    codes = [f"B{i:06d}" for i in range(n_issues)]
    now = datetime(2026, 4, 1, 1, tzinfo=UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

    def move(code: str, trigger: str, to: str, actor: str, role: str, comment: str | None) -> None:
        conn.execute("BEGIN IMMEDIATE")
        # the same reads the engine's guards need: the issue with its round and evidence count,
        # and for the self-check its measures and sign-offs
        iid, state, version, seq, last_hash, _cat, _owner, _due, _period_end, n_ev = conn.execute(
            "SELECT i.id, i.state, i.version, i.seq, i.last_hash, i.category, i.owner, i.due_date, r.period_end,"
            " (SELECT count(*) FROM evidence e WHERE e.issue_id = i.id)"
            " FROM issues i JOIN rounds r ON r.id = i.round_id WHERE i.code = ?",
            (code,),
        ).fetchone()
        if trigger == "submit_self_check":
            measures = conn.execute(
                "SELECT no, owner, due_date, target, done_at FROM measures WHERE issue_id = ? ORDER BY no", (iid,)
            ).fetchall()
            signed = conn.execute("SELECT role FROM signoffs WHERE issue_id = ?", (iid,)).fetchall()
            assert measures and all(m[1] and m[2] and m[3] and m[4] for m in measures)
            assert n_ev >= 1 and ("unit_lead",) in signed
        body = json.dumps(
            [seq + 1, "transition", trigger, state, to, actor, role, now, comment, "{}", None, code],
            ensure_ascii=False,
            separators=(",", ":"),
        )
        h = hashlib.sha256((last_hash + body).encode()).hexdigest()
        cur = conn.execute(
            "UPDATE issues SET version = ?, seq = ?, last_hash = ?, last_activity_at = ?, next_check_at = ?, light = ?, "
            "state = ?, state_seq = ?, state_entered_at = ?, state_entered_by = ?, recurrence_count = ?, "
            "escalation_level = ?, stage_fired = ? WHERE id = ? AND version = ?",
            (version + 1, seq + 1, h, now, now, "green", to, seq + 1, now, actor, 0, 0, "", iid, version),
        )
        assert cur.rowcount == 1
        conn.execute(
            'INSERT INTO events (issue_id, seq, kind, "trigger", from_state, to_state, actor_id, role, at, comment, '
            "data, request_id, prev_hash, hash, key_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (iid, seq + 1, "transition", trigger, state, to, actor, role, now, comment, "{}", None, last_hash, h, None),
        )
        conn.execute("COMMIT")

    t0 = time.perf_counter()
    done = 0
    while done < n:
        for code in codes:
            move(code, "submit_self_check", "self_checked", "li", "owner", None)
            move(code, "send_back", "in_progress", "he", "reviewer", "补充材料")
            done += 2
            if done >= n:
                break
    dt = time.perf_counter() - t0
    conn.close()
    return done / dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--issues", type=int, default=1000)
    ap.add_argument("--transitions", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        seed = Path(tmp) / "seed.db"
        build(seed, args.issues)
        eng_rates, raw_rates = [], []
        for r in range(args.rounds):
            for kind in ("engine", "raw") if r % 2 == 0 else ("raw", "engine"):
                db = Path(tmp) / f"{kind}{r}.db"
                shutil.copy(seed, db)
                rate = (run_engine if kind == "engine" else run_raw)(db, args.issues, args.transitions)
                (eng_rates if kind == "engine" else raw_rates).append(rate)
                print(f"round {r + 1} {kind:6s}: {rate:8.0f} transitions/s")
        e, b = statistics.median(eng_rates), statistics.median(raw_rates)
        print(
            f"\nmachine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()} "
            f"sqlite {sqlite3.sqlite_version}"
        )
        print(
            f"engine  (median of {args.rounds}): {e:8.0f} transitions/s   target >= 5000: {'met' if e >= 5000 else 'NOT met'}"
        )
        print(f"raw SQL (median of {args.rounds}): {b:8.0f} transitions/s")
        print(f"ratio engine/raw: {e / b:.2f}   target >= 0.33: {'met' if e / b >= 1 / 3 else 'NOT met'}")
        print(json.dumps({"engine": round(e), "raw": round(b), "ratio": round(e / b, 3), "rounds": args.rounds}))


if __name__ == "__main__":
    main()
