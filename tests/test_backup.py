"""An office backs up its SQLite database while people keep working, and restores it on a new
machine; a damaged or foreign file is never restored over good data."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from storyhelpers import SHA, started

from zhenggai import Engine, FixedClock
from zhenggai.cli import main
from zhenggai.storage.database import Database

ISSUES = 12


def cli(db: Path | str, *args: str) -> tuple[int, dict]:
    r = CliRunner().invoke(main, ["--db", str(db), "--json", *args], catch_exceptions=False)
    return r.exit_code, json.loads(r.output)


def dump(path: Path) -> list[str]:
    """Every row of every table, as SQL: two databases with equal dumps hold the same data."""
    conn = sqlite3.connect(path)
    try:
        return [line for line in conn.iterdump() if not line.startswith(("BEGIN", "COMMIT"))]
    finally:
        conn.close()


def chains(path: Path) -> dict[str, list[str]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT i.code, e.hash FROM events e JOIN issues i ON i.id = e.issue_id ORDER BY i.code, e.seq"
        ).fetchall()
    finally:
        conn.close()
    out: dict[str, list[str]] = {}
    for code, h in rows:
        out.setdefault(code, []).append(h)
    return out


@pytest.fixture
def live(tmp_path: Path, cast) -> Path:
    """An office's database: a round and twelve problems being worked on."""
    path = tmp_path / "office.db"
    eng = Engine(f"sqlite:///{path}", clock=FixedClock("2026-03-10"))
    eng.init()
    eng.open_round("R1", title="省委巡视组反馈", org="省局", feedback_date="2026-03-10", actor=cast.office)
    for i in range(ISSUES):
        started(eng, cast, f"P{i}")
        eng.complete_measure(f"P{i}", 1, actor=cast.owner)
        eng.add_evidence(f"P{i}", "oa://files/1", SHA, actor=cast.owner)
    eng.db.dispose()
    return path


def test_a_backup_taken_while_transitions_fire_restores_to_a_database_that_verifies(live: Path, tmp_path, cast):
    stop = threading.Event()
    fired: list[int] = []

    def keep_working() -> None:
        eng = Engine(f"sqlite:///{live}", clock=FixedClock("2026-04-01"))
        while not stop.is_set():
            for i in range(ISSUES):
                eng.fire(f"P{i}", "submit_self_check", actor=cast.owner)
                eng.fire(f"P{i}", "send_back", actor=cast.reviewer, comment="补充材料")
                fired.append(2)
        eng.db.dispose()

    before = sum(len(c) for c in chains(live).values())
    worker = threading.Thread(target=keep_working)
    worker.start()
    try:
        while sum(fired) < 50:
            time.sleep(0.01)
        code, info = cli(live, "backup", str(tmp_path / "office-backup.db"))
        at_backup = sum(fired)
        while sum(fired) < at_backup + 50:  # people go on working after the backup
            time.sleep(0.01)
    finally:
        stop.set()
        worker.join()
    assert code == 0, info
    backup = tmp_path / "office-backup.db"
    assert info["issues"] == ISSUES and before < info["events"] < sum(len(c) for c in chains(live).values())

    fresh = tmp_path / "elsewhere" / "zhenggai.db"
    fresh.parent.mkdir()
    code, restored = cli(fresh, "restore", str(backup))
    assert code == 0, restored
    assert (restored["issues"], restored["events"]) == (info["issues"], info["events"])
    assert dump(fresh) == dump(backup)
    code, audit = cli(fresh, "audit", "verify")
    assert code == 0 and audit["ok"] and audit["events"] == info["events"]
    # the snapshot is one moment of the live history: each chain a beginning of the live one
    now = chains(live)
    assert all(now[code][: len(hashes)] == hashes for code, hashes in chains(fresh).items())
    assert Engine(f"sqlite:///{fresh}").audit_verify().ok


def test_a_backup_does_not_overwrite_a_file_unless_forced(live: Path, tmp_path):
    target = tmp_path / "backup.db"
    target.write_text("last week's notes")
    code, out = cli(live, "backup", str(target))
    assert code == 3 and "--force" in out["error"]["message"]["en"]
    assert target.read_text() == "last week's notes"
    assert not list(tmp_path.glob(".backup.db.*"))
    code, out = cli(live, "backup", str(target), "--force")
    assert code == 0 and out["issues"] == ISSUES and dump(target) == dump(live)


def test_a_database_that_holds_data_is_replaced_only_when_forced(live: Path, tmp_path, cast):
    backup = tmp_path / "backup.db"
    assert cli(live, "backup", str(backup))[0] == 0
    other = tmp_path / "other.db"
    eng = Engine(f"sqlite:///{other}", clock=FixedClock("2026-03-10"))
    eng.init()
    eng.open_round("R9", title="另一轮", org="省局", feedback_date="2026-03-10", actor=cast.office)
    eng.add_issue("R9", "Q1", title="t", category="immediate", unit="省局", owner="li", lead="zhao", actor=cast.office)
    eng.db.dispose()
    before = dump(other)
    code, out = cli(other, "restore", str(backup))
    assert code == 3 and "holds data (1 issues, 1 events)" in out["error"]["message"]["en"]
    assert dump(other) == before
    code, out = cli(other, "restore", str(backup), "--force")
    assert code == 0 and dump(other) == dump(backup)


def _damaged(backup: Path, tmp_path: Path) -> Path:
    bad = tmp_path / "damaged.db"
    data = bytearray(backup.read_bytes())
    page = 4096
    for offset in range(2 * page, len(data), 3 * page):  # scribble over every third page
        data[offset + 8 : offset + 400] = b"\xff" * 392
    bad.write_bytes(bytes(data))
    return bad


