"""Several sources, one round: inspection feedback with audit findings and special checks,
where each problem says where it came from and whether it may be disclosed publicly."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from zhenggai import Engine, WorkflowInvalid, parse_definition
from zhenggai.engine.definition import builtin_path
from zhenggai.engine.errors import ImportInvalid, InvalidInput

HEADER = "序号,问题,问题类别,问题来源,整改措施,责任领导,责任部门,责任人,整改时限,是否公开\n"


def write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "list.csv"
    p.write_text(HEADER + body, encoding="utf-8-sig")
    return p


def test_a_problem_comes_from_its_rounds_source_unless_it_names_another(engine: Engine, cast, round_):
    engine.add_issue(
        round_,
        "P1",
        title="巡视问题",
        category="phased",
        unit="省局/财务处",
        owner="li",
        lead="zhao",
        actor=cast.office,
    )
    engine.add_issue(
        round_,
        "P2",
        title="审计发现问题",
        category="phased",
        unit="省局/财务处",
        owner="li",
        lead="zhao",
        source="audit",
        confidential=True,
        actor=cast.office,
    )
    p1, p2 = engine.issue("P1", cast.office), engine.issue("P2", cast.office)
    assert (p1.source, p1.source_label.zh, p1.confidential) == ("inspection", "巡视反馈问题", False)
    assert (p2.source, p2.source_label.zh, p2.confidential) == ("audit", "审计发现问题", True)
    assert engine.verify("P2", cast.office).ok
    with pytest.raises(InvalidInput) as exc:
        engine.add_issue(
            round_, "P3", title="t", category="phased", unit="省局/财务处", owner="li", lead="zhao", source="rumour",
            actor=cast.office,
        )  # fmt: skip
    assert exc.value.details["field"] == "source" and "audit" in exc.value.text.en
    assert [v.code for v in engine.issues(cast.office)] == ["P1", "P2"]


def test_changing_a_source_or_disclosure_behind_the_engine_is_detected(engine: Engine, cast, round_, db_url):
    engine.add_issue(
        round_, "P1", title="t", category="phased", unit="省局/财务处", owner="li", lead="zhao", source="audit",
        confidential=True, actor=cast.office,
    )  # fmt: skip
    assert engine.verify("P1", cast.office).ok
    with engine.db.engine.begin() as conn:
        conn.execute(text("UPDATE issues SET confidential = :f WHERE code = 'P1'"), {"f": False})
    report = engine.verify("P1", cast.office)
    assert not report.ok and any("confidential" in reason.en for _, reason in report.problems)


def test_an_imported_list_names_sources_and_exemptions(engine: Engine, cast, round_, tmp_path):
    report = engine.import_issues(
        round_,
        write(
            tmp_path,
            "1,账外资金,立行立改,审计发现问题,清理账外资金,zhao,财务处,li,2026-05-31,否\n"
            "2,干部选拔程序不规范,限期整改,选人用人专项检查,规范程序,zhao,人事处,li,2026-09-30,是\n"
            "3,意识形态阵地管理薄弱,限期整改,,加强管理,zhao,宣传处,li,2026-09-30,\n",
        ),
        actor=cast.office,
    )
    assert report.created == ["R1-1", "R1-2", "R1-3"]
    got = {v.code: (v.source, v.confidential) for v in engine.issues(cast.office)}
    assert got == {"R1-1": ("audit", True), "R1-2": ("cadre_selection", False), "R1-3": ("inspection", False)}


def test_an_unknown_source_or_a_disclosure_that_is_not_yes_or_no_refuses_the_import(
    engine: Engine, cast, round_, tmp_path
):
    with pytest.raises(ImportInvalid) as exc:
        engine.import_issues(
            round_,
            write(
                tmp_path,
                "1,问题一,立行立改,道听途说,措施,zhao,财务处,li,2026-05-31,是\n"
                "2,问题二,立行立改,审计发现问题,措施,zhao,财务处,li,2026-05-31,也许\n",
            ),
            actor=cast.office,
        )
    errors = {(e["row"], e["column"]): e["reason"]["en"] for e in exc.value.details["errors"]}
    assert errors[(2, "问题来源")].startswith("unknown source '道听途说'")
    assert errors[(3, "是否公开")] == "'也许' should be yes or no"
    assert engine.issues(cast.office) == []


def test_statistics_and_the_ledger_break_down_by_source(engine: Engine, cast, round_, tmp_path):
    engine.import_issues(
        round_,
        write(
            tmp_path,
            "1,账外资金,立行立改,审计发现问题,清理,zhao,财务处,li,2026-05-31,否\n"
            "2,程序不规范,限期整改,选人用人专项检查,规范,zhao,人事处,li,2026-09-30,是\n"
            "3,阵地薄弱,限期整改,巡视反馈问题,加强,zhao,宣传处,li,2026-09-30,是\n"
            "4,审计整改不到位,限期整改,审计发现问题,整改,zhao,财务处,li,2026-09-30,是\n",
        ),
        actor=cast.office,
    )
    st = engine.stats(round_, actor=cast.office, by="source")
    assert {k: g["total"] for k, g in st["by"]["groups"].items()} == {"audit": 2, "cadre_selection": 1, "inspection": 1}
    out = tmp_path / "audit.csv"
    assert engine.export_ledger(round_, out, actor=cast.office, sources=["audit"]) == 2
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert "问题来源" in lines[0] and all("审计发现问题" in line for line in lines[1:])
    # and the exported ledger brings sources and exemptions back on import
    engine.open_round("R2", title="复核", org="省局", feedback_date="2026-03-10", actor=cast.office)
    engine.import_issues("R2", out, actor=cast.office)
    assert {(v.code, v.source, v.confidential) for v in engine.issues(cast.office, round_code="R2")} == {
        ("R2-1", "audit", True),
        ("R2-4", "audit", False),
    }


def test_which_categories_must_finish_inside_the_period_is_read_from_the_workflow(engine: Engine, cast, tmp_path):
    strict = (
        builtin_path("rectification")
        .read_text(encoding="utf-8")
        .replace("name: rectification", "name: strict", 1)
        .replace("due_within_period: {categories: [immediate]}", "due_within_period: {categories: [immediate, phased]}")
    )
    admin = type(cast.office)("root", frozenset({"admin"}))
    engine.deploy_workflow(strict, actor=admin)
    engine.open_round("S1", title="t", org="省局", feedback_date="2026-03-10", workflow="strict", actor=cast.office)
    late_phased = write(tmp_path, "1,问题,限期整改,,措施,zhao,财务处,li,2026-09-30,是\n")
    with pytest.raises(ImportInvalid) as exc:
        engine.import_issues("S1", late_phased, actor=cast.office)
    assert "after the concentrated period ends" in exc.value.details["errors"][0]["reason"]["en"]
    engine.import_issues(
        round_code := "S1", write(tmp_path, "1,问题,限期整改,,措施,zhao,财务处,li,2026-05-31,是\n"), actor=cast.office
    )
    st = engine.stats(round_code, actor=cast.office)
    assert st["immediate_total"] == 1  # the phased item counts among those due inside the period here


def test_the_workflow_declares_its_sources_and_what_is_public():
    d = parse_definition(builtin_path("rectification").read_text(encoding="utf-8"))
    assert list(d.sources)[:2] == ["inspection", "audit"] and d.default_source == "inspection"
    assert "owner" not in d.public_fields and "title" in d.public_fields
    assert d.period_bound_categories == {"immediate"}
    base = builtin_path("rectification").read_text(encoding="utf-8")
    for bad, expect in [
        ("public: [number, title,", "unknown field number2"),
        ("disclosure:\n  public:", "unknown key publics"),
    ]:
        broken = {
            "unknown field number2": base.replace(bad, "public: [number2, title,"),
            "unknown key publics": base.replace(bad, "disclosure:\n  publics:"),
        }[expect]
        with pytest.raises(WorkflowInvalid) as exc:
            parse_definition(broken, "w.yaml")
        assert any(expect in p.render("en") for p in exc.value.problems), exc.value.problems
    # the bare form, as workflows deployed before the parameter was required wrote it
    bare = parse_definition(base.replace("closable_in_period: {anytime: [immediate]}", "closable_in_period"))
    close = next(g for g in bare.transition("close", "reviewed").guards if g.name == "closable_in_period")
    assert close.params.anytime == {"immediate"}


def test_a_database_from_before_sources_gets_them_by_migration(db_url: str):
    from sqlalchemy import inspect

    from zhenggai.storage.database import Database

    db = Database(db_url)
    db.upgrade("0002")
    assert "source" not in {c["name"] for c in inspect(db.engine).get_columns("issues")}
    db.upgrade()
    assert {"source", "confidential"} <= {c["name"] for c in inspect(db.engine).get_columns("issues")}
    db.dispose()


def test_excel_false_or_0_and_a_repeated_row_saying_no_keep_a_problem_out_of_public_view(
    engine: Engine, cast, round_, tmp_path
):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["序号", "问题", "问题类别", "整改措施", "责任领导", "责任部门", "责任人", "整改时限", "是否公开"])
    ws.append([1, "问题一", "限期整改", "措施", "zhao", "财务处", "li", "2026-09-30", False])
    ws.append([2, "问题二", "限期整改", "措施", "zhao", "财务处", "li", "2026-09-30", 0])
    ws.append([3, "问题三", "限期整改", "措施甲", "zhao", "财务处", "li", "2026-09-30", True])
    ws.append([3, None, None, "措施乙", None, None, None, None, "否"])  # the same problem, second measure
    ws.append([4, "问题四", "限期整改", "措施", "zhao", "财务处", "li", "2026-09-30", 1])
    path = tmp_path / "list.xlsx"
    wb.save(path)
    engine.import_issues(round_, path, actor=cast.office)
    got = {v.code: v.confidential for v in engine.issues(cast.office)}
    assert got == {"R1-1": True, "R1-2": True, "R1-3": True, "R1-4": False}
