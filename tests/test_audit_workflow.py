"""The audit rectification workflow (审计整改) runs on the same engine with its own states and
sign-offs, beside inspection problems in one round; a confused owner asks why a problem
cannot move; a host application adds a guard from an installed package."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from storyhelpers import SHA, add, planned

from zhenggai import Actor, Engine
from zhenggai.cli import main
from zhenggai.engine.errors import Forbidden, Refused

AUDIT_OFFICE = Actor("qian", frozenset({"audit_office"}))
PRINCIPAL = Actor("zheng", frozenset({"principal"}), ("省局",))
CHECKER = Actor("feng", frozenset({"checker"}))
ADMIN = Actor("admin", frozenset({"admin"}))


def add_finding(engine: Engine, code: str = "A1", category: str = "phased") -> None:
    engine.add_issue(
        "R1",
        code,
        title="专项资金未按规定用途使用",
        category=category,
        unit="省局/财务处",
        owner="li",
        lead="zhao",
        due_date="2026-05-09",
        source="special_funds",
        workflow="audit",
        actor=AUDIT_OFFICE,
    )


def test_an_audit_finding_is_reported_back_checked_and_closed(engine: Engine, cast, round_) -> None:
    add(engine, cast, "P1")  # an inspection problem in the same round
    add_finding(engine)
    a1 = engine.issue("A1", ADMIN)
    assert (a1.workflow, a1.state, a1.source) == ("audit", "found", "special_funds")
    assert engine.issue("P1", ADMIN).workflow == "rectification"

    engine.add_measure("A1", "追回挪用资金", owner="li", due_date="2026-05-01", target="全额追回", actor=cast.owner)
    engine.fire("A1", "plan", actor=cast.owner)
    engine.sign_off("A1", "unit_lead", actor=cast.lead)
    engine.fire("A1", "start", actor=cast.owner)
    assert engine.issue("A1", ADMIN).state == "rectifying"
    engine.complete_measure("A1", 1, actor=cast.owner)
    engine.add_evidence("A1", "oa://files/a1-refund", SHA, actor=cast.owner)

    # the report back to the audit office needs the principal's signature (主要负责人签字)
    with pytest.raises(Refused) as err:
        engine.fire("A1", "report_back", actor=cast.owner)
    assert [rule for rule, _ in err.value.reasons] == ["signed_off"]
    engine.sign_off("A1", "principal", actor=PRINCIPAL)
    engine.fire("A1", "report_back", actor=cast.owner)

    # the audit office's checker, not the owner, checks it
    with pytest.raises(Refused):
        engine.fire("A1", "check", actor=Actor("li", frozenset({"checker"})))
    engine.fire("A1", "check", actor=CHECKER)
    with pytest.raises(Refused) as err:
        engine.fire("A1", "close", actor=AUDIT_OFFICE)
    assert [rule for rule, _ in err.value.reasons] == ["signed_off"]
    engine.sign_off("A1", "audit_office", actor=AUDIT_OFFICE)
    engine.fire("A1", "close", actor=AUDIT_OFFICE)
    assert engine.issue("A1", ADMIN).state == "closed"
    assert engine.verify("A1", ADMIN).ok
    # the inspection workflow's triggers mean nothing to an audit finding
    with pytest.raises(Refused):
        engine.fire("A1", "review", actor=cast.reviewer)


def test_the_audit_workflow_decides_who_may_record_its_findings(engine: Engine, cast, round_) -> None:
    with pytest.raises(Refused):  # the inspection office records inspection problems, not audit findings
        engine.add_issue(
            "R1",
            "A1",
            title="x",
            category="phased",
            unit="省局/财务处",
            owner="li",
            lead="zhao",
            workflow="audit",
            actor=cast.office,
        )
    with pytest.raises(Exception, match="systemic"):  # and its categories are its own
        add_finding(engine, category="systemic")


def test_a_round_of_two_workflows_counts_and_exports_both(engine: Engine, cast, round_, tmp_path: Path) -> None:
    planned(engine, cast, "P1")
    add_finding(engine)
    stats = engine.stats("R1", actor=cast.office, by="state")
    groups = stats["by"]["groups"]
    assert stats["total"] == 2
    assert groups["found"]["label"]["zh"] == "已确认问题" and groups["planned"]["total"] == 1
    n = engine.export_ledger("R1", tmp_path / "台账.csv", actor=cast.office)
    text = (tmp_path / "台账.csv").read_text(encoding="utf-8-sig")
    assert n == 2 and "已确认问题" in text and "已制定措施" in text


def test_explain_tells_the_owner_what_blocks_each_step(engine: Engine, cast, round_) -> None:
    planned(engine, cast, "P1")
    ex = engine.explain("P1", actor=cast.owner)
    start = next(t for t in ex.triggers if t.trigger == "start")
    assert not start.available
    failed = {c.rule: c.reason.en for c in start.checks if not c.ok}
    assert list(failed) == ["signed_off: unit_lead"]
    assert "Unit lead" in failed["signed_off: unit_lead"]
    assert all(c.ok for c in start.checks if c.rule == "role")
    escalate = next(t for t in ex.triggers if t.trigger == "escalate")
    assert [c.rule for c in escalate.checks if not c.ok] == ["role"]  # only discipline may supervise
    assert ex.to_dict()["round"]["in_period"] is True

    engine.sign_off("P1", "unit_lead", actor=cast.lead)
    (start,) = engine.explain("P1", "start", actor=cast.owner).triggers
    assert start.available
    engine.fire("P1", "start", actor=cast.owner)  # and the fire agrees

    ex = engine.explain("P1", "close", actor=cast.office)
    assert not any(t.possible_here for t in ex.triggers)
    assert "only" in ex.notes[0].en and "Reviewed" in ex.notes[0].en
    ex = engine.explain("P1", "fly", actor=cast.office)
    assert ex.triggers == [] and "no trigger fly" in ex.notes[0].en
    with pytest.raises(Forbidden):
        engine.explain("P1", actor=cast.other_owner)


def test_explain_after_the_period_names_the_period(engine: Engine, cast, round_, clock) -> None:
    add(engine, cast, "P1", due="2026-06-01")
    engine.add_measure("P1", "措施", owner="li", due_date="2026-06-01", target="100%", actor=cast.owner)
    engine.fire("P1", "plan", actor=cast.owner)
    engine.sign_off("P1", "unit_lead", actor=cast.lead)
    clock.set("2026-07-01")
    ex = engine.explain("P1", "start", actor=cast.owner)
    assert ex.to_dict()["round"]["in_period"] is False
    assert ex.triggers[0].available  # an immediate item due inside the period may still start


def test_cli_diff_migrate_deprecate_and_explain(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()

    def cli(*args: str):
        return runner.invoke(main, ["--db", db_url, "--lang", "en", *args], catch_exceptions=False)

    assert cli("init").exit_code == 0
    assert (
        cli("round", "open", "R1", "--title", "巡视", "--org", "省局", "--feedback-date", "2026-03-10").exit_code == 0
    )
    for code in ("P1", "P2"):
        r = cli("issue", "add", "R1", code, "--title", "问题", "--category", "immediate", "--unit", "省局/财务处",
                "--owner", "li", "--lead", "zhao", "--due", "2026-05-01")  # fmt: skip
        assert r.exit_code == 0, r.output
    v3 = tmp_path / "v3.yaml"
    from zhenggai.engine.definition import builtin_path

    text = builtin_path("rectification").read_text(encoding="utf-8").replace("version: 3", "version: 4")
    v3.write_text(text.replace("identified", "recorded"), encoding="utf-8")

    r = cli("--json", "workflow", "diff", "rectification@3", str(v3))
    assert r.exit_code == 0, r.output
    changes = {(c["section"], c["name"], c["change"]) for c in json.loads(r.output)["changes"]}
    assert {("states", "identified", "removed"), ("states", "recorded", "added")} <= changes
    assert cli("workflow", "diff", "rectification@3", "nowhere.yaml").exit_code == 2

    assert cli("workflow", "deploy", str(v3)).exit_code == 0
    r = cli("workflow", "migrate", "rectification", "--from", "3", "--to", "4")
    assert r.exit_code == 3 and "--map identified=NEW" in r.output
    r = cli("workflow", "migrate", "rectification", "--from", "3", "--to", "4", "--map", "identified=recorded",
            "--dry-run")  # fmt: skip
    assert r.exit_code == 0 and "would move 2 issues" in r.output
    r = cli("--json", "workflow", "migrate", "rectification", "--from", "3", "--to", "4",
            "--map", "identified=recorded", "--where", "state=identified")  # fmt: skip
    assert json.loads(r.output)["total"] == 2
    r = cli("workflow", "migrate", "rectification", "--from", "3", "--to", "4", "--where", "nonsense")
    assert r.exit_code == 2
    r = cli("workflow", "deprecate", "rectification", "3")
    assert r.exit_code == 0 and "deprecated" in r.output
    assert "deprecated" in cli("workflow", "list").output

    r = cli("--json", "explain", "P1", "plan", "--as", "li", "--role", "owner")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["workflow"]["version"] == 4 and data["state"] == "recorded"
    assert [c["rule"] for c in data["triggers"][0]["checks"] if not c["ok"]] == ["has_measures"]
    r = cli("explain", "P1", "plan", "--as", "li", "--role", "owner")
    assert "✗ has_measures" in r.output


PLUGIN = '''
from zhenggai import Text, register_guard


@register_guard("budget_approved", needs=["signoffs"])
def budget_approved(issue, ctx, params):
    """The finance office signed off the budget for this stage."""
    if any(s.role == "finance" and s.stage_seq == issue.state_seq for s in issue.signoffs):
        return None
    return Text("预算尚未经财务部门确认", "the finance office has not approved the budget")
'''


def _install_plugin(site: Path, module: str, body: str, value: str) -> None:
    """A package installed the way pip installs one: a module and its entry point metadata."""
    (site / f"{module}.py").write_text(textwrap.dedent(body), encoding="utf-8")
    info = site / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[zhenggai.guards]\n{module} = {value}\n", encoding="utf-8")


def test_a_guard_from_an_installed_package_is_found_by_its_entry_point(tmp_path: Path) -> None:
    from zhenggai.engine.definition import builtin_path

    site = tmp_path / "site"
    site.mkdir()
    _install_plugin(site, "zg_budget", PLUGIN, "zg_budget")
    _install_plugin(site, "zg_broken", "raise RuntimeError('no finance module here')\n", "zg_broken")
    text = builtin_path("rectification").read_text(encoding="utf-8")
    wf = tmp_path / "wf.yaml"
    wf.write_text(
        text.replace("      - signed_off: unit_lead\n", "      - signed_off: unit_lead\n      - budget_approved\n")
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        text.replace("      - signed_off: unit_lead\n", "      - signed_off: unit_lead\n      - ledger_audited\n")
    )
    env = {**os.environ, "PYTHONPATH": str(site), "ZHENGGAI_LANG": "en"}

    def validate(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "zhenggai.cli", "workflow", "validate", str(path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    ok = validate(wf)
    assert ok.returncode == 0, ok.stderr
    refused = validate(bad)
    assert refused.returncode == 2
    assert "unknown guard ledger_audited" in refused.stderr
    assert "budget_approved" in refused.stderr  # the plugin's guard is among those known
    assert "zg_broken" in refused.stderr and "no finance module here" in refused.stderr
    # without the package installed, the same workflow is refused
    plain = subprocess.run(
        [sys.executable, "-m", "zhenggai.cli", "workflow", "validate", str(wf)],
        env={**os.environ, "ZHENGGAI_LANG": "en"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert plain.returncode == 2 and "unknown guard budget_approved" in plain.stderr


def test_explain_and_fire_agree_on_every_step_of_a_walk(engine: Engine, cast, round_) -> None:
    """For each person and each trigger, along the whole life of two problems: where explain
    says a step is possible the fire goes through, and where it says not, the fire is refused
    for exactly the rules explain marked."""
    from zhenggai.engine.errors import ZhenggaiError

    add(engine, cast, "P1")
    add(engine, cast, "P2", "long_term", severity="serious", due="2026-05-31")
    people = [cast.owner, cast.lead, cast.reviewer, cast.reviewer2, cast.office, cast.secretary, cast.discipline]
    steps = [  # what each person does between the checks, so the problems move through their states
        lambda c: (
            engine.issue(c, ADMIN).measures
            or engine.add_measure(c, "措施", owner="li", due_date="2026-05-30", target="100%", actor=cast.owner)
        ),
        lambda c: engine.sign_off(c, "unit_lead", actor=cast.lead),
        lambda c: engine.complete_measure(c, 1, actor=cast.owner),
        lambda c: engine.add_evidence(c, "oa://files/x", SHA, actor=cast.owner),
        lambda c: engine.sign_off(c, "secretary", actor=cast.secretary),
        lambda c: engine.add_mechanism(c, "长效制度", actor=cast.owner),
        lambda c: engine.sign_off(c, "inspection_office", actor=cast.office),
    ]
    compared = 0
    seen_states: set[str] = set()
    for walk in range(6):
        # the discipline body supervises only at the end, so the problems first go all the way
        acting = people if walk == 5 else [p for p in people if p is not cast.discipline]
        for code in ("P1", "P2"):
            for step in steps:
                with contextlib.suppress(ZhenggaiError):  # not possible at this point of the story
                    step(code)
            d = engine.workflow("rectification", 3)
            for actor in acting:
                for trigger in d.triggers():
                    ex = engine.explain(code, trigger, actor=actor)
                    seen_states.add(ex.state)
                    here = [t for t in ex.triggers if t.possible_here]
                    # no comment for send_back: it is then refused for that, so the problems go on to close
                    comment = "说明" if trigger in ("resume", "reopen") else None
                    try:
                        engine.fire(code, trigger, actor=actor, comment=comment)
                        fired, rules = True, set()
                    except Refused as err:
                        fired, rules = False, {rule for rule, _ in err.reasons}
                    except ZhenggaiError:
                        fired, rules = False, {"forbidden"}
                    compared += 1
                    if not here:
                        assert not fired and rules <= {"state", "forbidden"}, (code, trigger, actor.id, rules)
                        continue
                    (t,) = here
                    failed = {c.rule.split(":")[0] for c in t.checks if not c.ok}
                    if any(c.rule == "require:comment" for c in t.checks) and comment is None:
                        failed.add("require:comment")
                    assert fired == (not failed), (code, trigger, actor.id, failed, rules)
                    if not fired and "forbidden" not in rules:
                        assert rules == failed, (code, trigger, actor.id, failed, rules)
    assert compared > 200
    assert {"identified", "planned", "in_progress", "self_checked", "reviewed", "closed"} <= seen_states


def test_a_host_guard_refuses_a_fire_with_its_own_words(engine: Engine, cast, round_) -> None:
    from zhenggai import Text, register_guard
    from zhenggai.engine.definition import builtin_path

    @register_guard("finance_approved", needs=["signoffs"], replace=True)
    def finance_approved(issue, ctx, params):
        """The finance office signed off this stage."""
        if any(s.role == "secretary" and s.stage_seq == issue.state_seq for s in issue.signoffs or ()):
            return None
        return Text("预算尚未经财务部门确认", "the finance office has not approved the budget")

    text = builtin_path("rectification").read_text(encoding="utf-8").replace("version: 3", "version: 4")
    text = text.replace(
        "      - signed_off: unit_lead\n", "      - signed_off: unit_lead\n      - finance_approved\n", 1
    )
    engine.deploy_workflow(text, actor=ADMIN)
    engine.open_round("R2", title="第二轮", org="省局", feedback_date="2026-03-10", actor=cast.office)
    engine.add_issue("R2", "Q1", title="问题", category="immediate", unit="省局/财务处", owner="li", lead="zhao",
                     due_date="2026-05-31", actor=cast.office)  # fmt: skip
    engine.add_measure("Q1", "措施", owner="li", due_date="2026-05-30", target="100%", actor=cast.owner)
    engine.fire("Q1", "plan", actor=cast.owner)
    engine.sign_off("Q1", "unit_lead", actor=cast.lead)
    with pytest.raises(Refused) as err:
        engine.fire("Q1", "start", actor=cast.owner)
    assert [(r, t.en) for r, t in err.value.reasons] == [
        ("finance_approved", "the finance office has not approved the budget")
    ]
    engine.sign_off("Q1", "secretary", actor=cast.secretary)
    engine.fire("Q1", "start", actor=cast.owner)
    assert engine.issue("Q1", ADMIN).state == "in_progress"
