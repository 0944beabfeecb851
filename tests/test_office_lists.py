"""The office's own lists: the inspection team's list imports as it is, a phased item's
measures go out in the ledger and come back as they were, and a ledger imported again into
its own round adds nothing, however each problem was created."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from zhenggai import Engine
from zhenggai.engine.errors import ImportInvalid, InvalidInput

#: the columns an inspection team's list has: no 问题类别
TEAM_HEADER = ["序号", "问题描述", "整改措施", "责任领导", "责任部门", "责任人", "整改时限"]
TEAM_ROWS = [
    ["1", "落实全面从严治党主体责任不到位", "制定责任清单\n开展专题约谈", "赵刚", "办公室", "李明", "2026-09-30"],
    ["2", "干部选拔任用程序不规范", "逐一复核近三年选任档案", "赵刚", "人事处", "王芳", "2026年8月31日"],
    ["3", "公务接待超标准", "清理接待台账", "钱进", "机关事务处", "孙立", "2026/7/31"],
]


def _team_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="gbk", newline="") as f:  # as Excel on a Chinese Windows saves it
        w = csv.writer(f)
        w.writerow(TEAM_HEADER)
        w.writerows(rows)
    return path


def _team_xlsx(path: Path, rows: list[list[str]]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["省委第一巡视组反馈问题清单"])  # a title row above the header
    ws.append(TEAM_HEADER)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


@pytest.fixture
def team_round(engine: Engine, cast):
    engine.open_round("XS01", title="省委第一巡视组反馈意见", org="省局", feedback_date="2026-03-10", actor=cast.office)
    return "XS01"


@pytest.mark.parametrize("kind", ["gbk.csv", "xlsx"])
def test_the_inspection_teams_list_imports_as_it_is_with_the_workflows_default_category(
    engine: Engine, cast, team_round, tmp_path, kind
):
    path = tmp_path / f"清单.{kind.split('.')[-1]}"
    (_team_csv if kind == "gbk.csv" else _team_xlsx)(path, TEAM_ROWS)
    report = engine.import_issues(team_round, path, actor=cast.office)
    assert report.created == ["XS01-1", "XS01-2", "XS01-3"]
    p1 = engine.issue("XS01-1", cast.office)
    assert (p1.title, p1.category, p1.unit, p1.owner, p1.lead, p1.due_date) == (
        "落实全面从严治党主体责任不到位",
        "phased",  # rectification.yaml: default_category
        "省局/办公室",
        "李明",
        "赵刚",
        date(2026, 9, 30),
    )
    assert [m["text"] for m in p1.measures] == ["制定责任清单", "开展专题约谈"]
    assert engine.issue("XS01-2", cast.office).due_date == date(2026, 8, 31)


def test_the_category_for_a_whole_list_is_chosen_at_import_and_an_unknown_one_is_named(
    engine: Engine, cast, team_round, tmp_path
):
    path = _team_csv(tmp_path / "清单.csv", [[*r[:-1], "2026-05-31"] for r in TEAM_ROWS])
    with pytest.raises(InvalidInput) as exc:
        engine.import_issues(team_round, path, actor=cast.office, category="urgent")
    assert "unknown category urgent" in exc.value.text.en and exc.value.details["field"] == "category"
    report = engine.import_issues(team_round, path, actor=cast.office, category="immediate")
    assert {engine.issue(c, cast.office).category for c in report.created} == {"immediate"}


def test_a_list_without_categories_in_a_workflow_without_a_default_says_how_to_give_one(engine: Engine, cast, tmp_path):
    from zhenggai import Actor

    auditors = Actor("qian", frozenset({"audit_office"}))
    engine.open_round("SJ1", title="审计", org="省局", feedback_date="2026-03-10", actor=cast.office)
    path = _team_csv(tmp_path / "清单.csv", TEAM_ROWS)
    with pytest.raises(ImportInvalid) as exc:
        engine.import_issues("SJ1", path, actor=auditors, workflow="audit")
    assert "--category" in exc.value.details["errors"][0]["reason"]["en"]
    assert engine.import_issues("SJ1", path, actor=auditors, workflow="audit", category="phased").created


def test_errors_name_the_row_as_excel_numbers_it_and_the_items_number(db_url: str, cast, tmp_path):
    from zhenggai.cli import main

    rows = [[str(i), f"问题{i}", "措施", "赵刚", "办公室", "李明", "2026-09-30"] for i in range(1, 8)]
    rows[6][6] = "明年"
    runner = CliRunner()

    def cli(*args: str):
        return runner.invoke(main, ["--db", db_url, *args], catch_exceptions=False)

    cli("init")
    cli("round", "open", "XS01", "--title", "t", "--org", "省局", "--feedback-date", "2026-03-10", "--as", "wang")
    # 序号 7 is the CSV's row 8 (the header is row 1), and the workbook's row 9 (a title above)
    for path, row in ((_team_csv(tmp_path / "清单.csv", rows), 8), (_team_xlsx(tmp_path / "清单.xlsx", rows), 9)):
        r = cli("issue", "import", str(path), "--round", "XS01")
        assert r.exit_code == 2
        assert f"第 {row} 行（序号 7）" in r.output and f"row {row} (no. 7)" in r.output
        r = cli("--json", "issue", "import", str(path), "--round", "XS01")
        err = json.loads(r.output)["error"]["errors"][0]
        assert (err["row"], err["no"], err["column"]) == (row, "7", "整改时限")


# --- a phased item, its measures and its progress ----------------------------------------


def _phased(engine: Engine, cast) -> str:
    """An item added by hand (its code is its own, not <round>-<序号>) with three phases,
    two of them done."""
    engine.open_round("2026-XS03", title="省委第三巡视组", org="省局", feedback_date="2026-03-10", actor=cast.office)
    engine.add_issue(
        "2026-XS03",
        "XS03-01",
        title="基层党组织建设薄弱",
        category="phased",
        unit="省局/财务处",
        owner="li",
        lead="zhao",
        due_date="2026-12-31",
        actor=cast.office,
    )
    add = engine.add_measure
    add(
        "XS03-01",
        "完成支部换届\n（含三个基层支部）",
        owner="li",
        due_date="2026-04-30",
        target="100%",
        actor=cast.owner,
    )
    add("XS03-01", "开展全员轮训", owner="qian", due_date="2026-06-30", target="覆盖率≥95%", actor=cast.owner)
    add("XS03-01", "建立长效考核机制", due_date="2026-11-30", actor=cast.owner)
    engine.complete_measure("XS03-01", 1, actor=cast.owner)
    engine.complete_measure("XS03-01", 2, actor=cast.owner)
    return "2026-XS03"


def _measures(engine: Engine, cast, code: str) -> list[tuple]:
    return [
        (m["text"], m["owner"], m["due_date"], m["target"], m["done"]) for m in engine.issue(code, cast.office).measures
    ]


def test_a_phased_item_shows_two_of_three_measures_done_and_when_the_next_is_due(db_url: str, engine, cast):
    from zhenggai.cli import main

    round_code = _phased(engine, cast)
    v = engine.issue("XS03-01", cast.office)
    assert (v.measures_done, v.measures_total, v.next_measure_due) == (2, 3, date(2026, 11, 30))
    listed = engine.issues(cast.office, round_code=round_code)[0]
    assert (listed.measures_done, listed.measures_total, listed.next_measure_due) == (2, 3, date(2026, 11, 30))
    assert v.to_dict()["next_measure_due"] == "2026-11-30"
    runner = CliRunner()
    env: dict[str, str] = {}
    show = runner.invoke(main, ["--db", db_url, "issue", "show", "XS03-01"], env=env, catch_exceptions=False)
    assert "措施完成 2/3，下一时限 2026-11-30" in show.output
    rows = runner.invoke(main, ["--db", db_url, "issue", "list"], env=env, catch_exceptions=False)
    assert "2/3" in rows.output and "2026-11-30" in rows.output
    st = engine.stats(round_code, actor=cast.office)
    assert st["measures"] == {"done": 2, "total": 3, "next_due": "2026-11-30"}
    text = runner.invoke(main, ["--db", db_url, "stats", "--round", round_code], env=env, catch_exceptions=False)
    assert "措施完成 2/3" in text.output


def test_a_phased_items_report_states_its_progress_and_the_period_end(engine, cast, tmp_path):
    from zhenggai.reporting.draft import draft_report

    round_code = _phased(engine, cast)
    for kind in ("committee", "secretary"):
        out = tmp_path / f"{kind}.md"
        draft_report(engine, round_code, out, actor=cast.office, kind=kind, fmt="md", charts=False)
        text = out.read_text(encoding="utf-8")
        assert "措施完成 2/3，下一项时限 2026年11月30日" in text, kind
        assert "集中整改期至2026年6月10日（含当日）" in text, kind


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_phased_item_round_trips_through_the_ledger_with_every_measure_as_it_was(engine, cast, tmp_path, fmt):
    round_code = _phased(engine, cast)
    out = tmp_path / f"台账.{fmt}"
    engine.export_ledger(round_code, out, actor=cast.office)
    engine.open_round("R4", title="复核", org="省局", feedback_date="2026-03-10", actor=cast.office)
    report = engine.import_issues("R4", out, actor=cast.office)
    assert report.created == ["R4-XS03-01"]
    assert _measures(engine, cast, "R4-XS03-01") == _measures(engine, cast, "XS03-01")
    assert _measures(engine, cast, "R4-XS03-01")[2] == ("建立长效考核机制", None, "2026-11-30", None, False)
    copy = engine.issue("R4-XS03-01", cast.office)
    assert (copy.measures_done, copy.measures_total) == (2, 3)
    assert engine.verify("R4-XS03-01", cast.office).ok  # the measures done on arrival are on its chain
    # and into its own round again: nothing added, the hand-made code recognised
    again = engine.import_issues(round_code, out, actor=cast.office)
    assert (again.created, again.existing) == ([], ["XS03-01"])
    assert [v.code for v in engine.issues(cast.office, round_code=round_code)] == ["XS03-01"]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_ledger_imported_into_its_own_round_adds_nothing_however_each_problem_was_created(
    engine: Engine, cast, team_round, tmp_path, fmt
):
    engine.import_issues(team_round, _team_csv(tmp_path / "清单.csv", TEAM_ROWS), actor=cast.office)
    for code in ("XS01-9", "HAND-7"):
        engine.add_issue(
            team_round,
            code,
            title=f"人工录入的问题 {code}",
            category="long_term",
            unit="省局/财务处",
            owner="li",
            lead="zhao",
            due_date="2026-12-31",
            actor=cast.office,
        )
    out = tmp_path / f"台账.{fmt}"
    assert engine.export_ledger(team_round, out, actor=cast.office) == 5
    again = engine.import_issues(team_round, out, actor=cast.office)
    assert again.created == [] and sorted(again.existing) == sorted(["XS01-1", "XS01-2", "XS01-3", "XS01-9", "HAND-7"])
    assert len(engine.issues(cast.office, round_code=team_round)) == 5


def test_the_ledgers_summary_sheet_states_the_concentrated_periods_end(engine: Engine, cast, team_round, tmp_path):
    engine.import_issues(team_round, _team_csv(tmp_path / "清单.csv", TEAM_ROWS), actor=cast.office)
    out = tmp_path / "台账.xlsx"
    engine.export_ledger(team_round, out, actor=cast.office)
    summary = openpyxl.load_workbook(out)["汇总"]
    cells = {r[0]: r[1] for r in summary.iter_rows(values_only=True) if r and r[0]}
    assert cells["集中整改期截止"] == "2026-06-10（含当日）" and cells["反馈日期"] == "2026-03-10"
