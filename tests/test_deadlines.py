"""Deadline changes (延期申请): the owner asks with a reason and a new date, the inspection
office approves or refuses, every step is on the chain and verify replays it; the period rules
still hold, and an impossible deadline is refused when the problem is added or planned."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from storyhelpers import add, planned, started

from zhenggai import Engine
from zhenggai.engine.actors import Actor
from zhenggai.engine.errors import InvalidInput, Refused


@contextmanager
def refused(pattern: str) -> Iterator[None]:
    """The call is refused, and its reasons (in either language) say ``pattern``."""
    with pytest.raises(Refused) as e:
        yield
    said = e.value.render("zh") + "\n" + e.value.render("en")
    assert re.search(pattern, said), said


def due(engine: Engine, code: str, actor) -> str:
    return engine.issue(code, actor).to_dict()["due_date"]


def final_deadline(engine: Engine, code: str) -> str | None:
    with engine.db.engine.begin() as conn:
        v = conn.execute(text("SELECT final_deadline FROM issues WHERE code = :c"), {"c": code}).scalar_one()
    return None if v is None else str(v)[:10]


PERIOD_END = "2026-06-10"  # the round of the stories: feedback 2026-03-10, three months


def test_an_owner_asks_for_a_later_deadline_and_the_inspection_office_approves_it(engine: Engine, cast, round_):
    started(engine, cast, "P1", "phased", due="2026-05-31")
    no = engine.request_extension("P1", "2026-08-31", reason="需上级审批资金", actor=cast.owner,
                                  measure_dates={1: "2026-08-15"})  # fmt: skip
    assert no == 1
    assert due(engine, "P1", cast.office) == "2026-05-31"  # nothing moves until it is approved
    engine.decide_extension("P1", approve=True, comment="同意延期", actor=cast.office)
    view = engine.issue("P1", cast.office).to_dict()
    assert view["due_date"] == "2026-08-31" and view["extensions"] == 1
    assert view["measures"][0]["due_date"] == "2026-08-15"
    kinds = [e["kind"] for e in engine.history("P1", cast.office)]
    assert kinds[-2:] == ["extension_requested", "extension_approved"]
    [change] = engine.deadline_changes("P1", cast.office)
    assert change["status"] == "approved" and change["reason"] == "需上级审批资金" and change["decided_by"] == "wang"
    assert engine.verify("P1", cast.office).ok


def test_a_refused_extension_keeps_the_deadline_and_needs_its_reason(engine: Engine, cast, round_):
    started(engine, cast, "P1", "phased", due="2026-05-31")
    engine.request_extension("P1", "2026-07-31", reason="人手不足", actor=cast.owner)
    with pytest.raises(InvalidInput, match="理由"):
        engine.decide_extension("P1", approve=False, actor=cast.office)
    engine.decide_extension("P1", approve=False, comment="理由不充分", actor=cast.office)
    assert due(engine, "P1", cast.office) == "2026-05-31"
    assert engine.deadline_changes("P1", cast.office)[0]["status"] == "refused"
    with refused("没有待审批"):
        engine.decide_extension("P1", approve=True, actor=cast.office)
    engine.request_extension("P1", "2026-06-30", reason="补充说明", actor=cast.owner)  # may ask again
    assert engine.verify("P1", cast.office).ok


def test_only_the_owner_asks_and_only_the_inspection_office_decides(engine: Engine, cast, round_):
    started(engine, cast, "P1", "phased", due="2026-05-31")
    other = Actor("qian", frozenset({"owner"}), ("省局/财务处",))  # an owner, but not this issue's
    with pytest.raises(Refused) as e:
        engine.request_extension("P1", "2026-07-31", reason="x", actor=other)
    assert "qian 不是本问题的责任人（应为 li）" in e.value.render("zh")
    with pytest.raises(Refused):
        engine.request_extension("P1", "2026-07-31", reason="x", actor=cast.lead)
    engine.request_extension("P1", "2026-07-31", reason="x", actor=cast.owner)
    with refused("已有待审批"):  # one request at a time
        engine.request_extension("P1", "2026-08-31", reason="y", actor=cast.owner)
    with pytest.raises(Refused):
        engine.decide_extension("P1", approve=True, actor=cast.owner)
    assert due(engine, "P1", cast.office) == "2026-05-31"


def test_the_new_deadline_must_hold_the_measures_and_be_later(engine: Engine, cast, round_):
    started(engine, cast, "P1", "phased", due="2026-05-31")
    engine.add_measure("P1", "第二阶段", owner="li", due_date="2026-05-20", target="完成", actor=cast.owner)
    with refused("晚于现有时限|later than the present"):
        engine.request_extension("P1", "2026-05-01", reason="x", actor=cast.owner)
    with refused("measure 1 is due 2026-05-31"):  # every reason at once
        engine.request_extension("P1", "2026-05-01", reason="x", actor=cast.owner)
    with refused("measure 1 is due 2026-09-30"):
        engine.request_extension("P1", "2026-08-31", reason="x", actor=cast.owner, measure_dates={1: "2026-09-30"})
    with refused("has no measure 9"):
        engine.request_extension("P1", "2026-08-31", reason="x", actor=cast.owner, measure_dates={9: "2026-08-01"})
    assert engine.deadline_changes("P1", cast.office) == []  # nothing stored by a refusal


def test_an_approval_is_checked_again_against_measures_added_since(engine: Engine, cast, round_):
    started(engine, cast, "P1", "phased", due="2026-05-31")
    engine.request_extension("P1", "2026-07-31", reason="x", actor=cast.owner, measure_dates={1: "2026-07-31"})
    engine.add_measure("P1", "新增措施", owner="li", due_date="2026-09-30", target="完成", actor=cast.owner)
    with refused("can no longer be approved"):
        engine.decide_extension("P1", approve=True, actor=cast.office)
    engine.decide_extension("P1", approve=False, comment="措施时限不符", actor=cast.office)
    assert due(engine, "P1", cast.office) == "2026-05-31"


def test_an_immediate_item_goes_past_the_period_only_when_recategorised(engine: Engine, cast, round_):
    started(engine, cast, "P1", "immediate", due="2026-05-31")
    with refused("concentrated period ends \\(2026-06-10, inclusive\\)"):
        engine.request_extension("P1", "2026-07-31", reason="x", actor=cast.owner, measure_dates={1: "2026-07-31"})
    engine.request_extension("P1", PERIOD_END, reason="最后一天仍在期内", actor=cast.owner,
                             measure_dates={1: PERIOD_END})  # fmt: skip
    engine.decide_extension("P1", approve=True, actor=cast.office)
    engine.request_extension("P1", "2026-07-31", reason="需长期整改", category="phased", actor=cast.owner,
                             measure_dates={1: "2026-07-31"})  # fmt: skip
    engine.decide_extension("P1", approve=True, comment="同意转为限期整改", actor=cast.office)
    view = engine.issue("P1", cast.office).to_dict()
    assert (view["category"], view["due_date"], view["extensions"]) == ("phased", "2026-07-31", 2)
    approved = [e for e in engine.history("P1", cast.office) if e["kind"] == "extension_approved"]
    assert approved[-1]["data"]["category"] == {"from": "immediate", "to": "phased"}
    assert engine.verify("P1", cast.office).ok


def test_an_impossible_deadline_is_refused_when_added_and_when_planned(engine: Engine, cast, round_):
    with pytest.raises(InvalidInput, match="超出集中整改期") as e:
        add(engine, cast, "P1", "immediate", due="2026-07-31")
    assert "2026-07-31" in e.value.render("en")
    add(engine, cast, "P1", "immediate", due=PERIOD_END)  # the period's last day is inside it
    with engine.db.engine.begin() as conn:  # a problem kept from before the rule: its deadline after the period
        conn.execute(text("UPDATE issues SET due_date = '2026-07-31' WHERE code = 'P1'"))
    engine.add_measure("P1", "整改", owner="li", due_date="2026-06-01", target="100%", actor=cast.owner)
    with refused("after the concentrated period ends"):
        engine.fire("P1", "plan", actor=cast.owner)


def test_an_extension_moves_the_light_and_a_cautions_last_deadline(engine: Engine, cast, round_, clock):
    from test_sweep import sweep_on

    started(engine, cast, "P1", "phased", due="2026-04-30")
    fired = [f["rule"] for f in sweep_on(engine, "2026-05-06").fired]
    assert "caution" in fired
    clock.set("2026-05-06")
    assert engine.issue("P1", cast.office).light == "red"
    engine.request_extension("P1", "2026-08-31", reason="x", actor=cast.owner, measure_dates={1: "2026-08-31"})
    engine.decide_extension("P1", approve=True, actor=cast.office)
    assert engine.issue("P1", cast.office).light == "green"
    assert final_deadline(engine, "P1") == "2026-08-31"
    assert engine.verify("P1", cast.office).ok


def test_a_deadline_change_changed_behind_the_engine_is_found(engine: Engine, cast, round_):
    started(engine, cast, "P1", "phased", due="2026-05-31")
    engine.request_extension("P1", "2026-07-31", reason="x", actor=cast.owner, measure_dates={1: "2026-07-31"})
    engine.decide_extension("P1", approve=True, actor=cast.office)
    with engine.db.engine.begin() as conn:
        conn.execute(text("UPDATE deadline_changes SET due_date = '2026-12-31'"))
    rep = engine.verify("P1", cast.office)
    assert not rep.ok and any("deadline changes row 1's due_date" in t.en for _, t in rep.problems)
    assert not engine.audit_verify().ok


def test_planned_items_keep_their_measures_dates_inside_the_deadline(engine: Engine, cast, round_):
    planned(engine, cast, "P1", "phased", due="2026-05-31")
    engine.request_extension("P1", "2026-06-30", reason="x", actor=cast.owner)  # its measure is due 05-31
    engine.decide_extension("P1", approve=True, actor=cast.office)
    view = engine.issue("P1", cast.office).to_dict()
    assert view["due_date"] == "2026-06-30" and view["measures"][0]["due_date"] == "2026-05-31"


def test_a_deadline_change_from_the_command_line(db_url: str):
    from click.testing import CliRunner

    from zhenggai.cli import main

    runner = CliRunner()

    def cli(*args: str):
        return runner.invoke(main, ["--db", db_url, "--lang", "zh", *args], catch_exceptions=False)

    assert cli("init").exit_code == 0
    assert cli("round", "open", "R9", "--title", "巡视反馈", "--org", "省局", "--feedback-date", "2026-11-20",
               "--as", "wang").exit_code == 0  # fmt: skip
    r = cli("issue", "add", "R9", "Q1", "--title", "问题", "--category", "phased", "--unit", "省局/财务处",
            "--owner", "li", "--lead", "zhao", "--due", "2027-01-31", "--as", "wang")  # fmt: skip
    assert r.exit_code == 0, r.output
    r = cli("deadline", "request", "Q1", "2027-03-31", "--reason", "资金未到位", "--measure", "x", "--as", "li")
    assert r.exit_code == 2 and "NO=DATE" in r.output
    r = cli("deadline", "request", "Q1", "2027-03-31", "--reason", "资金未到位", "--as", "li")
    assert r.exit_code == 0 and "待审批" in r.output, r.output
    r = cli("deadline", "refuse", "Q1", "--as", "li", "--role", "owner", "--comment", "自批")
    assert r.exit_code == 3, r.output
    r = cli("deadline", "approve", "Q1", "--comment", "同意", "--as", "wang")
    assert r.exit_code == 0 and "2027-03-31" in r.output, r.output
    r = cli("--json", "deadline", "list", "Q1")
    assert [x["status"] for x in json.loads(r.output)] == ["approved"]


def test_a_deadline_change_over_http(opened):
    pytest.importorskip("fastapi")
    from serverhelpers import as_

    owner, office = as_(opened, "li", ["owner"], ["省局/财务处"]), as_(opened, "wang", ["inspection_office"])
    r = owner.post("/issues/P1/deadline-changes", {"due_date": "2027-03-31", "reason": "资金未到位"})
    assert r.status_code == 201, r.text
    assert r.json()["deadline_changes"][0]["status"] == "pending"
    r = owner.post("/issues/P1/deadline-changes/decision", {"approve": True})
    assert r.status_code == 409 and r.json()["code"] == "refused"  # the owner does not decide
    r = office.post("/issues/P1/deadline-changes/decision", {"approve": True, "comment": "同意"})
    assert r.status_code == 200 and r.json()["due_date"] == "2027-03-31" and r.json()["extensions"] == 1
    assert [c["status"] for c in office.get("/issues/P1/deadline-changes").json()] == ["approved"]
