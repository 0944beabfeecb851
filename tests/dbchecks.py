"""Whole-database checks after a crash or a race: nothing half-written, every chain intact."""

from __future__ import annotations

from sqlalchemy import text

from zhenggai import Actor, Engine

AUDITOR = Actor("auditor", frozenset({"inspection_office"}))


def scalar(engine: Engine, sql: str, **params) -> int:
    with engine.db.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def rows(engine: Engine, sql: str, **params) -> list[tuple]:
    with engine.db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def issues_in_round(engine: Engine, round_code: str) -> int:
    return scalar(
        engine,
        "SELECT count(*) FROM issues i JOIN rounds r ON r.id = i.round_id WHERE r.code = :r",
        r=round_code,
    )


def assert_consistent(engine: Engine, *, verify_at_most: int = 5000) -> None:
    """Every issue has exactly its events 1..seq with the last one as its head, one 'created'
    event each, its version equal to its number of events; every escalation record has its
    event and every escalation event its record; no outbox row points at an event that does
    not exist.  Then ``Engine.verify`` (chain and replay against the records) on every issue —
    or, beyond ``verify_at_most`` issues, on that many spread evenly from first to last."""
    assert scalar(engine, "SELECT count(*) FROM issues") == scalar(
        engine, "SELECT count(*) FROM events WHERE kind = 'created'"
    ), "an issue without its 'created' event, or an event without its issue"
    broken = rows(
        engine,
        """
        SELECT i.code FROM issues i
        LEFT JOIN (SELECT issue_id, count(*) AS n, max(seq) AS top FROM events GROUP BY issue_id) e
               ON e.issue_id = i.id
        LEFT JOIN events h ON h.issue_id = i.id AND h.seq = i.seq
        WHERE e.n IS NULL OR e.n <> i.seq OR e.top <> i.seq OR i.version <> i.seq
           OR h.hash IS NULL OR h.hash <> i.last_hash
        """,
    )
    assert broken == [], f"issues whose head does not match their history: {broken[:10]}"
    doubled = rows(
        engine,
        "SELECT issue_id, rule, stage_seq FROM escalations GROUP BY issue_id, rule, stage_seq HAVING count(*) > 1",
    )
    assert doubled == [], f"a rule escalated twice: {doubled[:10]}"
    orphans = rows(
        engine,
        """
        SELECT x.issue_id, x.rule FROM escalations x
        LEFT JOIN events e ON e.issue_id = x.issue_id AND e.seq = x.event_seq
        WHERE e.id IS NULL OR e.actor_id <> 'system'
        """,
    )
    assert orphans == [], f"escalation records without the event that applied them: {orphans[:10]}"
    system_events = scalar(
        engine,
        "SELECT count(*) FROM events WHERE actor_id = 'system' AND (kind LIKE 'escalation_%' OR kind = 'transition')",
    )
    assert system_events == scalar(engine, "SELECT count(*) FROM escalations"), "an escalation event without its record"
    stray = rows(
        engine,
        """
        SELECT o.dedupe_key FROM outbox o
        LEFT JOIN events e ON e.issue_id = o.issue_id AND e.seq = o.event_seq
        WHERE o.issue_id IS NOT NULL AND e.id IS NULL
        """,
    )
    assert stray == [], f"notices of events that were never written: {stray[:10]}"
    codes = [c for (c,) in rows(engine, "SELECT code FROM issues ORDER BY id")]
    if len(codes) > verify_at_most:
        step = len(codes) / verify_at_most
        codes = sorted({codes[int(i * step)] for i in range(verify_at_most)} | {codes[-1]})
    failures = {c: r.to_dict() for c in codes if not (r := engine.verify(c, AUDITOR)).ok}
    assert failures == {}, f"chains that do not verify: {list(failures.items())[:3]}"
