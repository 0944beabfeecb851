"""Every action is on an append-only, hash-chained history; any edit of it is detected."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from storyhelpers import add, planned, reviewed

from zhenggai import Engine
from zhenggai.engine.history import GENESIS, HASHED_FIELDS, event_hash


@pytest.fixture
def closed_issue(engine: Engine, cast, round_) -> str:
    reviewed(engine, cast, "P1")
    engine.sign_off("P1", "inspection_office", actor=cast.office)
    engine.fire("P1", "close", actor=cast.office, comment="对账销号")
    assert engine.verify("P1", cast.office).ok
    return "P1"


def sql(engine: Engine, statement: str, **params) -> None:
    with engine.db.engine.begin() as conn:
        conn.execute(text(statement), params)


def problems(engine: Engine, cast) -> list[tuple[int, str]]:
    rep = engine.verify("P1", cast.office)
    assert not rep.ok
    return [(seq, t.en) for seq, t in rep.problems]


def test_each_action_is_one_event_with_who_role_when_and_states(engine: Engine, cast, closed_issue):
    events = engine.history(closed_issue, cast.office)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "created" and kinds.count("transition") == 5
    assert {"measure_added", "measure_done", "evidence_added", "signed_off"} <= set(kinds)
    close = events[-1]
    assert (close["trigger"], close["from"], close["to"], close["actor"], close["role"], close["comment"]) == (
        "close",
        "reviewed",
        "closed",
        "wang",
        "inspection_office",
        "对账销号",
    )
    assert len({e["hash"] for e in events}) == len(events)


def test_editing_an_event_is_detected(engine: Engine, cast, closed_issue):
    sql(
        engine,
        "UPDATE events SET comment = 'nothing to see' WHERE seq = 3 AND issue_id = "
        "(SELECT id FROM issues WHERE code = 'P1')",
    )
    assert (3, "content does not match its hash: this row was edited") in problems(engine, cast)


def test_deleting_an_event_is_detected(engine: Engine, cast, closed_issue):
    sql(engine, "DELETE FROM events WHERE seq = 4 AND issue_id = (SELECT id FROM issues WHERE code = 'P1')")
    found = problems(engine, cast)
    assert any(seq == 5 and "sequence gap" in why for seq, why in found)
    assert any(seq == 5 and "previous hash does not match" in why for seq, why in found)


def test_deleting_the_newest_event_is_detected(engine: Engine, cast, closed_issue):
    sql(
        engine,
        "DELETE FROM events WHERE seq = (SELECT MAX(seq) FROM events) AND issue_id = "
        "(SELECT id FROM issues WHERE code = 'P1')",
    )
    assert any("chain head does not match" in why for _, why in problems(engine, cast))


def test_reordering_events_is_detected(engine: Engine, cast, closed_issue):
    iid = "(SELECT id FROM issues WHERE code = 'P1')"
    sql(engine, f"UPDATE events SET seq = 1000 WHERE seq = 2 AND issue_id = {iid}")
    sql(engine, f"UPDATE events SET seq = 2 WHERE seq = 3 AND issue_id = {iid}")
    sql(engine, f"UPDATE events SET seq = 3 WHERE seq = 1000 AND issue_id = {iid}")
    assert problems(engine, cast)


def test_changing_the_state_behind_the_engines_back_is_detected(engine: Engine, cast, closed_issue):
    sql(engine, "UPDATE issues SET state = 'in_progress' WHERE code = 'P1'")
    assert any("changed behind the engine" in why for _, why in problems(engine, cast))


def test_a_sign_off_inserted_behind_the_engines_back_is_detected(engine: Engine, cast, round_):
    planned(engine, cast, "P2")
    sql(
        engine,
        "INSERT INTO signoffs (issue_id, role, actor_id, state, stage_seq, comment, at) "
        "SELECT id, 'unit_lead', 'zhao', 'planned', state_seq, '', created_at FROM issues WHERE code = 'P2'",
    )
    rep = engine.verify("P2", cast.office)
    assert any("sign-offs rows are not in the history" in t.en for _, t in rep.problems)


@pytest.mark.parametrize(
    ("statement", "what"),
    [
        ("UPDATE issues SET category = 'immediate' WHERE code = 'P1'", "category"),
        ("UPDATE issues SET owner = 'someone' WHERE code = 'P1'", "owner"),
        ("UPDATE issues SET recurrence_count = 1 WHERE code = 'P1'", "recurrence count"),
        ("UPDATE measures SET done_at = NULL", "measure 1's done_at"),
        ("DELETE FROM evidence", "evidence rows in the history are gone"),
        ("UPDATE mechanisms SET title = '别的制度'", "mechanisms row 1's title"),
    ],
)
def test_records_changed_behind_the_engines_back_are_detected(engine: Engine, cast, round_, statement, what):
    reviewed(engine, cast, "P1", "long_term", due="2026-12-31")
    engine.add_mechanism("P1", "制度", actor=cast.owner)
    engine.sign_off("P1", "inspection_office", actor=cast.office)
    assert engine.verify("P1", cast.office).ok
    sql(engine, statement)
    rep = engine.verify("P1", cast.office)
    assert any(what in t.en for _, t in rep.problems), rep.to_dict()


def _rewrite_chain(engine: Engine, code: str, key=None) -> None:
    """What someone with write access to the database would do: change an event, then
    recompute every hash after it so that the plain chain verifies again."""
    with engine.db.engine.begin() as conn:
        iid = conn.execute(text("SELECT id FROM issues WHERE code = :c"), {"c": code}).scalar_one()
        conn.execute(text("UPDATE events SET actor_id = 'someone_else' WHERE issue_id = :i AND seq = 2"), {"i": iid})
        rows = conn.execute(text("SELECT * FROM events WHERE issue_id = :i ORDER BY seq"), {"i": iid}).all()
        prev = GENESIS
        for r in rows:
            values = {k: getattr(r, k) for k in HASHED_FIELDS}
            at = values["at"]
            values["at"] = (datetime.fromisoformat(at) if isinstance(at, str) else at).replace(tzinfo=UTC)
            h = event_hash(code, prev, values, key)
            conn.execute(
                text("UPDATE events SET prev_hash = :p, hash = :h, key_id = NULL WHERE id = :id"),
                {"p": prev, "h": h, "id": r.id},
            )
            prev = h
        conn.execute(text("UPDATE issues SET last_hash = :h WHERE id = :i"), {"h": prev, "i": iid})


def test_without_a_chain_key_a_full_rewrite_is_not_detectable(engine: Engine, cast, round_):
    """The limit of the plain chain, stated as a test so the README's claim stays honest."""
    add(engine, cast, "P1")
    engine.add_measure("P1", "措施", owner="li", due_date="2026-05-01", actor=cast.owner)
    _rewrite_chain(engine, "P1")
    assert engine.verify("P1", cast.office).ok


