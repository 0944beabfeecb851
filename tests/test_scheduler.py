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
                and all(eng.issue(f"P{i}", cast.office).state == "supervised" for i in range(5))
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
        assert rules.count("supervise") == 1 and rules.count("caution") == 1  # each once, however many runs
    eng.db.dispose()
