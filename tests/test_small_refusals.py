"""Small things a careless or hostile hand gets wrong, each refused with a clear error, or made
harmless: a rule name that could never count as fired, users' text that would restructure a
Markdown draft, a unit called ``*``, credentials inside an evidence address, a database the
engine does not support."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from storyhelpers import SHA, add

from zhenggai import Engine, WorkflowInvalid, parse_definition
from zhenggai.engine.definition import builtin_path
from zhenggai.engine.errors import InvalidInput

SHIPPED = builtin_path("rectification").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["plan,late", "plan late", "Plan", "计划逾期", "1st"])
def test_an_escalation_rule_whose_name_could_not_be_recorded_is_refused_with_its_line(name):
    text = SHIPPED.replace("- {name: plan_late,", "- {name: " + json.dumps(name, ensure_ascii=False) + ",")
    assert text != SHIPPED
    with pytest.raises(WorkflowInvalid) as exc:
        parse_definition(text, "wf.yaml")
    [problem] = [p for p in exc.value.problems if p.key.endswith(".name")]
    assert problem.line == text[: text.index(json.dumps(name, ensure_ascii=False))].count("\n") + 1
    assert "lower-case letters, digits and _" in problem.reason.en


def test_users_text_cannot_restructure_the_markdown_draft(engine: Engine, cast, round_, tmp_path):
    from zhenggai.reporting.draft import draft_report

    engine.add_issue(
        round_, "P1", title="# 伪造的标题\n| 伪 | 造 |\n<script>alert(1)</script>", category="phased",
        unit="省局/财务处", owner="li", lead="zhao", due_date="2026-05-31", actor=cast.office,
        description="- 假列表\n[链接](http://evil.example)",
    )  # fmt: skip
    out = tmp_path / "draft.md"
    draft_report(engine, round_, out, actor=cast.office, charts=False)
    text = out.read_text(encoding="utf-8")
    assert "<script>" not in text and "\\<script\\>" in text
    lines = text.splitlines()
    assert not any(line.startswith("# 伪造") or line.startswith("| 伪") for line in lines)
    assert "[链接](" not in text and "\\[链接\\](http://evil.example)" in text  # a link no more: text
    assert "伪造的标题" in text  # the text is all there, as text


def test_a_unit_called_star_and_credentials_in_an_evidence_address_are_refused(engine: Engine, cast, round_):
    for unit in ("*", "省局/*", "省局/*/科"):
        with pytest.raises(InvalidInput) as exc:
            add(engine, cast, "P9", unit=unit)
        assert exc.value.details["field"] == "unit"
    add(engine, cast, "P1")
    for uri in ("https://li:secret@oa.example/f/1", "oa://token@files/1", "s3://AKIA:KEY@bucket/x"):
        with pytest.raises(InvalidInput) as exc:
            engine.add_evidence("P1", uri, SHA, actor=cast.owner)
        assert exc.value.details["field"] == "uri" and "secret" not in exc.value.text.en
    assert engine.issue("P1", cast.office).evidence == []


@pytest.mark.parametrize("url", ["mysql://root@127.0.0.1/test", "oracle://u:p@db/x", "mssql+pyodbc://h/d"])
def test_a_database_the_engine_does_not_support_gets_a_message_not_a_traceback(url):
    from zhenggai.cli import main

    r = CliRunner().invoke(main, ["--db", url, "--json", "init"])
    assert (r.exit_code == 2 and r.exception is None) or isinstance(r.exception, SystemExit), r.output
    err = json.loads(r.output)["error"]
    assert err["field"] == "db" and "not supported" in err["message"]["en"]
