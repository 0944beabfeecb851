"""``zhenggai scheduler run`` as an operator runs it: a real process, stopped with SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from storyhelpers import started

from zhenggai import Engine, FixedClock


def test_the_scheduler_sweeps_delivers_and_stops_cleanly_on_sigterm(db_url: str, cast):
    clock = FixedClock("2026-06-02")
    eng = Engine(db_url, clock=clock)
    eng.init()
    eng.open_round("R1", title="t", org="省局", feedback_date="2026-06-01", actor=cast.office)
    for i in range(5):
        started(eng, cast, f"P{i}", "phased", due="2026-09-30")  # long overdue by the real clock
    today = Engine(db_url)
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
                # a light is the light of the day it is read: read on the scheduler's (real) clock
                and all(today.issue(f"P{i}", cast.office).light == "red" for i in range(5))
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
        today.db.dispose()
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


def test_a_scheduler_stopped_in_the_middle_of_a_sweep_commits_the_batch_in_hand_and_no_more(
    engine, cast, db_url, tmp_path
):
    """SIGTERM while the sweep is half-way through a long list: the batch being swept is
    finished and committed (with its events and notices), the sweep stops before the next, the
    process says so and exits 0, and what it says it fired is exactly what is stored.  The next
    sweep escalates the rest, each item once."""
    import re

    from dbchecks import assert_consistent, rows, scalar
    from test_crash import problem_list

    batch = 200  # the sweep's batch: one transaction each
    exe = Path(sys.executable).with_name("zhenggai")
    n = 4000
    for attempt in range(4):
        code = f"R{attempt}"
        engine.open_round(code, title="省委巡视组反馈", org="省局", feedback_date="2026-03-10", actor=cast.office)
        engine.import_issues(code, problem_list(tmp_path / f"{code}.csv", n, due="2026-12-31"), actor=cast.office)
        before = scalar(engine, "SELECT count(DISTINCT issue_id) FROM escalations")
        log = tmp_path / f"{code}.log"
        with open(log, "w") as out:  # the real clock: months after these problems were listed
            proc = subprocess.Popen(
                [str(exe), "--db", db_url, "scheduler", "run", "--interval", "0.2", "--deliver-every", "3600",
                 "--every-day"],
                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1", "ZHENGGAI_LANG": "en"},
            )  # fmt: skip
            try:
                deadline = time.monotonic() + 120
                while scalar(engine, "SELECT count(DISTINCT issue_id) FROM escalations") < before + batch:
                    assert proc.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, "the first batch was never committed"
                    time.sleep(0.01)  # polling, not synchronisation
                proc.send_signal(signal.SIGTERM)
                assert proc.wait(120) == 0, log.read_text()
            finally:
                if proc.poll() is None:
                    proc.kill()
        done = rows(
            engine,
            "SELECT DISTINCT i.code FROM escalations x JOIN issues i ON i.id = x.issue_id "
            "JOIN rounds r ON r.id = i.round_id WHERE r.code = :r",
            r=code,
        )
        if len(done) < n:
            break
        n *= 2  # the sweep was done before the signal: a longer list
    else:
        pytest.fail("the sweep finished every time before it could be stopped")
    output = log.read_text()
    assert "(stopped early)" in output and "scheduler stopped" in output, output
    assert len(done) % batch == 0  # whole batches: the one in hand was finished, not cut
    sweeps = re.findall(r"(\d+) issues checked, (\d+) rules fired", output)
    assert len(sweeps) == 1, output  # one sweep, stopped between two batches
    stored = scalar(
        engine,
        "SELECT count(*) FROM escalations x JOIN issues i ON i.id = x.issue_id JOIN rounds r ON r.id = i.round_id "
        "WHERE r.code = :r",
        r=code,
    )
    assert int(sweeps[0][1]) == stored  # what it reported fired is what it committed
    assert_consistent(engine, verify_at_most=40)
    rerun = subprocess.run([str(exe), "--db", db_url, "--json", "sweep"], capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert {f["issue"] for f in report["fired"]} == {f"{code}-{i}" for i in range(1, n + 1)} - {c for (c,) in done}
    assert_consistent(engine, verify_at_most=40)
