"""Whole-database reads taken while people go on working: each belongs to one moment.

``audit verify`` reads every issue and every event in chunks.  Were each chunk its own read,
an issue written between two chunks would be read with a head newer than the events read for
it, and the audit would report a tampered chain that nobody tampered with; its counts would
mix two moments.  One read transaction (repeatable read on PostgreSQL) keeps it to one."""

from __future__ import annotations

import random
import threading
import time

from dbchecks import scalar

from zhenggai import Engine
from zhenggai.storage.repositories.issues import IssueRepository


def _writers(engine: Engine, cast, codes: list[str], stop: threading.Event, errors: list[BaseException]) -> list:
    def work(seed: int) -> None:
        rnd = random.Random(seed)
        try:
            while not stop.is_set():
                engine.add_measure(rnd.choice(codes), "补充措施", owner="li", actor=cast.owner)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(3)]
    for t in threads:
        t.start()
    return threads


def test_audit_verify_while_owners_keep_writing_reports_one_moment_and_no_false_tampering(
    engine: Engine, cast, round_, monkeypatch
):
    codes = [f"P{i}" for i in range(120)]
    for code in codes:
        engine.add_issue(round_, code, title="问题", category="phased", unit="省局/财务处", owner="li", lead="zhao",
                         due_date="2026-12-31", actor=cast.office)  # fmt: skip
    chunk = IssueRepository.audit_chunk

    def slow_chunk(self, after, limit):  # type: ignore[no-untyped-def]
        time.sleep(0.05)  # the writers get in between two chunks of the audit
        return chunk(self, after, limit)

    monkeypatch.setattr(IssueRepository, "audit_chunk", slow_chunk)
    stop, errors = threading.Event(), []
    threads = _writers(engine, cast, codes, stop, errors)
    try:
        deadline = time.monotonic() + 60
        while scalar(engine, "SELECT count(*) FROM measures") < 30:  # the writers are under way
            assert time.monotonic() < deadline and not errors, errors
            time.sleep(0.01)
        before = scalar(engine, "SELECT count(*) FROM events")
        report = engine.audit_verify(issue_chunk=5, event_chunk=7)
        after = scalar(engine, "SELECT count(*) FROM events")
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not errors, errors
    assert after - before >= 10, "the writers wrote while the audit read"
    assert report.ok, report.findings()[:5]  # no chain read across two moments
    assert report.issues == len(codes)
    assert before <= report.events <= after  # the events of one moment
