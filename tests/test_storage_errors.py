"""Storage trouble reaches the caller as a clear error, never a traceback or a half-write."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from storyhelpers import add

from zhenggai import Engine
from zhenggai.engine.errors import Busy, StorageUnavailable


def test_a_long_held_sqlite_lock_is_reported_as_busy_and_reads_still_work(tmp_path, cast, clock):
    path = tmp_path / "z.db"
    eng = Engine(f"sqlite:///{path}", clock=clock)
    eng.init()
    eng.open_round("R1", title="t", org="省局", feedback_date="2026-03-10", actor=cast.office)
    add(eng, cast, "P1")
    eng.db.dispose()
    impatient = Engine(f"sqlite:///{path}?timeout=0.5", clock=clock)  # wait at most half a second
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        # readers are not blocked (a blocked one would give up after half a second with Busy)
        assert impatient.issue("P1", cast.office).state == "identified"
        with pytest.raises(Busy) as exc:
            impatient.add_measure("P1", "措施", owner="li", due_date="2026-05-01", actor=cast.owner)
        assert "nothing was changed" in exc.value.text.en
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    impatient.add_measure("P1", "措施", owner="li", due_date="2026-05-01", actor=cast.owner)  # and it recovers
    assert len(impatient.history("P1", cast.office)) == 2


def test_a_writer_waits_for_a_short_lock_instead_of_failing(tmp_path, cast, clock):
    path = tmp_path / "z.db"
    eng = Engine(f"sqlite:///{path}", clock=clock)
    eng.init()
    eng.open_round("R1", title="t", org="省局", feedback_date="2026-03-10", actor=cast.office)
    add(eng, cast, "P1")
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    threading.Timer(0.3, lambda: (blocker.execute("ROLLBACK"), blocker.close())).start()
    eng.add_measure("P1", "措施", owner="li", due_date="2026-05-01", actor=cast.owner)
    assert len(eng.history("P1", cast.office)) == 2


def test_an_unreachable_database_is_reported_plainly(cast):
    eng = Engine("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(StorageUnavailable) as exc:
        eng.rounds()
    assert "cannot reach the database" in exc.value.text.en


def test_an_in_memory_sqlite_database_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="in-memory"):
        Engine("sqlite://")


def test_a_value_storage_cannot_hold_is_bad_input_not_a_crash(engine, cast, round_):
    """A number beyond the column's range (or, on PostgreSQL, text with a NUL) is refused as
    bad input naming no stack trace, and nothing changes."""
    from zhenggai.engine.errors import InvalidInput

    with pytest.raises(InvalidInput) as exc:
        engine.issues(cast.office, offset=10**30)
    assert "out of range for storage" in exc.value.text.en
    with pytest.raises(InvalidInput):
        engine.workflow("rectification", 10**25)
    assert engine.issues(cast.office) == []
