"""Someone with write access to the database changes it behind the engine's back.  Whatever
they do — edit, delete, reorder or forge an event, or move an issue's state or chain head —
the issue's own check (``history --verify``) and the whole-database audit (``audit verify``)
both find it, name the issue and the row at fault, and an untouched database passes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import make_url, text
from storyhelpers import add, planned, reviewed

from zhenggai import Actor, Engine
from zhenggai.cli import main
from zhenggai.engine.actors import SYSTEM
from zhenggai.engine.errors import Forbidden
from zhenggai.engine.history import GENESIS, HASHED_FIELDS, event_hash


def sql(engine: Engine, statement: str, **params: Any) -> Any:
    with engine.db.engine.begin() as conn:
        return conn.execute(text(statement), params)


def event_id(engine: Engine, code: str, seq: int) -> int:
    return sql(
        engine,
        "SELECT e.id FROM events e JOIN issues i ON i.id = e.issue_id WHERE i.code = :c AND e.seq = :s",
        c=code,
        s=seq,
    ).scalar_one()


def cli_audit(db_url: str, **env: str) -> tuple[int, dict[str, Any]]:
    r = CliRunner().invoke(main, ["--db", db_url, "audit", "verify", "--json"], env=env, catch_exceptions=False)
    return r.exit_code, json.loads(r.output)


def behind_the_engine(engine: Engine, statements: list[str]) -> None:
    """Statements run as someone with the database's password would run them: without the
    foreign keys the engine's own connections enforce."""
    if engine.db.is_sqlite:
        raw = sqlite3.connect(make_url(engine.db.url).database)  # foreign keys are off by default
        with raw:
            for s in statements:
                raw.execute(s)
        raw.close()
    else:
        with engine.db.engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # no FK triggers
            for s in statements:
                conn.execute(text(s))


@pytest.fixture
def office_database(engine: Engine, cast, round_) -> Engine:
    """P1 was closed after the whole story (11 events); P2 has just been planned; neither has
    been touched since, and both verify."""
    reviewed(engine, cast, "P1")
    engine.sign_off("P1", "inspection_office", actor=cast.office)
    engine.fire("P1", "close", actor=cast.office, comment="对账销号")
    planned(engine, cast, "P2")
    assert engine.verify("P1", cast.office).ok and engine.verify("P2", cast.office).ok
    return engine


def test_an_untouched_database_passes_the_audit(office_database: Engine, db_url: str):
    report = office_database.audit_verify()
    assert report.ok, report.to_dict()
    assert (report.issues, report.events, report.findings()) == (2, 11 + 3, [])
    code, out = cli_audit(db_url)
    assert code == 0 and out["ok"] and out["events"] == 14 and out["problems"] == []


def test_only_the_system_or_an_administrator_over_every_unit_audits(office_database: Engine, cast):
    assert office_database.audit_verify(SYSTEM).ok
    assert office_database.audit_verify(Actor("root", frozenset({"admin"}))).ok
    for who in (cast.owner, cast.office, Actor("unit_admin", frozenset({"admin"}), ("省局/财务处",))):
        with pytest.raises(Forbidden):
            office_database.audit_verify(who)


def _edit_data(engine: Engine) -> tuple[int, int, str]:
    victim = event_id(engine, "P1", 2)  # measure_added: the measure's text
    sql(engine, "UPDATE events SET data = :d WHERE id = :i", d='{"no": 1, "text": "另一项措施"}', i=victim)
    return 2, victim, "content does not match its hash"


def _delete_row(engine: Engine) -> tuple[int, int, str]:
    after = event_id(engine, "P1", 5)
    sql(engine, "DELETE FROM events WHERE id = :i", i=event_id(engine, "P1", 4))
    return 5, after, "sequence gap: expected 4, found 5"


def _swap_order(engine: Engine) -> tuple[int, int, str]:
    second, third = event_id(engine, "P1", 2), event_id(engine, "P1", 3)
    sql(engine, "UPDATE events SET seq = 1000 WHERE id = :i", i=second)
    sql(engine, "UPDATE events SET seq = 2 WHERE id = :i", i=third)
    sql(engine, "UPDATE events SET seq = 3 WHERE id = :i", i=second)
    return 2, third, "previous hash does not match"


