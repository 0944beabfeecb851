"""Every action is on an append-only, hash-chained history; any edit of it is detected."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from storyhelpers import reviewed

from zhenggai import Engine


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
