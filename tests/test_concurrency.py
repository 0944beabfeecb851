"""Concurrent and retried requests: exactly one change, never a lost update, never twice."""

from __future__ import annotations

import threading

import pytest
from storyhelpers import add, planned

from zhenggai import ConcurrentUpdate, Engine, Refused
from zhenggai.engine.errors import InvalidInput


def race(n: int, fn) -> list[object]:
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_two_concurrent_fires_on_one_issue_leave_exactly_one_change(engine: Engine, cast, round_, db_url, clock):
    planned(engine, cast, "P1")
    engine.sign_off("P1", "unit_lead", actor=cast.lead)
    second = Engine(db_url, clock=clock)  # as if another process
    engines = [engine, second]
    results = race(2, lambda i: engines[i].fire("P1", "start", actor=cast.owner))
    wins = [r for r in results if not isinstance(r, Exception)]
    losses = [r for r in results if isinstance(r, Exception)]
    assert len(wins) == 1 and len(losses) == 1
    assert isinstance(losses[0], (Refused, ConcurrentUpdate))
    events = engine.history("P1", cast.office)
    assert [e["trigger"] for e in events if e["kind"] == "transition"] == ["plan", "start"]
    assert engine.verify("P1", cast.office).ok
    second.db.dispose()


def test_concurrent_edits_are_all_kept_in_one_unbroken_chain(engine: Engine, cast, round_):
    add(engine, cast, "P1")
    n = 8
    results = race(
        n, lambda i: engine.add_measure("P1", f"措施{i}", owner="li", due_date="2026-05-01", actor=cast.owner)
    )
    assert all(not isinstance(r, Exception) for r in results), results
    view = engine.issue("P1", cast.office)
    assert sorted(m["no"] for m in view.measures) == list(range(1, n + 1))
    assert view.version == 1 + n
    assert engine.verify("P1", cast.office).ok


def test_a_stale_expected_version_is_refused(engine: Engine, cast, round_):
    add(engine, cast, "P1")
    v = engine.issue("P1", cast.office).version
    engine.add_measure("P1", "措施", owner="li", due_date="2026-05-01", actor=cast.owner)
    with pytest.raises(ConcurrentUpdate):
        engine.fire("P1", "plan", actor=cast.owner, expected_version=v)
    assert engine.fire("P1", "plan", actor=cast.owner, expected_version=v + 1).dest == "planned"


def test_a_retried_request_moves_the_issue_once(engine: Engine, cast, round_):
    planned(engine, cast, "P1")
    first = engine.fire("P1", "escalate", actor=cast.discipline, request_id="oa-req-42")
    again = engine.fire("P1", "escalate", actor=cast.discipline, request_id="oa-req-42")
    assert (first.replayed, again.replayed) == (False, True)
    assert (again.source, again.dest, again.seq) == (first.source, first.dest, first.seq)
    assert [e["trigger"] for e in engine.history("P1", cast.office)].count("escalate") == 1
    with pytest.raises(InvalidInput) as exc:
        engine.fire("P1", "resume", actor=cast.discipline, comment="x", request_id="oa-req-42")
    assert exc.value.details["field"] == "request_id"


def test_concurrent_retries_of_one_request_apply_it_once(engine: Engine, cast, round_):
    planned(engine, cast, "P1")
    results = race(4, lambda i: engine.fire("P1", "escalate", actor=cast.discipline, request_id="same"))
    assert all(not isinstance(r, Exception) for r in results), results
    assert sum(1 for r in results if not r.replayed) == 1
    assert [e["trigger"] for e in engine.history("P1", cast.office)].count("escalate") == 1


def test_storage_errors_on_the_fast_path_surface_as_sqlalchemy_errors(engine: Engine, cast, round_):
    """A unique violation on a prepared statement is the same IntegrityError SQLAlchemy raises,
    so callers (and the engine's retry logic) need to know only one family of errors."""
    from sqlalchemy.exc import IntegrityError

    from zhenggai.storage.repository import Repository

    add(engine, cast, "P1")
    with pytest.raises(IntegrityError), engine.db.write() as conn:
        repo = Repository(conn)
        row = repo.issues.get("P1")
        first = repo.events.of_issue(row.id)[0]
        values = {k: getattr(first, k) for k in first._fields if k != "id"}
        repo.events.insert(values)  # the same (issue_id, seq) again
    assert len(engine.history("P1", cast.office)) == 1
    engine.add_measure("P1", "之后照常", owner="li", due_date="2026-05-01", actor=cast.owner)  # nothing left open


def test_a_request_id_replays_only_for_the_actor_that_sent_it(engine: Engine, cast, round_):
    from zhenggai import Actor

    planned(engine, cast, "P1")
    first = engine.fire("P1", "escalate", actor=cast.discipline, request_id="r-1")
    assert first.version == first.seq == engine.issue("P1", cast.office).version
    again = engine.fire("P1", "escalate", actor=cast.discipline, request_id="r-1")
    assert again.version == first.version
    with pytest.raises(InvalidInput) as exc:
        engine.fire("P1", "escalate", actor=Actor("x", frozenset({"system"})), request_id="r-1")
    assert "already used for another write" in exc.value.text.en and "zhou" not in exc.value.text.en


def test_the_same_code_added_at_once_is_one_issue_and_one_clear_refusal(engine: Engine, cast, round_, db_url, clock):
    engines = [engine] + [Engine(db_url, clock=clock) for _ in range(3)]
    results = race(4, lambda i: add(engines[i], cast, "P1"))
    refusals = [r for r in results if isinstance(r, Exception)]
    assert len(refusals) == 3 and all(isinstance(r, InvalidInput) for r in refusals), refusals
    assert all("already exists" in r.text.en for r in refusals)
    assert [v.code for v in engine.issues(cast.office)] == ["P1"]
    for e in engines[1:]:
        e.db.dispose()


def test_init_run_twice_at_once_leaves_one_schema_and_one_workflow(db_url: str, clock):
    engines = [Engine(db_url, clock=clock) for _ in range(2)]
    results = race(2, lambda i: engines[i].init())
    assert all(not isinstance(r, Exception) for r in results), results
    assert [(w.name, w.version) for w in engines[0].workflows()] == [("audit", 2), ("rectification", 3)]
    for e in engines:
        e.db.dispose()


def test_a_problem_recorded_by_a_retried_request_is_recorded_once(engine: Engine, cast, round_):
    def record(code: str, request_id: str, actor=cast.office):
        return engine.add_issue(
            "R1", code, title="公车私用", category="immediate", unit="省局/财务处", owner="li", lead="zhao",
            due_date="2026-05-31", actor=actor, request_id=request_id,
        )  # fmt: skip

    first = record("P1", "oa-add-1")
    again = record("P1", "oa-add-1")  # the answer was lost; the OA system sends it again
    assert (again.code, again.version) == (first.code, first.version) == ("P1", 1)
    assert [e["kind"] for e in engine.history("P1", cast.office)] == ["created"]
    assert engine.history("P1", cast.office)[0]["request_id"] == "oa-add-1"
    with pytest.raises(InvalidInput) as exc:  # the same id for another problem is a mistake, not a retry
        record("P2", "oa-add-1")
    assert exc.value.details["field"] == "request_id" and "already used for another write" in exc.value.text.en
    with pytest.raises(InvalidInput) as exc:  # nor may another person's request be answered as theirs
        record("P1", "oa-add-1", actor=cast.secretary)
    assert exc.value.details["field"] == "request_id"
    with pytest.raises(InvalidInput) as exc:  # without a request id, the same code is a twin
        record("P1", "oa-add-2")
    assert "already exists" in exc.value.text.en
