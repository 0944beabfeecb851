"""``zhenggai scheduler run`` as an operator runs it: a real process, stopped with SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from storyhelpers import started

from zhenggai import Engine, FixedClock


def test_the_scheduler_sweeps_delivers_and_stops_cleanly_on_sigterm(db_url: str, cast):
    clock = FixedClock("2026-06-02")
    eng = Engine(db_url, clock=clock)
    eng.init()
    eng.open_round("R1", title="t", org="省局", feedback_date="2026-06-01", actor=cast.office)
    for i in range(5):
        started(eng, cast, f"P{i}", "phased", due="2026-09-30")  # long overdue by the real clock
    exe = Path(sys.executable).with_name("zhenggai")
    proc = subprocess.Popen(
        [str(exe), "--db", db_url, "scheduler", "run", "--interval", "0.5", "--deliver-every", "0.5", "--every-day"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            notices = eng.outbox(limit=1000)
            if (
                notices
                and all(n["status"] == "delivered" for n in notices)
                and all(eng.issue(f"P{i}", cast.office).light == "red" for i in range(5))
                and all(
                    any(e["data"].get("rule") == "caution" for e in eng.history(f"P{i}", cast.office)) for i in range(5)
                )
            ):
                break
            time.sleep(0.3)
        else:
            raise AssertionError("the scheduler did not sweep and deliver within 60 s")
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "rules fired" in output and "scheduler stopped" in output
    for i in range(5):
        assert eng.verify(f"P{i}", cast.office).ok
        rules = [e["data"].get("rule") for e in eng.history(f"P{i}", cast.office) if e["actor"] == "system"]
        assert rules.count("caution") == 1  # once, however many runs
    eng.db.dispose()


def test_a_scheduler_killed_after_escalating_loses_no_notice(db_url: str, cast):
    clock = FixedClock("2026-06-02")
    eng = Engine(db_url, clock=clock)
    eng.init()
    eng.open_round("R1", title="t", org="省局", feedback_date="2026-06-01", actor=cast.office)
    started(eng, cast, "P1", "phased", due="2026-09-30")
    exe = Path(sys.executable).with_name("zhenggai")
    proc = subprocess.Popen(  # delivery far off: the process dies with its notices unsent
        [str(exe), "--db", db_url, "scheduler", "run", "--interval", "0.5", "--deliver-every", "3600", "--every-day"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not eng.outbox(status="pending", limit=10):
            time.sleep(0.2)
    finally:
        proc.kill()  # SIGKILL: no clean-up of any kind
        proc.wait(30)
    pending = eng.outbox(status="pending", limit=100)
    assert pending, "the escalation's notices were written with it"
    report = eng.deliver(now=FixedClock("2030-01-01").now())
    assert report.delivered == len(pending)
    assert eng.outbox(status="pending") == []
    assert eng.verify("P1", cast.office).ok
    eng.db.dispose()


def test_two_sweeps_at_once_escalate_each_item_exactly_once(db_url: str, cast):
    import json

    clock = FixedClock("2026-06-02")
    eng = Engine(db_url, clock=clock)
    eng.init()
    eng.open_round("R1", title="t", org="省局", feedback_date="2026-06-01", actor=cast.office)
    n = 2000 if db_url.startswith("postgresql") else 600
    for i in range(n):
        eng.add_issue(
            "R1",
            f"C{i:05d}",
            title="待制定措施",
            category="phased",
            unit="省局/财务处",
            owner="li",
            lead="zhao",
            due_date="2026-12-31",
            actor=cast.office,
        )
    exe = Path(sys.executable).with_name("zhenggai")
    # the data lies in the past: the sweep as of then is declared data entry of the past (--backdate)
    cmd = [str(exe), "--db", db_url, "--as-of", "2026-07-01", "--backdate", "--json", "sweep", "--batch", "50"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    reports = [json.loads(o) for o, _ in outputs]
    fired = [f["issue"] for r in reports for f in r["fired"] if f["rule"] == "plan_late"]
    assert len(fired) == n and len(set(fired)) == n  # every item once, none twice
    if db_url.startswith("postgresql"):
        assert all(r["fired"] for r in reports)  # SKIP LOCKED: both sweeps took a share
    # (on SQLite the second sweep waits for the first's batches and finds less or nothing left)
    with eng.db.engine.connect() as conn:
        from sqlalchemy import text

        rows = conn.execute(text("SELECT count(*), count(DISTINCT issue_id) FROM escalations WHERE rule = 'plan_late'"))
        assert tuple(rows.one()) == (n, n)
    eng.db.dispose()
