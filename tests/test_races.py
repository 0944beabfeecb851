"""Several processes at once on the same few issues: every write lands exactly once.

tests/test_concurrency.py races threads and engines on one kind of call at a time; here four
processes (spawned, each with its own engine and connections) mix every kind of call for a
few seconds — transitions with fresh and with retried request ids, sign-offs, measures added
and completed, evidence, and sweeps — and each writes down what succeeded (tests/racers.py).
Then the database must account for every success exactly once, and for nothing else.
"""

from __future__ import annotations

import json
import multiprocessing
import queue
from collections import Counter, defaultdict

import pytest
from dbchecks import assert_consistent, rows
from racers import race
from storyhelpers import add, planned, self_checked, started

from zhenggai import Engine

pytestmark = pytest.mark.slow

RACERS = 4
SECONDS = 4.0
CODES = ["P1", "P2", "P3", "P4"]


def per_issue(engine: Engine, sql: str) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = defaultdict(list)
    for code, *rest in rows(engine, sql):
        out[code].append(tuple(rest))
    return out


def snapshot(engine: Engine) -> dict[str, dict[str, list[tuple]]]:
    join = "JOIN issues i ON i.id = x.issue_id"
    return {
        "version": per_issue(engine, "SELECT code, version FROM issues"),
        "events": per_issue(
            engine, f"SELECT i.code, x.seq, x.kind, x.trigger, x.actor_id, x.request_id, x.data FROM events x {join}"
        ),
        "measures": per_issue(engine, f"SELECT i.code, x.no, x.text FROM measures x {join}"),
        "signoffs": per_issue(engine, f"SELECT i.code, x.role, x.stage_seq FROM signoffs x {join}"),
        "evidence": per_issue(engine, f"SELECT i.code, x.uri FROM evidence x {join}"),
        "escalations": per_issue(engine, f"SELECT i.code, x.rule, x.stage_seq FROM escalations x {join}"),
    }


def run_race(db_url: str) -> list[dict]:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(RACERS), ctx.Queue()
    procs = [
        ctx.Process(target=race, args=(db_url, f"racer{i}", 1000 + i, CODES, SECONDS, barrier, results))
        for i in range(RACERS)
    ]
    for p in procs:
        p.start()
    logs = []
    try:
        for _ in procs:
            logs.append(results.get(timeout=180))
    except queue.Empty:
        pytest.fail(f"only {len(logs)} of {RACERS} racers reported back")
    finally:
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()
    return logs


def test_processes_racing_on_the_same_issues_apply_every_write_exactly_once(
    engine: Engine, cast, round_, db_url, clock
):
    clock.set("2026-04-01")  # a day in each state: not planned, planned, started, awaiting review
    add(engine, cast, "P1", "phased")
    engine.add_measure("P1", "措施", owner="li", due_date="2026-05-31", target="100%", actor=cast.owner)
    planned(engine, cast, "P2", "phased")
    started(engine, cast, "P3", "phased")
    self_checked(engine, cast, "P4", "phased")
    before = snapshot(engine)

    logs = run_race(db_url)
    assert [u for log in logs for u in log["unexpected"]] == []
    after = snapshot(engine)
    fires = [f for log in logs for f in log["fires"]]
    applied = [f for f in fires if not f[3]]
    swept = [s for log in logs for s in log["swept"]]
    # the race was a race: moves, retries answered from the first result, sweeps, refusals
    assert len(applied) >= 10 and len(fires) > len(applied) and swept
    assert sum(sum(log["refused"].values()) for log in logs) > 0

    assert_consistent(engine)  # every chain verifies, replayed against the records

    def new(kind: str, code: str) -> list[tuple]:
        return after[kind][code][len(before[kind][code]) :] if kind == "events" else after[kind][code]

    for code in CODES:
        measures = [m for log in logs for m in log["measures"] if m[0] == code]
        completed = [c for log in logs for c in log["completed"] if c[0] == code]
        signoffs = [s for log in logs for s in log["signoffs"] if s == code]
        evidence = [e for log in logs for e in log["evidence"] if e[0] == code]
        moves = [f for f in applied if f[0] == code]
        rules = [s for s in swept if s[0] == code]
        # no lost update: the version counts every successful write, and nothing else
        writes = len(measures) + len(completed) + len(signoffs) + len(evidence) + len(moves) + len(rules)
        assert after["version"][code][0][0] == before["version"][code][0][0] + writes, code
        events = new("events", code)
        assert len(events) == writes
        # each measure added is there once, under the number its caller was given
        added = sorted(set(after["measures"][code]) - set(before["measures"][code]))
        assert sorted((no, text) for _, text, no in measures) == added
        # each measure completed once, by the one call that succeeded
        done = Counter(json.loads(e[5])["no"] for e in events if e[1] == "measure_done")
        assert done == Counter(no for _, no in completed) and max(done.values(), default=1) == 1
        # sign-offs: each success once, and never two for one role at one stage
        assert len(after["signoffs"][code]) == len(before["signoffs"][code]) + len(signoffs)
        assert max(Counter(after["signoffs"][code]).values()) == 1
        assert sorted(u for _, u in evidence) == sorted(u for (u,) in after["evidence"][code] if "racer" in u)
        assert len(after["evidence"][code]) == len(before["evidence"][code]) + len(evidence)
        # each rule a sweep applied is recorded once, by whichever process swept first
        assert Counter((r, 0) for _, r, _, _ in rules) == Counter(after["escalations"][code]) - Counter(
            before["escalations"][code]
        )
        assert max(Counter(after["escalations"][code]).values(), default=1) == 1

    # no double move: one event per applied request, and a retry answers with the first result
    by_request = {rid: (code, seq, trigger) for code, trigger, rid, replayed, seq in applied}
    assert len(by_request) == len(applied)  # no request id applied twice, across every process
    events_by_request = {e[4]: (code, e[0], e[2]) for code in CODES for e in new("events", code) if e[4] is not None}
    assert events_by_request == by_request
    for code, trigger, rid, replayed, seq in fires:
        if replayed:
            assert by_request[rid] == (code, seq, trigger)
    people_moves = [e for code in CODES for e in new("events", code) if e[1] == "transition" and e[3] != "system"]
    assert len(people_moves) == len(applied)
