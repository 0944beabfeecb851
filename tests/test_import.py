"""A unit imports the problem list it was handed: as offices write them, all or nothing."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from zhenggai import Engine
from zhenggai.engine.errors import ImportInvalid

DATA = Path(__file__).parent / "data"


@pytest.fixture
def listed(engine: Engine, cast, clock):
    engine.open_round("R3", title="省委第三巡视组反馈", org="省税务局", feedback_date="2026-03-10", actor=cast.office)
    return "R3"


@pytest.mark.parametrize("name", ["problems-gbk.csv", "problems-utf8-bom.csv", "problems-merged-header.xlsx"])
def test_lists_as_offices_save_them_import_correctly(engine: Engine, cast, listed, name):
    report = engine.import_issues(listed, DATA / name, actor=cast.office)
    assert report.created == ["R3-1", "R3-2", "R3-3", "R3-4"] and report.existing == []
    p1 = engine.issue("R3-1", cast.office)
    assert (p1.title, p1.category, p1.unit, p1.owner, p1.lead, p1.due_date) == (
        "奖金、补贴未按规定扣缴个人所得税",
        "immediate",
        "省税务局/财务处",
        "李明",
        "赵刚",
        date(2026, 4, 30),
    )
    assert [m["text"] for m in p1.measures] == ["全面清查2023年以来发放的奖金补贴", "补扣补缴个人所得税"]
    assert engine.issue("R3-2", cast.office).due_date == date(2026, 9, 30)  # 2026年9月30日
    p4 = engine.issue("R3-4", cast.office)
    assert p4.category == "long_term" and [m["target"] for m in p4.measures] == ["网上办税率≥95%", "满意度≥90%"]
    assert all(engine.verify(code, cast.office).ok for code in report.created)


def test_importing_the_same_file_again_adds_nothing(engine: Engine, cast, listed):
    engine.import_issues(listed, DATA / "problems-gbk.csv", actor=cast.office)
    again = engine.import_issues(listed, DATA / "problems-utf8-bom.csv", actor=cast.office)
    assert again.created == [] and again.existing == ["R3-1", "R3-2", "R3-3", "R3-4"]
    assert len(engine.issues(cast.office)) == 4


def test_a_dry_run_reports_and_writes_nothing(engine: Engine, cast, listed):
    report = engine.import_issues(listed, DATA / "problems-merged-header.xlsx", actor=cast.office, dry_run=True)
    assert report.dry_run and len(report.created) == 4
    assert engine.issues(cast.office) == []


def test_a_list_with_ten_kinds_of_bad_rows_is_refused_whole_with_every_error(engine: Engine, cast, listed):
    with pytest.raises(ImportInvalid) as exc:
        engine.import_issues(listed, DATA / "problems-bad.csv", actor=cast.office)
    errors = {(e["row"], e["column"]): e["reason"]["en"] for e in exc.value.details["errors"]}
    assert errors[(2, "问题")] == "must not be empty"
    assert errors[(3, "问题类别")].startswith("unknown category '紧急整改'")
    assert errors[(4, "责任人")] == "must not be empty"
    assert errors[(5, "整改时限")] == "'明年六月' is not a date"
    assert "after the concentrated period ends" in errors[(6, "整改时限")]
    assert "before the feedback date" in errors[(7, "整改时限")]
    assert errors[(8, "序号")] == "the number is empty"
    assert errors[(9, "问题")] == "contains control characters"
    assert errors[(10, "问题")].startswith("too long")
    assert errors[(11, "责任领导")] == "must not be empty"
    assert errors[(12, "整改时限")] == "'2026-02-30' is not a date"
    assert engine.issues(cast.office) == []  # nothing written


def test_a_wrong_encoding_or_missing_columns_are_named(engine: Engine, cast, listed, tmp_path):
    with pytest.raises(ImportInvalid) as exc:
        engine.import_issues(listed, DATA / "problems-gbk.csv", actor=cast.office, encoding="utf-8")
    assert "encoding" in exc.value.details["errors"][0]["reason"]["en"]
    odd = tmp_path / "odd.csv"
    odd.write_text("编号,问题内容\n1,x\n", encoding="utf-8")
    with pytest.raises(ImportInvalid) as exc:
        engine.import_issues(listed, odd, actor=cast.office)
    assert "required columns missing" in exc.value.details["errors"][0]["reason"]["en"]


def test_other_header_names_are_mapped(engine: Engine, cast, listed, tmp_path):
    own = tmp_path / "own.csv"
    own.write_text(
        "序号,问题内容,类型,整改措施,责任领导,责任部门,责任人,截止日期\n"
        "7,问题七,限期整改,措施,赵刚,财务处,李明,2026-09-30\n",
        encoding="utf-8",
    )
    report = engine.import_issues(listed, own, actor=cast.office, mapping={"问题内容": "title", "截止日期": "due_date"})
    assert report.created == ["R3-7"]


def test_import_from_the_command_line(db_url: str, cast):
    from zhenggai.cli import main

    runner = CliRunner()

    def cli(*args: str):
        return runner.invoke(main, ["--db", db_url, "--lang", "en", *args], catch_exceptions=False)

    cli("init")
    cli("round", "open", "R3", "--title", "t", "--org", "省税务局", "--feedback-date", "2026-03-10", "--as", "wang")
    r = cli("issue", "import", str(DATA / "problems-bad.csv"), "--round", "R3")
    assert r.exit_code == 2 and "row 5 (no. 4) [整改时限]" in r.output and "nothing was written" in r.output
    r = cli("--json", "issue", "import", str(DATA / "problems-gbk.csv"), "--round", "R3")
    assert r.exit_code == 0 and json.loads(r.output)["created"] == ["R3-1", "R3-2", "R3-3", "R3-4"]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_an_exported_ledger_imports_again_unchanged(engine: Engine, cast, listed, tmp_path, fmt):
    engine.import_issues(listed, DATA / "problems-merged-header.xlsx", actor=cast.office)
    engine.add_issue(
        listed,
        "R3-5",
        title="=HYPERLINK(1)",
        category="phased",
        unit="省税务局/财务处",
        owner="李明",
        lead="赵刚",
        due_date="2026-09-30",
        actor=cast.office,
    )
    out = tmp_path / f"ledger.{fmt}"
    assert engine.export_ledger(listed, out, actor=cast.office) == 5
    engine.open_round("R4", title="复核", org="省税务局", feedback_date="2026-03-10", actor=cast.office)
    # the same list into another round: every issue comes back the same
    text = out.read_bytes()
    assert fmt == "xlsx" or text.startswith(b"\xef\xbb\xbf")  # a BOM, for Excel
    report = engine.import_issues("R4", out, actor=cast.office)
    assert len(report.created) == 5
    for code in ["1", "2", "3", "4", "5"]:
        a, b = engine.issue(f"R3-{code}", cast.office), engine.issue(f"R4-{code}", cast.office)
        assert (a.title, a.category, a.unit, a.owner, a.lead, a.due_date) == (
            b.title,
            b.category,
            b.unit,
            b.owner,
            b.lead,
            b.due_date,
        )
        assert [m["text"] for m in a.measures] == [m["text"] for m in b.measures]
    assert engine.issue("R4-5", cast.office).title.startswith("=HYPERLINK")  # kept as text, not run


def test_the_xlsx_ledger_has_coloured_lights_a_frozen_header_and_a_summary(engine: Engine, cast, listed, tmp_path):
    import openpyxl

    engine.import_issues(listed, DATA / "problems-gbk.csv", actor=cast.office)
    out = tmp_path / "ledger.xlsx"
    engine.export_ledger(listed, out, actor=cast.office)
    wb = openpyxl.load_workbook(out)
    ws = wb["整改台账"]
    assert ws.freeze_panes == "A2" and ws.cell(1, 1).value == "序号"
    light = [c.value for c in ws[1]].index("红黄绿灯") + 1
    assert ws.cell(2, light).value == "绿灯" and ws.cell(2, light).fill.start_color.rgb.endswith("C6EFCE")
    assert wb["汇总"]["A1"].value.endswith("整改台账")


def test_a_number_merged_down_the_rows_of_one_problems_measures_imports_as_one_problem(
    engine: Engine, cast, listed, tmp_path
):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["序号", "问题", "问题类别", "整改措施", "责任领导", "责任部门", "责任人", "整改时限"])
    ws.append([1, "公务接待超标准", "限期整改", "清查接待记录", "赵刚", "办公室", "李明", "2026-09-30"])
    ws.append([None, None, None, "建立接待审批台账", None, None, None, None])
    for col in "ABCEFGH":
        ws.merge_cells(f"{col}2:{col}3")
    path = tmp_path / "merged-rows.xlsx"
    wb.save(path)
    report = engine.import_issues(listed, path, actor=cast.office)
    assert report.created == ["R3-1"]
    assert [m["text"] for m in engine.issue("R3-1", cast.office).measures] == ["清查接待记录", "建立接待审批台账"]


def test_a_workbook_with_a_stale_dimension_still_imports_every_row(engine: Engine, cast, listed, tmp_path):
    import re
    import zipfile

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["序号", "问题", "问题类别", "整改措施", "责任领导", "责任部门", "责任人", "整改时限"])
    for i in range(1, 6):
        ws.append([i, f"问题{i}", "限期整改", "措施", "赵刚", "办公室", "李明", "2026-09-30"])
    good = tmp_path / "good.xlsx"
    wb.save(good)
    stale = tmp_path / "stale.xlsx"  # as some tools write it: the sheet claims three rows
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(stale, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:H3"/>', data)
            dst.writestr(item, data)
    report = engine.import_issues(listed, stale, actor=cast.office)
    assert report.created == [f"R3-{i}" for i in range(1, 6)]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_that_fails_half_way_leaves_yesterdays_ledger_as_it_was(
    engine: Engine, cast, listed, tmp_path, fmt, monkeypatch
):
    from zhenggai.engine import ledger
    from zhenggai.engine.errors import InvalidInput

    target = tmp_path / f"台账.{fmt}"
    engine.export_ledger(listed, target, actor=cast.office)
    yesterday = target.read_bytes()
    writer = getattr(ledger, f"write_{fmt}")

    def disk_full(rows, path, **kw):
        path.write_bytes(b"half a ledger")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ledger, f"write_{fmt}", disk_full)
    with pytest.raises(InvalidInput):
        engine.export_ledger(listed, target, actor=cast.office)
    assert target.read_bytes() == yesterday
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no partial file left
    monkeypatch.setattr(ledger, f"write_{fmt}", writer)
