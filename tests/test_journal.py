"""The one write path on its own: each write appends one event chained to the last and moves
the issue's head (seq, hash, version) with it, or writes nothing at all."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from storyhelpers import add

from zhenggai import Engine
from zhenggai.engine import journal
from zhenggai.engine.errors import ConcurrentUpdate
from zhenggai.engine.history import GENESIS, ChainKey, event_hash
from zhenggai.storage.repository import Repository


def test_the_first_entry_starts_the_chain_and_each_next_one_links_to_it():
    now = datetime(2026, 3, 10, 1, tzinfo=UTC)
    first, head = journal.entry(None, "P1", None, "created", "wang", "inspection_office", now, to_state="identified")
    assert (first["seq"], first["prev_hash"], head.version) == (1, GENESIS, 1)
    assert first["hash"] == head.last_hash == event_hash("P1", GENESIS, first)
    second, head2 = journal.entry(None, "P1", head, "signed_off", "zhao", "unit_lead", now, data={"role": "unit_lead"})
    assert (second["seq"], second["prev_hash"], head2.seq, head2.version) == (2, head.last_hash, 2, 2)
    assert json.loads(second["data"]) == {"role": "unit_lead"} and first["data"] == "{}"
    key = ChainKey.from_secret("a key of sixteen bytes or more")
    keyed, _ = journal.entry(key, "P1", head, "signed_off", "zhao", "unit_lead", now, data={"role": "unit_lead"})
    assert keyed["key_id"] == key.id and second["key_id"] is None
    assert keyed["hash"] != second["hash"] and keyed["hash"] == event_hash("P1", head.last_hash, keyed, key)


def _head(engine: Engine, code: str):
    with engine.db.read() as conn:
        return Repository(conn).issues.head(code, lock=False)


def test_an_append_writes_the_event_and_the_head_together_and_returns_the_new_head(engine: Engine, cast, round_):
    add(engine, cast, "P1")
    engine.channels = ["log", "webhook"]
    before = _head(engine, "P1")
    now = engine.clock.now()
    with engine.db.write() as conn:
        repo = Repository(conn)
        d = engine.definitions.get(repo, before.workflow_id)
        after = journal.append(
            engine, repo, d, before, "escalation_remind", cast.office, "inspection_office", now,
            issue_values={"stage_fired": "x", "escalation_level": 0, "final_deadline": None},
            data={"rule": "x"}, activity=False,
        )
    stored = _head(engine, "P1")
    assert after == stored  # what the write returns is what a read back would give
    assert (stored.seq, stored.version) == (before.seq + 1, before.version + 1)
    history = engine.history("P1", cast.office)
    assert [e["seq"] for e in history] == [1, 2] and history[-1]["hash"] == stored.last_hash
    assert engine.verify("P1", cast.office).ok
    feed = [n for n in engine.outbox(limit=100) if n["channel"] == "webhook"]
    assert [(n["payload"]["seq"], n["payload"]["event"]) for n in feed] == [(2, "escalation_remind")]


def test_an_append_on_a_stale_head_is_refused_and_writes_nothing(engine: Engine, cast, round_):
    add(engine, cast, "P1")
    stale = _head(engine, "P1")
    engine.add_measure("P1", "措施", actor=cast.owner)  # someone else wrote first
    now = engine.clock.now()
    with pytest.raises(ConcurrentUpdate), engine.db.write() as conn:
        repo = Repository(conn)
        d = engine.definitions.get(repo, stale.workflow_id)
        journal.append(engine, repo, d, stale, "escalation_remind", cast.office, "inspection_office", now)
    assert [e["kind"] for e in engine.history("P1", cast.office)] == ["created", "measure_added"]
    assert engine.verify("P1", cast.office).ok


def test_the_schedulers_own_events_do_not_count_as_work_on_the_issue(engine: Engine, cast, round_, clock):
    add(engine, cast, "P1")
    worked = _head(engine, "P1").last_activity_at
    clock.advance(days=3)
    with engine.db.write() as conn:
        repo = Repository(conn)
        row = repo.issues.head("P1")
        d = engine.definitions.get(repo, row.workflow_id)
        idle = journal.append(
            engine, repo, d, row, "escalation_remind", cast.office, "system", clock.now(), activity=False
        )
        busy = journal.append(engine, repo, d, idle, "measure_added", cast.owner, "owner", clock.now())
    assert idle.last_activity_at == worked and busy.last_activity_at == clock.now()


def test_a_check_against_the_version_read_refuses_an_edit_once_the_issue_moved_on(engine: Engine, cast, round_):
    add(engine, cast, "P1")
    head = _head(engine, "P1")
    journal.check_version("P1", head, head.version)  # the version read: nothing to refuse
    with pytest.raises(ConcurrentUpdate) as exc:
        journal.check_version("P1", head, head.version - 1)
    assert exc.value.details["version"] == head.version
