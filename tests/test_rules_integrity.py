"""The rules are kept like the history they govern: a workflow whose stored text was changed
behind the engine is not used, a step the rules never allowed is found by verify even in a
whole chain, and with a chain key a rewrite of the rules and their digest is found too."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from storyhelpers import add

from zhenggai import Engine
from zhenggai.cli import main
from zhenggai.engine.errors import HistoryTampered

# the shipped rule "close from reviewed", rewritten to close from identified, as the owner
CLOSE = "  - trigger: close\n"
FORGED = "  - trigger: close\n    source: identified\n    dest: closed\n    roles: [owner]\n"


def _rewrite(engine: Engine, *, digest: bool) -> tuple[str, str]:
    """Edit the round's workflow text in the database (and its digest too, if ``digest``), as
    a database writer would; returns the original text and digest."""
    with engine.db.engine.begin() as conn:
        wid, source, old_digest = conn.execute(
            text("SELECT w.id, w.source, w.digest FROM workflows w JOIN rounds r ON r.workflow_id = w.id")
        ).one()
        start = source.index(CLOSE)
        end = source.index("\n  - trigger:", start + 1) + 1
        forged = source[:start] + FORGED + source[end:]
        new_digest = hashlib.sha256(forged.encode()).hexdigest() if digest else old_digest
        conn.execute(
            text("UPDATE workflows SET source = :s, digest = :d WHERE id = :i"),
            {"s": forged, "d": new_digest, "i": wid},
        )
    return source, old_digest


def _put_back(engine: Engine, source: str, digest: str) -> None:
    with engine.db.engine.begin() as conn:
        conn.execute(text("UPDATE workflows SET source = :s, digest = :d WHERE source LIKE :p"),
                     {"s": source, "d": digest, "p": "%source: identified\n    dest: closed%"})  # fmt: skip


def test_a_workflow_whose_text_was_changed_behind_the_engine_is_not_used(db_url: str, clock, cast):
    engine = Engine(db_url, clock=clock)
    engine.init()
    engine.open_round("R1", title="巡视反馈", org="省局", feedback_date="2026-03-10", actor=cast.office)
    add(engine, cast, "P1", "long_term", due="2026-12-31")
    _rewrite(engine, digest=False)
    fresh = Engine(db_url, clock=clock)  # a process that reads the rules afresh
    with pytest.raises(HistoryTampered) as exc:
        fresh.fire("P1", "close", actor=cast.owner)
    assert "does not match its digest" in exc.value.text.en
    with pytest.raises(HistoryTampered):  # nor is an issue shown under rules that cannot be trusted
        fresh.issue("P1", cast.office)
    report = fresh.audit_verify()
    assert not report.ok and report.bad_workflows == ["rectification v3"]
    assert any("does not match its digest" in p["reason"]["en"] for p in report.to_dict()["problems"])
    assert "does not match its digest" in fresh.verify("P1", cast.office).problems[0][1].en
    fresh.db.dispose()
    engine.db.dispose()


def test_a_step_the_rules_never_allowed_is_found_even_in_a_whole_chain(db_url: str, clock, cast):
    engine = Engine(db_url, clock=clock, chain_key=None)
    engine.init()
    engine.open_round("R1", title="巡视反馈", org="省局", feedback_date="2026-03-10", actor=cast.office)
    add(engine, cast, "P1", "long_term", due="2026-12-31")
    source, digest = _rewrite(engine, digest=True)  # the rules and their digest rewritten together
    forger = Engine(db_url, clock=clock, chain_key=None)
    forger.fire("P1", "close", actor=cast.owner)  # straight from identified, as the forged rules allow
    _put_back(engine, source, digest)  # and the rules put back as they were
    checker = Engine(db_url, clock=clock, chain_key=None)
    rep = checker.verify("P1", cast.office)
    assert not rep.ok
    [(seq, why)] = rep.problems
    assert seq == 2 and "close (identified → closed, role owner) is not a step rectification v3 allows" in why.en
    audit = checker.audit_verify()
    assert not audit.ok and audit.bad[0].issue == "P1" and not audit.bad_workflows
    for e in (engine, forger, checker):
        e.db.dispose()


def test_with_a_chain_key_rules_rewritten_with_their_digest_differ_from_what_the_history_recorded(
    db_url: str, clock, cast
):
    key = "a chain key of the bureau's own, 32+ bytes"
    engine = Engine(db_url, clock=clock, chain_key=key)
    engine.init()
    engine.open_round("R1", title="巡视反馈", org="省局", feedback_date="2026-03-10", actor=cast.office)
    add(engine, cast, "P1", "long_term", due="2026-12-31")
    _rewrite(engine, digest=True)
    checker = Engine(db_url, clock=clock, chain_key=key)
    rep = checker.verify("P1", cast.office)
    assert not rep.ok and any("differ from those the history recorded" in why.en for _, why in rep.problems)
    engine.db.dispose()
    checker.db.dispose()


def test_a_backup_whose_rules_were_edited_is_refused_by_restore(tmp_path: Path, clock, cast):
    path = tmp_path / "office.db"
    engine = Engine(f"sqlite:///{path}", clock=clock)
    engine.init()
    engine.open_round("R1", title="巡视反馈", org="省局", feedback_date="2026-03-10", actor=cast.office)
    add(engine, cast, "P1", "long_term", due="2026-12-31")
    backup = tmp_path / "backup.db"
    engine.backup(backup)
    crafted = Engine(f"sqlite:///{backup}", clock=clock)
    _rewrite(crafted, digest=False)
    crafted.db.dispose()
    engine.db.dispose()
    r = CliRunner().invoke(main, ["--db", str(path), "--json", "restore", str(backup), "--force"])
    out = json.loads(r.output)
    assert r.exit_code == 2 and "history does not verify" in out["error"]["message"]["en"]
    assert "workflow rectification v3" in out["error"]["message"]["en"]
    assert Engine(f"sqlite:///{path}").audit_verify().ok  # the live database is as it was