def _forge_event(engine: Engine) -> tuple[int, int, str]:
    """A correctly hashed 12th event reopening the closed issue, appended to the chain."""
    iid, head = sql(engine, "SELECT id, last_hash FROM issues WHERE code = 'P1'").one()
    values = dict(
        seq=12,
        kind="transition",
        trigger="reopen",
        from_state="closed",
        to_state="in_progress",
        actor_id="wang",
        role="inspection_office",
        at=datetime(2026, 3, 11, tzinfo=UTC),
        comment=None,
        data="{}",
        request_id=None,
    )
    row = {**values, "at": datetime(2026, 3, 11), "issue_id": iid, "prev_hash": head}
    row["hash"] = event_hash("P1", head, values)
    sql(
        engine,
        'INSERT INTO events (issue_id, seq, kind, "trigger", from_state, to_state, actor_id, role, at, comment,'
        " data, request_id, prev_hash, hash) VALUES (:issue_id, :seq, :kind, :trigger, :from_state, :to_state,"
        " :actor_id, :role, :at, :comment, :data, :request_id, :prev_hash, :hash)",
        **row,
    )
    return 12, event_id(engine, "P1", 12), "chain head does not match"


def _change_state(engine: Engine) -> tuple[int, None, str]:
    sql(engine, "UPDATE issues SET state = 'in_progress' WHERE code = 'P1'")
    return 0, None, "the issue's state in_progress differs from its history's closed"


def _change_last_hash(engine: Engine) -> tuple[int, int, str]:
    sql(engine, "UPDATE issues SET last_hash = :h WHERE code = 'P1'", h="f" * 64)
    return 11, event_id(engine, "P1", 11), "chain head does not match"


def _change_seq(engine: Engine) -> tuple[int, int, str]:
    sql(engine, "UPDATE issues SET seq = 10 WHERE code = 'P1'")
    return 11, event_id(engine, "P1", 11), "chain head does not match"


@pytest.mark.parametrize(
    "tamper",
    [_edit_data, _delete_row, _swap_order, _forge_event, _change_state, _change_last_hash, _change_seq],
    ids=lambda f: f.__name__.strip("_"),
)
def test_tampering_is_found_by_the_issues_check_and_by_the_audit_which_name_the_row(
    office_database: Engine, cast, db_url: str, tamper: Callable[[Engine], tuple[int, int | None, str]]
):
    seq, row, why = tamper(office_database)

    rep = office_database.verify("P1", cast.office)
    assert any(s == seq and why in t.en for s, t in rep.problems), rep.to_dict()
    assert rep.event_ids.get(seq) == row
    assert office_database.verify("P2", cast.office).ok

    report = office_database.audit_verify()
    assert not report.ok and [r.issue for r in report.bad] == ["P1"]
    found = [f for f in report.findings() if f["issue"] == "P1" and f["seq"] == seq and why in f["reason"].en]
    assert found and found[0]["event_id"] == row, report.to_dict()

    code, out = cli_audit(db_url)
    assert code == 8 and not out["ok"] and out["bad_issues"] == ["P1"]
    assert any(
        p["issue"] == "P1" and p["seq"] == seq and p["event_id"] == row and why in p["reason"]["en"]
        for p in out["problems"]
    )


def test_the_cli_report_names_the_issue_and_the_row_in_both_languages(office_database: Engine, db_url: str):
    seq, row, _ = _delete_row(office_database)
    r = CliRunner().invoke(main, ["--db", db_url, "audit", "verify"], catch_exceptions=False)
    assert r.exit_code == 8
    assert f"P1 #{seq} (event id {row}): 序号不连续" in r.output and "sequence gap" in r.output


def test_an_event_whose_issue_is_gone_is_found_by_the_audit(office_database: Engine, db_url: str):
    iid = sql(office_database, "SELECT id FROM issues WHERE code = 'P2'").scalar_one()
    behind_the_engine(
        office_database,
        [
            f"DELETE FROM measures WHERE issue_id = {iid}",
            f"DELETE FROM outbox WHERE issue_id = {iid}",
            f"DELETE FROM issues WHERE id = {iid}",  # its three events stay behind
        ],
    )
    report = office_database.audit_verify()
    assert not report.ok and report.bad == [] and report.orphan_events == 3
    assert {(f["issue"], f["seq"]) for f in report.findings()} == {(None, 1), (None, 2), (None, 3)}
    assert all(f"issue_id {iid}" in f["reason"].en for f in report.findings())
    code, out = cli_audit(db_url)
    assert code == 8 and out["orphan_events"] == 3


