"""The command line, as an administrator and an owner would use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from zhenggai.cli import main


@pytest.fixture
def cli(db_url: str):
    runner = CliRunner()

    def invoke(*args: str, lang: str = "en"):
        return runner.invoke(main, ["--db", db_url, "--lang", lang, *args], catch_exceptions=False)

    return invoke


def test_a_round_from_the_command_line(cli, tmp_path: Path):
    assert cli("init").exit_code == 0
    r = cli(
        "round", "open", "R1", "--title", "巡视反馈", "--org", "省局", "--feedback-date", "2026-03-10", "--as", "wang"
    )
    assert r.exit_code == 0, r.output
    assert "2026-06-10" in r.output
    r = cli(
        "issue",
        "add",
        "R1",
        "P1",
        "--title",
        "奖金未扣个税",
        "--category",
        "immediate",
        "--unit",
        "省局/财务处",
        "--owner",
        "li",
        "--lead",
        "zhao",
        "--due",
        "2026-04-30",
        "--as",
        "wang",
    )
    assert r.exit_code == 0, r.output

    r = cli("fire", "P1", "plan", "--as", "li", "--role", "owner")
    assert r.exit_code == 3
    assert "[has_measures] no rectification measures have been recorded" in r.output

    r = cli("--json", "fire", "P1", "plan", "--as", "li", "--role", "owner")
    assert r.exit_code == 3
    err = json.loads(r.output)["error"]
    assert err["code"] == "refused" and err["reasons"][0]["rule"] == "has_measures"
    assert err["reasons"][0]["reason"]["zh"] == "尚未制定整改措施"

    assert cli("measure", "add", "P1", "追缴个税", "--owner", "li", "--due", "2026-04-15", "--as", "li").exit_code == 0
    r = cli("fire", "P1", "plan", "--as", "li", "--role", "owner")
    assert r.exit_code == 0 and "Identified" in r.output and "Planned" in r.output
    assert cli("signoff", "P1", "--role", "unit_lead", "--as", "zhao").exit_code == 0
    assert cli("fire", "P1", "start", "--as", "li", "--role", "owner", "--request-id", "r1").exit_code == 0
    again = cli("fire", "P1", "start", "--as", "li", "--role", "owner", "--request-id", "r1")
    assert again.exit_code == 0 and "repeated request" in again.output

    r = cli("issue", "show", "P1", "--json")
    data = json.loads(r.output)
    assert data["state"] == "in_progress" and data["measures"][0]["owner"] == "li"

    r = cli("issue", "list", "--round", "R1")
    assert "P1" in r.output and "In progress" in r.output

    r = cli("history", "P1", "--verify")
    assert r.exit_code == 0 and "chain intact" in r.output
    h = json.loads(cli("history", "P1", "--json").output)
    kinds = [e["kind"] for e in h["events"]]
    assert kinds[0] == "created" and kinds.count("transition") == 2


def test_chinese_is_shown_first_by_default(cli):
    cli("init")
    r = cli("round", "open", "R1", "--title", "t", "--org", "省局", "--feedback-date", "2026-03-10", lang="zh")
    assert r.output.startswith("已开启轮次 R1")
    assert "opened round R1" in r.output


def test_a_bad_argument_names_the_argument(cli):
    cli("init")
    r = cli("round", "open", "R1", "--title", "t", "--org", "省局", "--feedback-date", "10/03/2026")
    assert r.exit_code == 2 and "feedback_date" in r.output
    r = cli("issue", "list", "--limit", "0")
    assert r.exit_code == 2 and "--limit" in r.output


def test_commands_before_init_say_so(tmp_path: Path):
    r = CliRunner().invoke(main, ["--db", str(tmp_path / "none.db"), "issue", "list"])
    assert r.exit_code == 7 and "zhenggai init" in r.output
    assert not (tmp_path / "none.db").exists()


def test_workflow_validate_lists_every_error_with_its_line(cli, tmp_path: Path):
    from zhenggai.engine.definition import builtin_path

    src = builtin_path("rectification").read_text(encoding="utf-8")
    broken = src.replace("      - measures_done\n", "      - measures_finished\n", 1)
    broken = broken.replace("roles: [reviewer]", "roles: [auditor]")
    path = tmp_path / "broken.yaml"
    path.write_text(broken, encoding="utf-8")
    r = cli("workflow", "validate", str(path))
    assert r.exit_code == 2
    assert "the workflow has 2 errors" in r.output
    lines = src.splitlines()
    guard_line = next(i for i, line in enumerate(lines, 1) if line == "      - measures_done")
    assert f"{path}:{guard_line}: transitions.submit_self_check.guards[3]: unknown guard measures_finished" in r.output
    assert "unknown role auditor" in r.output
    ok = cli("workflow", "validate", str(builtin_path("rectification")))
    assert ok.exit_code == 0 and "valid" in ok.output


def test_workflow_deploy_versions_and_show(cli, tmp_path: Path):
    from zhenggai.engine.definition import builtin_path

    cli("init")
    src = builtin_path("rectification").read_text(encoding="utf-8")
    path = tmp_path / "wf.yaml"
    path.write_text(src.replace("sla: {working_days: 10}}", "sla: {working_days: 15}}", 1), encoding="utf-8")
    r = cli("workflow", "deploy", str(path))
    assert r.exit_code == 2 and "set version to 4" in r.output
    path.write_text(path.read_text(encoding="utf-8").replace("version: 3", "version: 4", 1), encoding="utf-8")
    assert cli("workflow", "deploy", str(path)).exit_code == 0
    assert "already deployed" in cli("workflow", "deploy", str(path)).output
    listed = json.loads(cli("workflow", "list", "--json").output)
    assert [(w["name"], w["version"]) for w in listed] == [("audit", 2), ("rectification", 3), ("rectification", 4)]
    mer = cli("workflow", "show", "--format", "mermaid")
    assert mer.output.startswith("stateDiagram-v2") and "reviewed --> closed: Close" in mer.output
    shown = json.loads(cli("workflow", "show", "rectification", "--version", "3", "--json").output)
    assert shown["version"] == 3 and shown["states"]["identified"]["sla"] == {"working_days": 10}


def test_demo_tells_the_story(tmp_path: Path):
    r = CliRunner().invoke(main, ["--lang", "en", "demo", "--db", str(tmp_path / "demo.db")], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    for phrase in [
        "no rectification measures",
        "needs a sign-off by the Unit lead",
        "only after the concentrated period ends",
        "no long-term mechanism",
        "four eyes",
        "未结案率呈上升态势",
        "奖金、补贴未按规定扣缴个人所得税",
        "滞纳金标准不一",
        "群众满意度与经济强省地位不匹配",
    ]:
        assert phrase in r.output, phrase
    ledger = r.output.split("Rectification ledger")[1]
    assert ledger.count("Closed") == 2 and "✗" not in ledger.split("intact")[1]


def test_the_installed_command_starts_fast_and_helps(tmp_path: Path):
    exe = Path(sys.executable).with_name("zhenggai")
    r = subprocess.run([str(exe), "--help"], capture_output=True, text=True, env={**os.environ}, timeout=60)
    assert r.returncode == 0 and "zhenggai demo" in r.stdout
    r = subprocess.run([str(exe), "fire", "--help"], capture_output=True, text=True, timeout=60)
    assert "--request-id" in r.stdout


def test_bad_global_options_are_named_not_tracebacks(cli, tmp_path: Path):
    cli("init")
    r = cli("--as-of", "2026-13-01", "issue", "list")
    assert r.exit_code == 2 and "--as-of" in r.output
    r = CliRunner().invoke(main, ["--db", "foo://x", "issue", "list"])
    assert r.exit_code == 2 and "--db" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(main, ["--db", "postgresql://x@127.0.0.1:1/y?connect_timeout=2", "issue", "list"])
    assert r.exit_code == 9 and "cannot reach the database" in r.output
    r = cli("issue", "list", "--as", "")
    assert r.exit_code == 2 and "actor id must not be empty" in r.output
    r = cli("round", "open", "R1", "--title", "t", "--org", "o", "--feedback-date", "2026-03-01", "--months", "99")
    assert r.exit_code == 2 and "(--months)" in r.output


def test_the_demo_never_overwrites_a_file_it_did_not_create(tmp_path: Path):
    notes = tmp_path / "notes.txt"
    notes.write_text("important notes", encoding="utf-8")
    r = CliRunner().invoke(main, ["demo", "--db", str(notes)])
    assert r.exit_code == 2 and "not a demo database" in r.output
    assert notes.read_text(encoding="utf-8") == "important notes"
    demo_db = tmp_path / "demo.db"
    assert CliRunner().invoke(main, ["demo", "--db", str(demo_db)]).exit_code == 0
    assert CliRunner().invoke(main, ["demo", "--db", str(demo_db)]).exit_code == 0  # its own file: replaced


def test_sweep_from_the_command_line_with_a_future_date(cli):
    cli("init")
    cli("round", "open", "R1", "--title", "t", "--org", "省局", "--feedback-date", "2026-03-10", "--as", "wang")
    cli(
        "issue",
        "add",
        "R1",
        "P1",
        "--title",
        "迟迟未制定措施",
        "--category",
        "phased",
        "--unit",
        "省局/财务处",
        "--owner",
        "li",
        "--lead",
        "zhao",
        "--due",
        "2026-12-31",
        "--as",
        "wang",
    )
    r = cli("--json", "sweep", "--as-of", "2099-01-01", "--dry-run")
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert report["dry_run"] and [f["rule"] for f in report["fired"]] == ["plan_late"]
    assert json.loads(cli("--json", "outbox", "list").output) == []  # a dry run queues nothing
    assert cli("sweep", "--as-of", "2099-13-01").exit_code == 2


def test_stats_and_ledger_from_the_command_line(cli, tmp_path: Path):
    cli("init")
    cli("round", "open", "R1", "--title", "t", "--org", "省局", "--feedback-date", "2026-03-10", "--as", "wang")
    cli(
        "issue",
        "add",
        "R1",
        "P1",
        "--title",
        "问题",
        "--category",
        "phased",
        "--unit",
        "省局/财务处",
        "--owner",
        "li",
        "--lead",
        "zhao",
        "--due",
        "2026-12-31",
        "--as",
        "wang",
    )
    r = cli("stats", "--round", "R1", "--by", "category")
    assert r.exit_code == 0 and "completion rate" in r.output and "week ending" in r.output
    st = json.loads(cli("--json", "stats", "--round", "R1").output)
    assert st["total"] == 1 and st["completion_rate"] == 0.0
    out = tmp_path / "台账.csv"
    r = cli("ledger", "export", "--round", "R1", "-o", str(out))
    assert r.exit_code == 0 and out.read_bytes().startswith(b"\xef\xbb\xbf")


def test_zhenggai_lang_puts_english_first(tmp_path: Path):
    db = str(tmp_path / "z.db")
    r = CliRunner().invoke(main, ["--db", db, "init"], env={"ZHENGGAI_LANG": "en"})
    assert r.exit_code == 0 and r.output.startswith("database ready") and "数据库已就绪" in r.output
