"""``audit verify`` over a database of a million events: every chain recomputed, every issue's
records compared with its replayed history.

    python bench/verify.py [--issues 50000] [--events 20]

The database is built in bulk (executemany, bypassing the engine) with correctly chained
events hashed by the engine's own ``event_hash``, and each issue's measure, sign-off and
evidence rows as its history says, so the audit finds nothing.  Each issue: created,
measure added, planned, unit lead's sign-off, started, measure done, evidence, then
self-check and send-back in turn.  The audit then runs in a child process (its own peak
RSS), once through the Engine and once as the ``zhenggai audit verify`` command.
Target: under 30 s on SQLite.
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


def build(path: Path, n_issues: int, n_events: int) -> None:
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
    t0 = datetime(2026, 3, 2, 1, tzinfo=UTC)
    ts = t0.strftime(SQLITE_TS)
    batch = 2000
    for start in range(0, n_issues, batch):
        issues, evs, meas, signs, evid = [], [], [], [], []
        ids = range(start + 1, min(start + batch, n_issues) + 1)
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
            issues.append(
                (*fixed, state, state_seq, ts, "li", ts, None, "green", "", 0, 0, n_events, prev, n_events, ts)
            )
            if n_events >= 2:
                meas.append((iid, 1, "措施", "li", "2026-09-01", "100%", ts if done else None, "li" if done else None))
            if n_events >= 4:
                signs.append((iid, "unit_lead", "zhao", "planned", planned_at, "", ts))
            if n_events >= 7:
                evid.append((iid, 1, "oa://f/1", SHA, "", "li", ts))
        conn.executemany(
            "INSERT INTO issues (id, code, round_id, workflow_id, title, description, category, severity, unit, owner,"
            " lead, due_date, state, state_seq, state_entered_at, state_entered_by, last_activity_at, next_check_at,"
            " light, stage_fired, escalation_level, recurrence_count, seq, last_hash, version, created_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            issues,
        )
        conn.executemany(
            'INSERT INTO events (issue_id, seq, kind, "trigger", from_state, to_state, actor_id, role, at, comment,'
            " data, request_id, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            evs,
        )
        conn.executemany(
            "INSERT INTO measures (issue_id, no, text, owner, due_date, target, done_at, done_by)"
            " VALUES (?,?,?,?,?,?,?,?)",
            meas,
        )
        conn.executemany(
            "INSERT INTO signoffs (issue_id, role, actor_id, state, stage_seq, comment, at) VALUES (?,?,?,?,?,?,?)",
            signs,
        )
        conn.executemany(
            "INSERT INTO evidence (issue_id, measure_no, uri, sha256, note, added_by, added_at) VALUES (?,?,?,?,?,?,?)",
            evid,
        )
        conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def measure(path: Path) -> None:
    """In a child process: the audit through the Engine, its time and this process's peak RSS."""
    eng = Engine(f"sqlite:///{path}")
    eng.rounds()  # open the connection outside the timing
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    report = eng.audit_verify()
    seconds = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    eng.db.dispose()
    print(
        json.dumps(
            {
                "ok": report.ok,
                "issues": report.issues,
                "events": report.events,
                "seconds": round(seconds, 2),
                "rss_before_mb": round(rss0, 1),
                "peak_rss_mb": round(rss, 1),
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--issues", type=int, default=50_000)
    ap.add_argument("--events", type=int, default=20)
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        measure(args.measure)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "verify.db"
        t0 = time.perf_counter()
        build(path, args.issues, args.events)
        print(
            f"built {args.issues:,} issues x {args.events} events in {time.perf_counter() - t0:.0f} s "
            f"({path.stat().st_size / 2**20:.0f} MB)"
        )
        child = subprocess.run(
            [sys.executable, __file__, "--measure", str(path)], capture_output=True, text=True, check=True
        )
        r = json.loads(child.stdout)
        print(
            f"engine audit_verify: {r['events']:,} events of {r['issues']:,} issues in {r['seconds']:.2f} s, "
            f"ok={r['ok']}, peak RSS {r['peak_rss_mb']:.0f} MB (before the audit {r['rss_before_mb']:.0f} MB)"
        )
        t0 = time.perf_counter()
        cli = subprocess.run(
            [sys.executable, "-m", "zhenggai.cli", "--db", str(path), "--json", "audit", "verify"],
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - t0
        out = json.loads(cli.stdout)
        print(
            f"zhenggai audit verify: exit {cli.returncode}, ok={out['ok']}, {wall:.2f} s wall (process start included)"
        )
        print(f"target < 30 s: {'met' if r['seconds'] < 30 else 'NOT met'}")
        print(f"machine {platform.machine()}, python {platform.python_version()}, sqlite {sqlite3.sqlite_version}")
        print(json.dumps({**r, "cli_seconds": round(wall, 2)}))


if __name__ == "__main__":
    main()
