"""An operator's migration is killed (SIGKILL) while it holds its transaction: no problem is
left half-moved, every chain still verifies, and running the same command again moves each
problem exactly once."""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from zhenggai import Actor, Engine, FixedClock
from zhenggai.engine.definition import builtin_path

pytestmark = pytest.mark.slow

OFFICE = Actor("wang", frozenset({"inspection_office"}))
ADMIN = Actor("admin", frozenset({"admin"}))
N = 6000


def _build(db_url: str, tmp_path: Path) -> Path:
    eng = Engine(db_url, clock=FixedClock("2026-03-10"))
    eng.init()
    eng.open_round("R1", title="巡视", org="省局", feedback_date="2026-03-10", actor=OFFICE)
    src = tmp_path / "list.csv"
    with src.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["序号", "问题", "问题类别", "整改措施", "责任领导", "责任部门", "责任人", "整改时限"])
        for i in range(1, N + 1):
            w.writerow([i, f"问题{i}", "限期整改", "措施", "zhao", "财务处", "li", "2026-09-30"])
    eng.import_issues("R1", src, actor=OFFICE)
    v3 = tmp_path / "v3.yaml"
    text = builtin_path("rectification").read_text(encoding="utf-8").replace("version: 3", "version: 4")
    v3.write_text(text.replace("identified", "recorded"), encoding="utf-8")
    eng.deploy_workflow(v3, actor=ADMIN)
    eng.db.dispose()
    return v3


def _migrate(db_url: str) -> subprocess.Popen[str]:
    args = ["workflow", "migrate", "rectification", "--from", "3", "--to", "4", "--map", "identified=recorded"]
    return subprocess.Popen(
        [sys.executable, "-m", "zhenggai.cli", "--db", db_url, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _writing(db_url: str) -> bool:
    """Whether another process holds a write transaction on the database right now."""
    if db_url.startswith("sqlite:///"):
        conn = sqlite3.connect(db_url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            conn.close()
    import psycopg

    schema = parse_qs(urlsplit(db_url).query)["options"][0].split("=")[-1]
    base = db_url.split("?")[0]
    with psycopg.connect(base, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relname = 'issues' AND l.mode IN ('RowShareLock', 'RowExclusiveLock')",
            (schema,),
        ).fetchone()
    return bool(row and row[0])


def _on_version(eng: Engine, version: int) -> int:
    return sum(1 for v in eng.issues(ADMIN, round_code="R1", limit=N + 10) if v.workflow_version == version)


def test_a_migration_killed_mid_transaction_moves_nothing_and_a_rerun_moves_each_once(
    db_url: str, tmp_path: Path
) -> None:
    _build(db_url, tmp_path)
    proc = _migrate(db_url)
    deadline = time.monotonic() + 60
    while not _writing(db_url):
        assert proc.poll() is None, f"the migration ended before it could be killed: {proc.communicate()}"
        assert time.monotonic() < deadline, "the migration never started writing"
        time.sleep(0.005)
    time.sleep(0.05)  # well inside: rows are being moved
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    deadline = time.monotonic() + 30
    while _writing(db_url):  # PostgreSQL rolls the dead client's transaction back
        assert time.monotonic() < deadline
        time.sleep(0.05)
    eng = Engine(db_url)
    assert _on_version(eng, 3) == N  # nothing was half-moved
    for i in (1, N // 2, N):
        hist = eng.history(f"R1-{i}", ADMIN)
        assert [e["kind"] for e in hist] == ["created"]
        assert eng.verify(f"R1-{i}", ADMIN).ok

    rerun = _migrate(db_url)
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert _on_version(eng, 4) == N
    for i in (1, N // 2, N):
        kinds = [e["kind"] for e in eng.history(f"R1-{i}", ADMIN)]
        assert kinds == ["created", "migrated"]
        assert eng.verify(f"R1-{i}", ADMIN).ok
        assert eng.issue(f"R1-{i}", ADMIN).state == "recorded"
    again = _migrate(db_url)
    again.communicate(timeout=120)
    assert again.returncode == 0
    assert [e["kind"] for e in eng.history("R1-1", ADMIN)].count("migrated") == 1
    eng.db.dispose()