def test_a_duplicated_seq_is_found_even_without_the_unique_constraint(office_database: Engine, cast):
    """Were the constraint that keeps one row per (issue, seq) dropped, a copied row would
    still be read and named."""
    if office_database.db.is_sqlite:  # SQLite cannot drop a constraint: rebuild the table without it
        behind_the_engine(
            office_database,
            [
                "CREATE TABLE events_copy AS SELECT * FROM events",
                "DROP TABLE events",
                "ALTER TABLE events_copy RENAME TO events",
            ],
        )
    else:
        sql(office_database, "ALTER TABLE events DROP CONSTRAINT uq_events_issue_id_seq")
    copy_id = sql(office_database, "SELECT MAX(id) + 1 FROM events").scalar_one()
    original = event_id(office_database, "P1", 5)
    columns = ", ".join(f'"{c}"' for c in ("issue_id", "seq", *HASHED_FIELDS[1:], "prev_hash", "hash", "key_id"))
    sql(
        office_database,
        f"INSERT INTO events (id, {columns}) SELECT {copy_id}, {columns} FROM events WHERE id = {original}",
    )
    rep = office_database.verify("P1", cast.office)
    assert any(s == 5 and "duplicate sequence number 5" in t.en for s, t in rep.problems)
    report = office_database.audit_verify()
    dup = [f for f in report.findings() if "duplicate" in f["reason"].en]
    assert [(f["issue"], f["seq"], f["event_id"]) for f in dup] == [("P1", 5, copy_id)]


def _rewrite_without_the_key(engine: Engine, code: str) -> None:
    """Change an event, then recompute every hash after it as plain sha256: without the key
    that is all a writer can do."""
    with engine.db.engine.begin() as conn:
        iid = conn.execute(text("SELECT id FROM issues WHERE code = :c"), {"c": code}).scalar_one()
        conn.execute(text("UPDATE events SET actor_id = 'someone_else' WHERE issue_id = :i AND seq = 2"), {"i": iid})
        prev = GENESIS
        for r in conn.execute(text("SELECT * FROM events WHERE issue_id = :i ORDER BY seq"), {"i": iid}).all():
            values = {k: getattr(r, k) for k in HASHED_FIELDS}
            at = values["at"]
            values["at"] = (datetime.fromisoformat(at) if isinstance(at, str) else at).replace(tzinfo=UTC)
            h = event_hash(code, prev, values)
            conn.execute(
                text("UPDATE events SET prev_hash = :p, hash = :h, key_id = NULL WHERE id = :id"),
                {"p": prev, "h": h, "id": r.id},
            )
            prev = h
        conn.execute(text("UPDATE issues SET last_hash = :h WHERE id = :i"), {"h": prev, "i": iid})


def test_with_a_chain_key_a_chain_rewritten_without_it_fails_the_audit(db_url: str, cast, clock, monkeypatch):
    secret = "a secret kept outside the database"
    monkeypatch.setenv("ZHENGGAI_CHAIN_KEY", secret)
    keyed = Engine(db_url, clock=clock)
    keyed.init()
    keyed.open_round("R1", title="t", org="省局", feedback_date="2026-03-10", actor=cast.office)
    add(keyed, cast, "P1")
    keyed.add_measure("P1", "措施", owner="li", due_date="2026-05-01", actor=cast.owner)
    add(keyed, cast, "P2")
    assert keyed.audit_verify().ok and cli_audit(db_url, ZHENGGAI_CHAIN_KEY=secret)[0] == 0

    _rewrite_without_the_key(keyed, "P1")

    rep = keyed.verify("P1", cast.office)
    assert any("not keyed although a chain key is configured" in t.en for _, t in rep.problems)
    report = keyed.audit_verify()
    assert [r.issue for r in report.bad] == ["P1"]
    unkeyed = [f for f in report.findings() if "not keyed" in f["reason"].en]
    assert [(f["seq"], f["event_id"]) for f in unkeyed] == [
        (1, event_id(keyed, "P1", 1)),
        (2, event_id(keyed, "P1", 2)),
    ]
    code, out = cli_audit(db_url, ZHENGGAI_CHAIN_KEY=secret)
    assert code == 8 and out["bad_issues"] == ["P1"]
    keyed.db.dispose()
