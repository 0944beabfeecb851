"""The office corrects how a problem was recorded — disclosed or confidential (不予公开), and
its source — with a reason, on the chain, and the public report follows the correction."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from serverhelpers import as_
from sqlalchemy import text
from storyhelpers import SHA, add

from zhenggai import Actor, Engine
from zhenggai.cli import main
from zhenggai.engine.errors import InvalidInput, Refused
from zhenggai.reporting.draft import build_context

REASON = "误标为不予公开，经整改办核实应予公开"


def _closed(engine: Engine, cast, code: str, clock) -> None:
    add(engine, cast, code, "immediate")
    engine.add_measure(code, "追缴个税", owner="li", due_date="2026-04-15", actor=cast.owner)
    engine.fire(code, "plan", actor=cast.owner)
    engine.sign_off(code, "unit_lead", actor=cast.lead)
    engine.fire(code, "start", actor=cast.owner)
    clock.set("2026-04-10")
    engine.complete_measure(code, 1, actor=cast.owner)
    engine.add_evidence(code, "oa://files/123", SHA, note="补缴凭证", actor=cast.owner)
    engine.fire(code, "submit_self_check", actor=cast.owner)
    engine.fire(code, "review", actor=cast.reviewer)
    engine.sign_off(code, "inspection_office", actor=cast.office)
    assert engine.fire(code, "close", actor=cast.office).dest == "closed"


def test_a_problem_marked_confidential_by_mistake_comes_back_into_the_public_report(engine: Engine, cast, round_):
    add(engine, cast, "P1")
    engine.add_issue(
        round_, "P2", title="干部选拔程序不规范", category="phased", unit="省局/财务处", owner="li", lead="zhao",
        confidential=True, actor=cast.office,
    )  # fmt: skip
    before = build_context(engine, round_, actor=cast.office, kind="committee", public=True)
    assert (before["totals"]["total"], before["withheld"]) == (1, 1)

    changed = engine.correct_issue("P2", confidential=False, reason=REASON, actor=cast.office)

    assert changed == {"confidential": {"from": True, "to": False}}
    assert engine.issue("P2", cast.office).confidential is False
    after = build_context(engine, round_, actor=cast.office, kind="committee", public=True)
    assert (after["totals"]["total"], after["withheld"]) == (2, 0)
    last = engine.history("P2", cast.office)[-1]
    assert (last["kind"], last["actor"], last["comment"]) == ("corrected", "wang", REASON)
    assert engine.verify("P2", cast.office).ok  # the replay knows the correction


def test_a_wrong_source_is_corrected_and_counted_under_the_right_heading(engine: Engine, cast, round_):
    add(engine, cast, "P1")
    assert engine.issue("P1", cast.office).source == "inspection"
    engine.correct_issue("P1", source="audit", reason="系审计移交问题", actor=cast.office)
    view = engine.issue("P1", cast.office)
    assert (view.source, view.source_label.zh) == ("audit", "审计发现问题")
    groups = engine.stats(round_, actor=cast.office, by="source")["by"]["groups"]
    assert groups["audit"]["total"] == 1 and "inspection" not in groups
    assert engine.verify("P1", cast.office).ok


def test_a_closed_problem_can_still_be_corrected(engine: Engine, cast, round_, clock):
    _closed(engine, cast, "P1", clock)
    engine.correct_issue("P1", confidential=True, reason="涉密，不予公开", actor=cast.office)
    assert engine.issue("P1", cast.office).confidential is True
    assert engine.verify("P1", cast.office).ok


def test_a_correction_without_a_reason_or_a_change_or_by_the_wrong_person_is_refused(engine: Engine, cast, round_):
    add(engine, cast, "P1")
    version = engine.issue("P1", cast.office).version
    with pytest.raises(InvalidInput) as exc:
        engine.correct_issue("P1", confidential=True, reason="  ", actor=cast.office)
    assert exc.value.details["field"] == "reason"
    with pytest.raises(InvalidInput) as exc:
        engine.correct_issue("P1", reason=REASON, actor=cast.office)
    assert exc.value.details["field"] == "confidential"
    with pytest.raises(InvalidInput) as exc:
        engine.correct_issue("P1", confidential=False, reason=REASON, actor=cast.office)
    assert "nothing would change" in exc.value.text.en
    with pytest.raises(InvalidInput) as exc:
        engine.correct_issue("P1", source="rumour", reason=REASON, actor=cast.office)
    assert exc.value.details["field"] == "source" and "audit" in exc.value.text.en
    with pytest.raises(Refused) as refused:  # the owner may not decide what the public reads
        engine.correct_issue("P1", confidential=True, reason=REASON, actor=cast.owner)
    assert "correct_issue" in refused.value.text.en
    assert engine.issue("P1", cast.office).version == version  # nothing was written


def test_a_workflow_that_grants_no_correction_refuses_it(engine: Engine, cast, round_):
    from zhenggai.engine.definition import builtin_path

    shipped = builtin_path("rectification").read_text(encoding="utf-8")
    lines = [ln for ln in shipped.splitlines(keepends=True) if not ln.lstrip().startswith("correct_issue:")]
    mine = "".join(lines).replace("name: rectification", "name: no_corrections", 1)
    engine.deploy_workflow(mine, actor=Actor("admin", frozenset({"admin"})))
    engine.add_issue(
        round_, "P1", title="t", category="phased", unit="省局/财务处", owner="li", lead="zhao",
        workflow="no_corrections", actor=cast.office,
    )  # fmt: skip
    with pytest.raises(Refused):
        engine.correct_issue("P1", confidential=True, reason=REASON, actor=cast.office)


def test_a_correction_undone_behind_the_engine_is_named_by_verify(engine: Engine, cast, round_):
    add(engine, cast, "P1")
    engine.correct_issue("P1", confidential=True, source="audit", reason=REASON, actor=cast.office)
    assert engine.verify("P1", cast.office).ok
    with engine.db.engine.begin() as conn:
        conn.execute(text("UPDATE issues SET confidential = :f, source = 'inspection' WHERE code = 'P1'"), {"f": False})
    problems = " ".join(reason.en for _, reason in engine.verify("P1", cast.office).problems)
    assert "confidential" in problems and "source" in problems


def test_the_office_corrects_a_disclosure_from_the_command_line(engine: Engine, cast, round_, db_url):
    engine.add_issue(
        round_, "P1", title="t", category="phased", unit="省局/财务处", owner="li", lead="zhao", confidential=True,
        actor=cast.office,
    )  # fmt: skip
    run = CliRunner().invoke
    r = run(main, ["--db", db_url, "issue", "correct", "P1", "--public", "--reason", REASON, "--as", "wang"])
    assert r.exit_code == 0, r.output
    assert "已更正" in r.output and "confidential：True → False" in r.output
    assert engine.issue("P1", cast.office).confidential is False
    r = run(main, ["--db", db_url, "--lang", "en", "issue", "correct", "P1", "--public", "--as", "wang"])
    assert r.exit_code == 2 and "--reason" in r.output  # a correction without its reason is not accepted


def test_an_oa_system_corrects_a_source_over_http(opened):
    office = as_(opened, "wang", ["inspection_office"])
    version = office.get("/issues/P1").json()["version"]
    r = office.post("/issues/P1/correction", {"source": "audit", "reason": "系审计移交问题"}, headers={"If-Match": f'"{version}"'})
    assert r.status_code == 200, r.text
    assert r.json()["source"] == "audit" and r.json()["version"] == version + 1
    r = office.post("/issues/P1/correction", {"source": "audit", "reason": "again"}, headers={"If-Match": f'"{version}"'})
    assert r.status_code == 412  # written against a version that is gone
    owner = as_(opened, "li", ["owner"], ["省局/财务处"])
    r = owner.post("/issues/P1/correction", {"confidential": True, "reason": "x"})
    assert r.status_code == 409 and "correct_issue" in r.text
