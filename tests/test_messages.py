"""What a user reads when something is refused: the step by its name, the argument as typed,
the file's line without an empty key, an unknown role called unknown, a role by its label —
and no category that reads like a state."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from storyhelpers import add

from zhenggai import Engine
from zhenggai.cli import main
from zhenggai.engine.actors import Actor
from zhenggai.engine.definition import builtin_path, parse_definition
from zhenggai.engine.errors import Refused, WorkflowInvalid


def _said(exc: pytest.ExceptionInfo[Refused]) -> str:
    return exc.value.render("zh") + "\n" + exc.value.render("en")


def test_a_step_asked_of_the_wrong_state_is_refused_by_its_name(engine: Engine, cast, round_):
    add(engine, cast, "P0")
    with pytest.raises(Refused) as e:
        engine.fire("P0", "start", actor=cast.owner)
    assert "问题 P0 不能开始整改" in _said(e) and "issue P0 cannot Start" in _said(e)
    with pytest.raises(Refused) as e:
        engine.fire("P0", "fly", actor=cast.owner)
    assert "问题 P0 不能执行 fly" in _said(e)


def test_an_unknown_role_is_called_unknown(engine: Engine, cast, round_):
    add(engine, cast, "P1")
    engine.add_measure("P1", "整改", owner="li", due_date="2026-05-31", actor=cast.owner)
    with pytest.raises(Refused) as e:
        engine.fire("P1", "plan", role="mayor", actor=Actor("li", frozenset({"mayor"})))
    assert "未知的角色 mayor" in _said(e) and "unknown role mayor" in _said(e) and "may not" not in _said(e)


def test_someone_else_than_the_issues_owner_is_told_so_in_one_language(engine: Engine, cast, round_):
    add(engine, cast, "P1")
    engine.add_measure("P1", "整改", owner="li", due_date="2026-05-31", actor=cast.owner)
    with pytest.raises(Refused) as e:
        engine.fire("P1", "plan", actor=Actor("qian", frozenset({"owner"}), ("省局/财务处",)))
    assert "qian 不是本问题的责任人（应为 li）" in e.value.render("zh")
    assert "qian is not this issue's owner (that is li)" in e.value.render("en")


def test_a_yaml_alias_is_located_by_file_and_line_only(engine: Engine):
    bomb = "name: bomb\nversion: 1\nx: &a [1, 2]\ny: *a\n"
    with pytest.raises(WorkflowInvalid) as e:
        engine.validate_workflow(bomb, file="bomb.yaml")
    text = e.value.render("en")
    assert "bomb.yaml:4: YAML aliases" in text and " -:" not in text


def test_a_missing_file_names_the_positional_argument(db_url: str, tmp_path: Path):
    runner = CliRunner()
    args = ["--db", db_url, "--lang", "zh"]
    assert runner.invoke(main, [*args, "init"]).exit_code == 0
    r = runner.invoke(main, [*args, "round", "open", "R1", "--title", "t", "--org", "省局", "--feedback-date",
                             "2026-11-20", "--as", "wang"])  # fmt: skip
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, [*args, "issue", "import", str(tmp_path / "没有.csv"), "--round", "R1", "--as", "wang"])
    assert r.exit_code != 0 and "（FILE）" in r.output and "--file" not in r.output, r.output


def test_no_category_is_labelled_like_a_state():
    for name in ("rectification", "audit"):
        src = builtin_path(name).read_text(encoding="utf-8")
        Engine.validate_workflow(None, src, file=f"{name}.yaml")  # type: ignore[arg-type]
    src = builtin_path("rectification").read_text(encoding="utf-8")
    old = src.replace(
        "{zh: 受客观条件限制, en: Constrained by objective conditions}", "{zh: 挂牌督办, en: Constrained}"
    )
    assert old != src
    with pytest.raises(WorkflowInvalid) as e:
        Engine.validate_workflow(None, old, file="old.yaml")  # type: ignore[arg-type]
    text = e.value.render("zh")
    assert "categories.constrained" in text and "与状态 supervised 同名（挂牌督办）" in text
    assert (
        parse_definition(old, "rectification v2").categories["constrained"].zh == "挂牌督办"
    )  # deployed before: still read
