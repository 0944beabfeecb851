"""Whole-database reads taken while people go on working: each belongs to one moment.

``audit verify`` reads every issue and every event in chunks.  Were each chunk its own read,
an issue written between two chunks would be read with a head newer than the events read for
it, and the audit would report a tampered chain that nobody tampered with; its counts would
mix two moments.  One read transaction (repeatable read on PostgreSQL) keeps it to one."""

from __future__ import annotations

import random
import threading
import time

import pytest
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


def test_a_report_drafted_while_the_office_keeps_recording_problems_has_the_numbers_of_one_moment(
    engine: Engine, cast, round_, monkeypatch, tmp_path
):
    """The draft reads the round's numbers by source, by unit, every problem and the charts'
    series in separate calls; with problems recorded in between, each call alone would count
    a different round.  Read from one snapshot, they agree."""
    from zhenggai.reporting import draft

    for i in range(20):
        engine.add_issue(round_, f"P{i}", title="问题", category="phased", unit="省局/财务处", owner="li", lead="zhao",
                         due_date="2026-12-31", actor=cast.office)  # fmt: skip
    seen: dict[str, object] = {}
    stats, build, series = Engine.stats, draft.build_context, draft.chart_data

    def slow_stats(self, *a, **kw):  # type: ignore[no-untyped-def]
        time.sleep(0.15)  # the office records problems between two reads of the draft
        return stats(self, *a, **kw)

    def keep_context(*a, **kw):  # type: ignore[no-untyped-def]
        return seen.setdefault("context", build(*a, **kw))

    def keep_series(*a, **kw):  # type: ignore[no-untyped-def]
        time.sleep(0.15)
        return seen.setdefault("series", series(*a, **kw))

    monkeypatch.setattr(Engine, "stats", slow_stats)
    monkeypatch.setattr(draft, "build_context", keep_context)
    monkeypatch.setattr(draft, "chart_data", keep_series)
    stop, errors = threading.Event(), []

    def office() -> None:
        n = 100
        try:
            while not stop.is_set():
                engine.add_issue(round_, f"P{n}", title="新问题", category="phased", unit="省局/稽查局", owner="sun",
                                 lead="zhao", due_date="2026-12-31", actor=cast.office)  # fmt: skip
                n += 1
                time.sleep(0.01)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    writer = threading.Thread(target=office, daemon=True)
    writer.start()
    try:
        before = scalar(engine, "SELECT count(*) FROM issues")
        info = draft.draft_report(engine, round_, tmp_path / "draft.md", actor=cast.office, charts=False)
        with engine.snapshot():  # what the charts draw belongs to the same moment as the numbers
            context = build(engine, round_, actor=cast.office, kind="committee", public=False)
            data = series(engine, round_, actor=cast.office)
        after = scalar(engine, "SELECT count(*) FROM issues")
    finally:
        stop.set()
        writer.join(30)
    assert not errors, errors
    assert after - before >= 10, "the office recorded problems while the draft was read"
    drafted = seen["context"]
    assert isinstance(drafted, dict)
    total = drafted["totals"]["total"]
    assert before <= total <= after
    assert sum(u["total"] for u in drafted["units"]) == total  # by unit, the same round
    assert sum(s["total"] for s in drafted["sources"]) == total  # by source, the same round
    assert info.problems == total  # and every problem listed
    assert context["totals"]["total"] == sum(u["total"] for u in context["units"]) == len(context["remaining"])
    assert sum(u["total"] for u in data.units.values()) == context["totals"]["total"]  # the charts too


def test_a_write_inside_a_reading_snapshot_is_refused_and_the_snapshot_goes_on(engine: Engine, cast, round_):
    from storyhelpers import add

    add(engine, cast, "P1")
    with engine.snapshot():
        with pytest.raises(RuntimeError):
            add(engine, cast, "P2")
        assert [v.code for v in engine.issues(cast.office)] == ["P1"]
    add(engine, cast, "P2")  # after it, writes go on as before
    assert [v.code for v in engine.issues(cast.office)] == ["P1", "P2"]
