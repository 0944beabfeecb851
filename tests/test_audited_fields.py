"""Every stored field of an issue and its records is on the chain or documented as not audited.

An issue is taken through a full life — described, planned with a measure, signed off with a
comment, started, its measure done, evidence with a note, a mechanism, its lead changed, then
cautioned, supervised and raised a level by the sweep, and its deadline changed (延期申请).  Then each audited column of the issue,
its measures, evidence, sign-offs and mechanisms is changed behind the engine, one at a time:
``verify`` and ``audit verify`` must name it, and once it is put back the issue verifies again.
The columns documented as not audited are changed too, and verify stays quiet about them, as
documented."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from storyhelpers import SHA, started
from test_sweep import sweep_on

from zhenggai import Engine
from zhenggai.engine.replay import AUDITED, NOT_AUDITED
from zhenggai.storage.models import Base

TABLES = ("issues", "measures", "evidence", "signoffs", "mechanisms", "deadline_changes")
P1 = "(SELECT id FROM issues WHERE code = 'P1')"
P3 = "(SELECT id FROM issues WHERE code = 'P3')"  # with no records of its own
WHEN = "'2026-01-05 08:00:00.000000'"

#: (table, column, the value put in its place, what the finding says)
CHANGES: list[tuple[str, str, str, str]] = [
    ("issues", "code", "'P1X'", "content does not match its hash"),
    ("issues", "round_id", "(SELECT id FROM rounds WHERE code = 'R2')", "the issue's round is 'R2'"),
    ("issues", "workflow_id", "(SELECT id FROM workflows WHERE name = 'audit')", "its history puts it on"),
    ("issues", "title", "'别的问题'", "the issue's title is"),
    ("issues", "description", "'改过的描述'", "the issue's description is"),
    ("issues", "category", "'immediate'", "the issue's category is"),
    ("issues", "severity", "'serious'", "the issue's severity is"),
    ("issues", "unit", "'省局/稽查局'", "the issue's unit is"),
    ("issues", "source", "'audit'", "the issue's source is"),
    ("issues", "confidential", "TRUE", "the issue's confidential is"),
    ("issues", "owner", "'someone'", "the issue's owner is"),
    ("issues", "lead", "'someone'", "the issue's lead is"),
    ("issues", "due_date", "'2026-12-31'", "the issue's due_date is"),
    ("issues", "state", "'closed'", "the issue's state closed differs"),
    ("issues", "state_seq", "2", "stage number differs"),
    ("issues", "state_entered_at", WHEN, "the issue's state_entered_at is"),
    ("issues", "state_entered_by", "'someone'", "the issue's state_entered_by is"),
    ("issues", "last_activity_at", WHEN, "the issue's last_activity_at is"),
    ("issues", "stage_fired", "''", "the issue's stage_fired is"),
    ("issues", "final_deadline", "NULL", "the issue's final_deadline is"),
    ("issues", "escalation_level", "0", "the issue's escalation_level is"),
    ("issues", "recurrence_count", "1", "the issue's recurrence count is"),
    ("issues", "seq", "3", "chain head does not match"),
    ("issues", "last_hash", "'" + "f" * 64 + "'", "chain head does not match"),
    ("issues", "version", "99", "the issue's version is"),
    ("issues", "created_at", WHEN, "the issue's created_at is"),
    ("measures", "issue_id", P3, "measures [1] differ"),
    ("measures", "no", "7", "measures [1, 7] differ"),
    ("measures", "text", "'别的措施'", "measure 1's text is"),
    ("measures", "owner", "'someone'", "measure 1's owner is"),
    ("measures", "due_date", "'2026-12-31'", "measure 1's due_date is"),
    ("measures", "target", "'50%'", "measure 1's target is"),
    ("measures", "done_at", "NULL", "measure 1's done_at is"),
    ("measures", "done_by", "'someone'", "measure 1's done_by is"),
    ("evidence", "issue_id", P3, "evidence rows in the history are gone"),
    ("evidence", "measure_no", "NULL", "evidence row 1's measure_no is"),
    ("evidence", "uri", "'oa://files/forged'", "evidence row 1's uri is"),
    ("evidence", "sha256", "'" + "cd" * 32 + "'", "evidence row 1's sha256 is"),
    ("evidence", "note", "'改过的说明'", "evidence row 1's note is"),
    ("evidence", "added_by", "'someone'", "evidence row 1's added_by is"),
    ("evidence", "added_at", WHEN, "evidence row 1's added_at is"),
    ("signoffs", "issue_id", P3, "sign-offs rows in the history are gone"),
    ("signoffs", "role", "'secretary'", "sign-offs row 1's role is"),
    ("signoffs", "actor_id", "'someone'", "sign-offs row 1's actor_id is"),
    ("signoffs", "state", "'identified'", "sign-offs row 1's state is"),
    ("signoffs", "stage_seq", "1", "sign-offs row 1's stage_seq is"),
    ("signoffs", "comment", "'改过的意见'", "sign-offs row 1's comment is"),
    ("signoffs", "at", WHEN, "sign-offs row 1's at is"),
    ("mechanisms", "issue_id", P3, "mechanisms rows in the history are gone"),
    ("mechanisms", "title", "'别的制度'", "mechanisms row 1's title is"),
    ("mechanisms", "reference", "'别的文号'", "mechanisms row 1's reference is"),
    ("mechanisms", "adopted_on", "'2026-01-01'", "mechanisms row 1's adopted_on is"),
    ("mechanisms", "added_by", "'someone'", "mechanisms row 1's added_by is"),
    ("mechanisms", "added_at", WHEN, "mechanisms row 1's added_at is"),
    ("deadline_changes", "issue_id", P3, "deadline changes rows in the history are gone"),
    ("deadline_changes", "no", "7", "deadline changes row 1's no is"),
    ("deadline_changes", "from_due_date", "'2026-01-01'", "deadline changes row 1's from_due_date is"),
    ("deadline_changes", "due_date", "'2026-12-31'", "deadline changes row 1's due_date is"),
    ("deadline_changes", "from_category", "'immediate'", "deadline changes row 1's from_category is"),
    ("deadline_changes", "category", "'immediate'", "deadline changes row 1's category is"),
    ("deadline_changes", "measure_dates", '\'{"1": "2026-01-01"}\'', "deadline changes row 1's measure_dates is"),
    ("deadline_changes", "reason", "'别的理由'", "deadline changes row 1's reason is"),
    ("deadline_changes", "requested_by", "'someone'", "deadline changes row 1's requested_by is"),
    ("deadline_changes", "requested_at", WHEN, "deadline changes row 1's requested_at is"),
    ("deadline_changes", "status", "'pending'", "deadline changes row 1's status is"),
    ("deadline_changes", "decided_by", "'someone'", "deadline changes row 1's decided_by is"),
    ("deadline_changes", "decided_at", WHEN, "deadline changes row 1's decided_at is"),
    ("deadline_changes", "decision", "'别的意见'", "deadline changes row 1's decision is"),
]


def test_every_stored_column_is_audited_or_documented_as_not_audited():
    for table in TABLES:
        columns = [c.name for c in Base.metadata.tables[table].c]
        placed = [*AUDITED[table], *NOT_AUDITED[table]]
        assert sorted(placed) == sorted(columns), table  # each once, none left out, none made up
        assert all(why.zh and why.en for why in NOT_AUDITED[table].values())
    changed = {(t, c) for t, c, _, _ in CHANGES}
    assert changed == {(t, c) for t in TABLES for c in AUDITED[t]}  # the test below changes each


@pytest.fixture
def lived(engine: Engine, cast, round_) -> Engine:
    """P1 through a full life, P2 and P3 beside it, a second round R2."""
    engine.open_round("R2", title="审计整改", org="省局", feedback_date="2026-03-10", actor=cast.office)
    engine.add_issue("R1", "P1", title="问题P1", description="账外资金未入账", category="phased", unit="省局/财务处",
                     owner="li", lead="zhao", due_date="2026-04-30", actor=cast.office)  # fmt: skip
    engine.add_measure("P1", "清查补缴", owner="li", due_date="2026-04-30", target="100%", actor=cast.owner)
    engine.fire("P1", "plan", actor=cast.owner)
    engine.sign_off("P1", "unit_lead", comment="同意该方案", actor=cast.lead)
    engine.fire("P1", "start", actor=cast.owner)
    engine.complete_measure("P1", 1, actor=cast.owner)
    engine.add_evidence("P1", "oa://files/1", SHA, note="入账凭证", measure_no=1, actor=cast.owner)
    engine.add_mechanism("P1", "资金管理办法", reference="财发〔2026〕3号", adopted_on="2026-04-01", actor=cast.owner)
    engine.assign("P1", lead="qian", comment="分管领导调整", actor=cast.office)
    started(engine, cast, "P2", "phased", due="2026-12-31")
    engine.add_issue("R1", "P3", title="问题P3", category="phased", unit="省局/财务处", owner="li", lead="zhao",
                     due_date="2026-12-31", actor=cast.office)  # fmt: skip
    fired = []
    for day in ("2026-05-06", "2026-05-25", "2026-07-01"):  # overdue, past the caution, 30 working days on
        fired += [(f["issue"], f["rule"]) for f in sweep_on(engine, day).fired]
    assert {("P1", "caution"), ("P1", "supervise"), ("P1", "accountability")} <= set(fired)
    view = engine.issue("P1", engine_actor())
    assert view.state == "supervised" and view.escalation_level == 1
    engine.request_extension("P1", "2026-11-30", reason="资金到位需时", actor=cast.owner)  # 延期申请, approved
    engine.decide_extension("P1", approve=True, comment="同意延期", actor=cast.office)
    return engine


def engine_actor():  # type: ignore[no-untyped-def]
    from zhenggai import Actor

    return Actor("wang", frozenset({"inspection_office"}))


def _found(engine: Engine, code: str) -> list[str]:
    return [t.en for _, t in engine.verify(code, engine_actor()).problems]


def _put(engine: Engine, table: str, column: str, value: Any, *, literal: bool, row: int | None = None) -> Any:
    """Set one column of P1 (or of P1's first record in ``table``, or of ``row``); returns the
    row and what it held."""
    with engine.db.engine.begin() as conn:
        if row is not None:
            pass
        elif table == "issues":
            row = conn.execute(text("SELECT id FROM issues WHERE code = 'P1'")).scalar_one()
        else:
            row = conn.execute(text(f"SELECT min(id) FROM {table} WHERE issue_id = {P1}")).scalar_one()
        before = conn.execute(text(f"SELECT {column} FROM {table} WHERE id = :row"), {"row": row}).scalar_one()
        new = value if literal else ":v"
        conn.execute(text(f"UPDATE {table} SET {column} = {new} WHERE id = :row"), {"row": row, "v": value})
    return row, before


def test_each_audited_field_changed_behind_the_engine_is_named_by_verify_and_audit(lived: Engine):
    engine = lived
    assert _found(engine, "P1") == [] and engine.audit_verify().ok
    for table, column, value, says in CHANGES:
        row, before = _put(engine, table, column, value, literal=True)
        code = "P1X" if column == "code" else "P1"
        found = _found(engine, code)
        assert any(says in why for why in found), (table, column, found)
        audit = engine.audit_verify()
        assert any(says in f["reason"].en for f in audit.findings()), (table, column, audit.findings())
        _put(engine, table, column, before, literal=False, row=row)
        assert _found(engine, "P1") == [], (table, column, "not put back")
    assert engine.audit_verify().ok


def test_the_fields_documented_as_not_audited_are_not_held_to_the_history(lived: Engine):
    engine = lived
    _, light = _put(engine, "issues", "light", "'green'", literal=True)
    _, check = _put(engine, "issues", "next_check_at", "NULL", literal=True)
    assert _found(engine, "P1") == []  # as documented
    # and, as documented, worked out again from what is audited: a recompute puts them back
    report = engine.recompute_schedules(since=date(2026, 3, 1))
    assert "P1" in {m["issue"] for m in report.moved}
    with engine.db.engine.begin() as conn:
        again = conn.execute(text("SELECT light, next_check_at FROM issues WHERE code = 'P1'")).one()
    assert again.light == light and again.next_check_at is not None
    assert str(again.next_check_at)[:16] == str(check)[:16]