def test_with_a_chain_key_a_rewritten_chain_is_detected(db_url: str, cast, clock):
    keyed = Engine(db_url, clock=clock, chain_key="a secret kept outside the database")
    keyed.init()
    keyed.open_round("R1", title="t", org="省局", feedback_date="2026-03-10", actor=cast.office)
    add(keyed, cast, "P1")
    keyed.add_measure("P1", "措施", owner="li", due_date="2026-05-01", actor=cast.owner)
    assert keyed.verify("P1", cast.office).ok
    other = Engine(db_url, clock=clock, chain_key="some other secret, not the one")
    rep = other.verify("P1", cast.office)
    assert any("not configured here" in t.en for _, t in rep.problems)
    unkeyed = Engine(db_url, clock=clock, chain_key="")  # where ZHENGGAI_CHAIN_KEY was forgotten
    rep = unkeyed.verify("P1", cast.office)
    assert not rep.ok and any("cannot verify" in t.en for _, t in rep.problems)
    _rewrite_chain(keyed, "P1")  # without the key: plain hashes
    rep = keyed.verify("P1", cast.office)
    assert any("not keyed although a chain key is configured" in t.en for _, t in rep.problems)
    keyed.db.dispose()
    other.db.dispose()
    unkeyed.db.dispose()


def test_a_chain_key_shorter_than_16_bytes_is_refused(db_url: str, clock):
    with pytest.raises(ValueError, match="at least 16 bytes"):
        Engine(db_url, clock=clock, chain_key="too short")