def _foreign(tmp_path: Path) -> Path:
    path = tmp_path / "accounts.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE ledger (id INTEGER PRIMARY KEY, amount REAL)")
    conn.commit()
    conn.close()
    return path


def _altered(backup: Path, tmp_path: Path, name: str, sql: str) -> Path:
    """A copy of the backup with ``sql`` run on it behind zhenggai's back."""
    path = tmp_path / f"{name}.db"
    path.write_bytes(backup.read_bytes())
    conn = sqlite3.connect(path)
    conn.execute(sql)
    conn.commit()
    conn.close()
    return path


EAT_SIGNOFFS = "AFTER INSERT ON signoffs BEGIN DELETE FROM signoffs WHERE id = NEW.id; END"
ALTERED = {
    "newer": "UPDATE alembic_version SET version_num = '9999'",
    # a backup that would silently eat every sign-off made after it is restored
    "trigger": f"CREATE TRIGGER eat {EAT_SIGNOFFS}",
    # the same trigger, named to pass for one of SQLite's own
    "sqlite_named_trigger": f"CREATE TRIGGER sqlitez_evil {EAT_SIGNOFFS}",
    "tampered": "UPDATE issues SET state = 'closed' WHERE id = (SELECT min(id) FROM issues)",
}


def _not_sqlite(tmp_path: Path) -> Path:
    path = tmp_path / "notes.db"
    path.write_text("这不是数据库 / not a database\n" * 100)
    return path


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda b, t: _damaged(b, t), "damaged"),
        (lambda b, t: _foreign(t), "not a zhenggai database"),
        (lambda b, t: _altered(b, t, "newer", ALTERED["newer"]), "unknown to this version"),
        (lambda b, t: _not_sqlite(t), "not an SQLite database"),
        (lambda b, t: _altered(b, t, "trigger", ALTERED["trigger"]), "schema is not zhenggai's (trigger eat)"),
        (
            lambda b, t: _altered(b, t, "sqlitez", ALTERED["sqlite_named_trigger"]),
            "schema is not zhenggai's (trigger sqlitez_evil)",
        ),
        (lambda b, t: _altered(b, t, "tampered", ALTERED["tampered"]), "history does not verify"),
    ],
    ids=["damaged", "foreign", "newer", "not_sqlite", "trigger", "sqlite_named_trigger", "tampered"],
)
def test_a_damaged_or_foreign_file_is_refused_and_the_database_is_left_as_it_was(
    live: Path, tmp_path: Path, make, why: str
):
    backup = tmp_path / "backup.db"
    assert cli(live, "backup", str(backup))[0] == 0
    bad = make(backup, tmp_path)
    before = dump(live)
    for force in ((), ("--force",)):
        code, out = cli(live, "restore", str(bad), *force)
        assert code == 2 and why in out["error"]["message"]["en"], out
        assert "nothing was changed" in out["error"]["message"]["en"]
        assert out["error"]["message"]["en"].startswith(str(bad))  # the file given, not a staging copy
    assert dump(live) == before
    assert Engine(f"sqlite:///{live}").audit_verify().ok
    assert not list(tmp_path.glob(".office.db.*"))


def test_a_backup_from_an_older_version_is_upgraded_as_it_is_restored(tmp_path: Path):
    old = tmp_path / "old.db"
    Database(f"sqlite:///{old}").upgrade("0003")
    target = tmp_path / "new.db"
    code, out = cli(target, "restore", str(old))
    assert code == 0 and out["upgraded_from"] == "0003"
    head = Database(f"sqlite:///{target}").head_revision()
    assert out["revision"] == head and Database(f"sqlite:///{target}").current_revision() == head
    assert cli(target, "audit", "verify")[0] == 0


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_is_pointed_to_pg_dump(db_url: str, tmp_path: Path):
    Engine(db_url).init()
    for args in (("backup", str(tmp_path / "b.db")), ("restore", str(tmp_path / "b.db"))):
        code, out = cli(db_url, *args)
        assert code == 10 and "pg_dump" in out["error"]["message"]["en"] and "pg_dump" in out["error"]["message"]["zh"]
    assert not (tmp_path / "b.db").exists()


def test_what_the_checks_cannot_see_in_a_schema_never_goes_live(live: Path, tmp_path: Path):
    """A unique index narrowed to nothing and a CHECK hidden in a table's SQL pass a schema
    comparison by columns and indexes; restored, only the rows arrive, in zhenggai's schema."""
    backup = tmp_path / "backup.db"
    assert cli(live, "backup", str(backup))[0] == 0
    crafted = tmp_path / "crafted.db"
    crafted.write_bytes(backup.read_bytes())
    conn = sqlite3.connect(crafted)
    conn.executescript(
        """
        DROP INDEX uq_events_request_id;
        CREATE UNIQUE INDEX uq_events_request_id ON events (request_id) WHERE 0;
        PRAGMA writable_schema = ON;
        UPDATE sqlite_master SET sql = replace(sql, 'PRIMARY KEY (id)', 'PRIMARY KEY (id), CHECK (role <> ''secretary'')')
            WHERE name = 'signoffs';
        PRAGMA writable_schema = OFF;
        """
    )
    conn.commit()
    crafted_schema = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL"))
    conn.close()
    assert "WHERE 0" in crafted_schema["uq_events_request_id"] and "CHECK" in crafted_schema["signoffs"]
    target = tmp_path / "restored.db"
    code, out = cli(target, "restore", str(crafted))
    assert code == 0, out
    restored = sqlite3.connect(target)
    schema = dict(restored.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL"))
    restored.close()
    assert "WHERE 0" not in schema["uq_events_request_id"] and "CHECK" not in schema["signoffs"]
    assert dump(target) == dump(live)  # every row, nothing else
    assert Engine(f"sqlite:///{target}").audit_verify().ok
