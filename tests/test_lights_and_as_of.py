"""Lights are never stale and "as of" is as of: a light shown anywhere is the light of the day
it is read, and the numbers of a past day are what the history says of that day."""

from __future__ import annotations

import csv
from pathlib import Path

from storyhelpers import reviewed, started
from test_sweep import sweep_on

from zhenggai import Engine


def test_an_item_gone_overdue_with_no_sweep_since_shows_red_everywhere(
    engine: Engine, cast, round_, clock, tmp_path: Path
):
    started(engine, cast, "P1", "phased", due="2026-04-30")
    started(engine, cast, "P2", "phased", due="2026-12-31")
    clock.set("2026-05-06")  # no sweep has run since P1's deadline passed
    assert engine.issue("P1", cast.office).light == "red"
    assert engine.issue("P2", cast.office).light == "green"
    assert [v.code for v in engine.issues(cast.office, lights=["red"])] == ["P1"]
    assert [v.code for v in engine.issues(cast.office, lights=["green"])] == ["P2"]
    st = engine.stats("R1", actor=cast.office)
    assert st["overdue"] == 1 and st["lights"] == {"red": 1, "green": 1}
    path = tmp_path / "ledger.csv"
    engine.export_ledger("R1", path, actor=cast.office)
    rows = {r["序号"]: r for r in csv.DictReader(path.open(encoding="utf-8-sig"))}
    assert (rows["P1"]["红黄绿灯"], rows["P2"]["红黄绿灯"]) == ("红灯", "绿灯")
    assert engine.export_ledger("R1", tmp_path / "red.csv", actor=cast.office, lights=["red"]) == 1
    # the console's list (and its export) filters by the same light it shows
    from zhenggai.engine.listing import IssueFilter

    for light, codes in (("red", ["P1"]), ("green", ["P2"])):
        for sort in ("id", "due"):
            page = engine.issue_page(cast.office, IssueFilter(lights=[light]), sort=sort)
            assert [(v.code, v.light) for v in page.items] == [(c, light) for c in codes]
    first = engine.issue_page(cast.office, IssueFilter(lights=["red", "green"]), limit=1)
    rest = engine.issue_page(cast.office, IssueFilter(lights=["red", "green"]), limit=1, after=first.next_after)
    assert [v.code for v in first.items + rest.items] == ["P1", "P2"] and rest.next_after is None


def test_the_numbers_of_a_past_day_are_that_days(engine: Engine, cast, round_, clock):
    reviewed(engine, cast, "P1", "immediate", due="2026-05-31")
    started(engine, cast, "P2", "phased", due="2026-04-30")
    clock.set("2026-03-20")
    engine.sign_off("P1", "inspection_office", actor=cast.office)
    engine.fire("P1", "close", actor=cast.office)  # closed on 03-20
    for day in ("2026-05-06", "2026-05-25", "2026-07-01"):  # P2 cautioned, supervised, raised a level
        sweep_on(engine, day)
    now = engine.stats("R1", actor=cast.office)
    assert (now["closed"], now["raised_a_level"], now["supervised"]) == (1, 1, 1)
    before = engine.stats("R1", actor=cast.office, as_of="2026-03-15")
    assert before["closed"] == 0 and before["by_state"] == {"reviewed": 1, "in_progress": 1}
    assert before["raised_a_level"] == 0 and before["supervised"] == 0 and before["overdue"] == 0
    assert before["lights"] == {"green": 2}  # P1 awaiting closing, P2 not yet near its date
    may = engine.stats("R1", actor=cast.office, as_of="2026-05-07")
    assert may["lights"] == {"red": 1} and may["overdue"] == 1 and may["raised_a_level"] == 0


def test_a_past_day_replayed_agrees_with_today_counted_by_the_database(engine: Engine, cast, round_, clock):
    reviewed(engine, cast, "P1", "immediate", due="2026-05-31")
    started(engine, cast, "P2", "phased", due="2026-04-30")
    started(engine, cast, "P3", "long_term", due="2026-12-31")
    engine.request_extension("P3", "2027-03-31", reason="x", actor=cast.owner, measure_dates={1: "2027-03-31"})
    engine.decide_extension("P3", approve=True, actor=cast.office)
    sweep_on(engine, "2026-05-06")
    clock.set("2026-05-08")
    today = engine.stats("R1", actor=cast.office, by="unit")
    clock.set("2026-05-09")  # a day on: the 8th is now a past day, replayed from the history
    replayed = engine.stats("R1", actor=cast.office, by="unit", as_of="2026-05-08")
    assert replayed == today
    assert today["extensions"] == 1


def test_a_report_as_of_a_past_day_lists_each_problem_as_it_stood(engine: Engine, cast, round_, clock, db_url):
    reviewed(engine, cast, "P1", "immediate", due="2026-05-31")
    clock.set("2026-03-20")
    engine.sign_off("P1", "inspection_office", actor=cast.office)
    engine.fire("P1", "close", actor=cast.office)  # closed on 03-20
    started(engine, cast, "P2", "phased", due="2026-12-31")  # recorded on 03-20
    past = Engine(db_url, clock=clock, as_of="2026-03-15")
    try:
        problems = {p["code"]: p for p in past.dossier("R1", actor=cast.office)}
        stats = past.stats("R1", actor=cast.office)
    finally:
        past.db.dispose()
    assert list(problems) == ["P1"] and problems["P1"]["state"] == "reviewed" and not problems["P1"]["final"]
    assert stats["closed"] == 0 and stats["total"] == 1
    assert {p["code"]: p["state"] for p in engine.dossier("R1", actor=cast.office)} == {
        "P1": "closed",
        "P2": "in_progress",
    }


def test_a_round_of_many_years_gets_every_weeks_count(engine: Engine, cast):
    engine.open_round("R0", title="旧轮次", org="省局", feedback_date="1970-01-05", actor=cast.office)
    engine.add_issue("R0", "Q1", title="问题", category="phased", unit="省局/财务处", owner="li", lead="zhao",
                     due_date="2026-12-31", actor=cast.office)  # fmt: skip
    weeks = engine.stats("R0", actor=cast.office)["burn_down"]
    assert len(weeks) > 2000  # more weeks than one SQLite statement has columns for
    assert weeks[0]["open"] == 0 and weeks[-1]["open"] == 1


def test_a_list_by_light_as_of_a_past_day_finds_each_problem_by_that_days_light(
    engine: Engine, cast, round_, clock, db_url, tmp_path: Path
):
    from storyhelpers import SHA

    from zhenggai.engine.listing import IssueFilter

    started(engine, cast, "P1", "phased", due="2026-04-30")
    clock.set("2026-05-06")
    engine.add_evidence("P1", "oa://files/1", SHA, note="凭证", actor=cast.owner)  # stored now: red
    assert engine.issue("P1", cast.office).light == "red"
    then = Engine(db_url, clock=clock, as_of="2026-03-20")
    try:
        assert then.issue("P1", cast.office).light == "green"  # before its deadline
        assert [v.code for v in then.issues(cast.office, lights=["green"])] == ["P1"]
        assert [v.code for v in then.issue_page(cast.office, IssueFilter(lights=["green"])).items] == ["P1"]
        assert then.export_ledger("R1", tmp_path / "then.csv", actor=cast.office, lights=["green"]) == 1
    finally:
        then.db.dispose()
