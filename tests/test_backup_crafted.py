"""Restore meets files made to hurt it: a view that never ends where the schema version should
be, a table whose name breaks naive SQL, and the staging files of restores killed half-way."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from storyhelpers import add

from zhenggai import Engine, FixedClock
from zhenggai.cli import main


@pytest.fixture
def office(tmp_path: Path, cast) -> tuple[Path, Path]:
    live = tmp_path / "office.db"
    eng = Engine(f"sqlite:///{live}", clock=FixedClock("2026-03-10"))
    eng.init()
    eng.open_round("R1", title="巡视反馈", org="省局", feedback_date="2026-03-10", actor=cast.office)
    add(eng, cast, "P1")
    backup = tmp_path / "backup.db"
    eng.backup(backup)
    eng.db.dispose()
    return live, backup


def _restore(live: Path, path: Path) -> tuple[int, dict]:
    r = CliRunner().invoke(main, ["--db", str(live), "--json", "restore", str(path), "--force"])
    return r.exit_code, json.loads(r.output)


def _crafted(backup: Path, tmp_path: Path, name: str, *sql: str) -> Path:
    path = tmp_path / f"{name}.db"
    path.write_bytes(backup.read_bytes())
    conn = sqlite3.connect(path)
    for statement in sql:
        conn.execute(statement)
    conn.commit()
    conn.close()
    return path


def test_a_never_ending_view_in_place_of_the_schema_version_is_refused_at_once(office, tmp_path: Path):
    live, backup = office
    forever = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT x AS version_num FROM n"
    crafted = _crafted(
        backup, tmp_path, "view", "DROP TABLE alembic_version", f"CREATE VIEW alembic_version AS {forever}"
    )
    t0 = time.monotonic()
    code, out = _restore(live, crafted)
    assert code == 2 and "no schema revision" in out["error"]["message"]["en"], out
    assert time.monotonic() - t0 < 60
    assert Engine(f"sqlite:///{live}").audit_verify().ok


def test_a_table_whose_name_breaks_naive_sql_is_refused_with_a_message(office, tmp_path: Path):
    live, backup = office
    crafted = _crafted(backup, tmp_path, "quote", 'CREATE TABLE "a""b" (x INTEGER)', 'CREATE TABLE "x\'); --" (y)')
    code, out = _restore(live, crafted)
    assert code == 2 and "schema is not zhenggai's" in out["error"]["message"]["en"], out
    assert 'a"b' in out["error"]["message"]["en"]


def test_the_staging_files_of_a_restore_killed_half_way_are_cleared_by_the_next(office, tmp_path: Path):
    live, backup = office
    script = (
        "import sys, time\n"
        "from zhenggai.storage import backup as b\n"
        "from zhenggai.storage.database import Database\n"
        "real = b.rebuild\n"
        "def slow(*a, **kw):\n"
        "    out = real(*a, **kw)\n"
        "    print('staged', flush=True)\n"
        "    time.sleep(60)\n"
        "    return out\n"
        "b.rebuild = slow\n"
        "b.restore(Database(sys.argv[1]), b.Path(sys.argv[2]), force=True)\n"
    )
    pids = []
    for _ in range(3):  # three restores killed while their staging files are on disk
        proc = subprocess.Popen(
            [sys.executable, "-c", script, f"sqlite:///{live}", str(backup)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "staged"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        pids.append(proc.pid)
    left = sorted(p.name for p in tmp_path.glob(".office.db.*"))
    # each restore clears what dead ones left: only the last killed one's files are there, not three sets
    assert left and all(name.split("-", 1)[1].startswith(str(pids[-1])) for name in left), (left, pids)
    code, out = _restore(live, backup)
    assert code == 0, out
    assert sorted(p.name for p in tmp_path.glob(".office.db.*")) == []  # cleared, and its own removed too
