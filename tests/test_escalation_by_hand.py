"""Supervised handling (挂牌督办) by hand or by the sweep: the same people hear of it."""

from __future__ import annotations

import json

from sqlalchemy import text
from storyhelpers import started
from test_sweep import sweep_on

from zhenggai import Engine


def _rule_notices(engine: Engine, code: str) -> set[tuple[str, str, str]]:
    """(rule, recipient role, channel) of the escalation notices queued for ``code``."""
    with engine.db.engine.begin() as conn:
        rows = conn.execute(
            text("SELECT o.channel, o.recipient, o.payload FROM outbox o JOIN issues i ON i.id = o.issue_id "
                 "WHERE i.code = :c"), {"c": code}
        ).all()  # fmt: skip
    out = set()
    for channel, recipient, payload in rows:
        p = json.loads(payload)
        if p.get("rule"):
            out.add((p["rule"], json.loads(recipient).get("role"), channel))
    return out


def test_the_discipline_body_supervising_an_item_itself_notifies_whom_the_sweep_would(engine: Engine, cast, round_):
    engine.channels = ["log", "webhook", "oa_todo"]
    started(engine, cast, "P1", "phased", due="2026-04-30")
    started(engine, cast, "P2", "phased", due="2026-04-30")
    sweep_on(engine, "2026-05-06")  # both cautioned
    engine.fire("P1", "escalate", actor=cast.discipline)  # by hand, before the caution's deadline passes
    sweep_on(engine, "2026-05-25")  # P2 by the sweep
    by_hand = {n for n in _rule_notices(engine, "P1") if n[0] == "supervise"}
    by_sweep = {n for n in _rule_notices(engine, "P2") if n[0] == "supervise"}
    assert by_hand == by_sweep
    assert {role for _, role, _ in by_hand} == {"discipline", "secretary"}
    assert engine.verify("P1", cast.office).ok
