"""An import meets other bodies' codes and hostile files: a problem is never dropped because
someone else holds its code, the file is read with no transaction open, and an oversized
file is refused early, within bounded memory."""

from __future__ import annotations

import csv
import io
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest

from zhenggai import Actor, Engine
from zhenggai.engine.errors import ImportInvalid, NotFound

HEADER = ["序号", "问题", "问题类别", "整改措施", "责任领导", "责任部门", "责任人", "整改时限"]
BUREAU_A = Actor("a.office", frozenset({"inspection_office"}), ("省局A",))
BUREAU_B = Actor("b.client", frozenset({"inspection_office"}), ("省局B",))


def _row(no: str, title: str | None = None, unit: str = "省局A/办公室") -> list[str]:
    return [no, title or f"问题{no}", "限期整改", "措施", "赵刚", unit, "李明", "2026-09-30"]


def _csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def _refused(engine: Engine, round_code: str, path: Path, actor: Actor) -> list[dict]:
    with pytest.raises(ImportInvalid) as exc:
        engine.import_issues(round_code, path, actor=actor)
    return exc.value.details["errors"]


@pytest.fixture
def two_bodies(engine: Engine):
    engine.open_round("R2", title="对省局A的巡视", org="省局A", feedback_date="2026-03-10", actor=BUREAU_A)
    engine.open_round("RB", title="对省局B的巡视", org="省局B", feedback_date="2026-03-10", actor=BUREAU_B)
    return engine


# --- 12.2: codes held by others ------------------------------------------------------------


def test_a_code_squatted_by_another_bodys_client_refuses_the_import_with_its_row(two_bodies: Engine, tmp_path):
    engine = two_bodies
    engine.add_issue(
        "RB", "R2-07", title="问题07", category="phased", unit="省局B/办公室", owner="x", lead="y",
        due_date="2026-09-30", actor=BUREAU_B,
    )  # fmt: skip
    errors = _refused(engine, "R2", _csv(tmp_path / "a.csv", [_row("01"), _row("07")]), BUREAU_A)
    assert [(e["row"], e["no"], e["column"]) for e in errors] == [(3, "07", "序号")]
    assert "taken by a problem of another round" in errors[0]["reason"]["en"]
    assert engine.issues(BUREAU_A, round_code="R2") == []  # all or nothing: 01 is not written either


def test_a_code_of_this_round_holding_another_problem_refuses_the_row_and_the_same_problem_is_present(
    two_bodies: Engine, tmp_path
):
    engine = two_bodies
    engine.add_issue(
        "R2", "R2-01", title="手工录入的另一个问题", category="phased", unit="省局A/办公室", owner="x", lead="y",
        due_date="2026-09-30", actor=BUREAU_A,
    )  # fmt: skip
    errors = _refused(engine, "R2", _csv(tmp_path / "a.csv", [_row("01"), _row("02")]), BUREAU_A)
    assert [(e["row"], e["no"]) for e in errors] == [(2, "01")]
    assert "another problem of this round" in errors[0]["reason"]["en"]
    same = _csv(tmp_path / "b.csv", [_row("01", "手工录入的另一个问题"), _row("02")])
    report = engine.import_issues("R2", same, actor=BUREAU_A)
    assert (report.created, report.existing) == (["R2-02"], ["R2-01"])


def test_a_round_code_squatted_by_another_body_is_no_round_to_import_into(two_bodies: Engine, tmp_path):
    engine = two_bodies
    engine.open_round("R9", title="抢注的轮次", org="省局B", feedback_date="2026-03-10", actor=BUREAU_B)
    with pytest.raises(NotFound):
        engine.import_issues("R9", _csv(tmp_path / "a.csv", [_row("1")]), actor=BUREAU_A)
    assert engine.issues(BUREAU_B, round_code="R9") == []


# --- 12.3: no transaction open while the file is read ---------------------------------------


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_writer_is_not_kept_waiting_while_a_large_list_is_parsed(
    db_url: str, engine: Engine, cast, round_, clock, tmp_path, monkeypatch, dry_run
):
    from zhenggai.engine import importing

    rows = [[str(i), f"问题{i}", "限期整改", "措施", "赵刚", "财务处", "李明", "2026-09-30"] for i in range(1, 3001)]
    path = _csv(tmp_path / "big.csv", rows)
    # another process's engine, which gives up after one second of waiting for the database
    other = Engine(f"{db_url}?timeout=1" if db_url.startswith("sqlite") else db_url, clock=clock)
    written: list[str] = []
    parse = importing.drafts_from_rows

    def parse_while_someone_writes(*args, **kwargs):
        code = f"W{len(written)}"
        other.add_issue(
            round_, code, title="并发录入", category="phased", unit="省局/财务处", owner="li", lead="zhao",
            due_date="2026-09-30", actor=cast.office,
        )  # fmt: skip
        written.append(code)
        return parse(*args, **kwargs)

    monkeypatch.setattr(importing, "drafts_from_rows", parse_while_someone_writes)
    try:
        report = engine.import_issues(round_, path, actor=cast.office, dry_run=dry_run)
    finally:
        other.db.dispose()
    assert written == ["W0"] and len(report.created) == 3000
    assert engine.issue("W0", cast.office).title == "并发录入"
    assert len(engine.issues(cast.office, round_code=round_, limit=5000)) == (1 if dry_run else 3001)


# --- 12.5 and 21: bounded in memory, refused early -----------------------------------------


def _workbook_with(path: Path, parts: dict[str, bytes]) -> Path:
    """A real workbook with some of its parts replaced."""
    wb = openpyxl.Workbook()
    wb.active.append(HEADER)
    wb.active.append(_row("1"))
    plain = io.BytesIO()
    wb.save(plain)
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        names = set(src.namelist())
        for name in names | set(parts):
            out.writestr(name, parts[name] if name in parts else src.read(name))
    return path


def _peak_mb(fn) -> float:
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak / 2**20


SST = b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
SHEET = (
    b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
    b'spreadsheetml/2006/main"><sheetData>'
)
BOMBS = {
    "1.3 million shared strings": (
        {"xl/sharedStrings.xml": SST + b"<si><t>a</t></si>" * 1_300_000 + b"</sst>"},
        "shared strings",
    ),
    "a shared string longer than a cell": (
        {"xl/sharedStrings.xml": SST + b"<si><t>" + b"a" * 400_000 + b"</t></si></sst>"},
        "longer than 32767 characters",
    ),
    "a row of 100,000 cells": (
        {
            "xl/worksheets/sheet1.xml": SHEET
            + b"<row>"
            + b'<c t="n"><v>1</v></c>' * 100_000
            + b"</row></sheetData></worksheet>"
        },
        "more than 16384 cells",
    ),
    "a row of 100,000 cells under a namespace prefix": (
        {
            "xl/worksheets/sheet1.xml": b'<?xml version="1.0" encoding="UTF-8"?><x:worksheet xmlns:x="http://schemas.'
            b'openxmlformats.org/spreadsheetml/2006/main"><x:sheetData><x:row>'
            + b'<x:c t="n"><x:v>1</x:v></x:c>' * 100_000
            + b"</x:row></x:sheetData></x:worksheet>"
        },
        "more than 16384 cells",
    ),
}


@pytest.mark.parametrize("name", list(BOMBS))
def test_a_crafted_workbook_is_refused_from_a_scan_before_it_is_loaded(engine: Engine, cast, round_, tmp_path, name):
    parts, why = BOMBS[name]
    bomb = _workbook_with(tmp_path / "bomb.xlsx", parts)
    assert bomb.stat().st_size < 1_000_000  # well under a megabyte on disk
    errors: list[dict] = []
    peak = _peak_mb(lambda: errors.extend(_refused(engine, round_, bomb, cast.office)))
    assert why in errors[0]["reason"]["en"]
    assert peak < 40, f"{peak:.0f} MB to refuse it"  # loaded, the 1.3 million strings alone take 100 MB
    assert engine.issues(cast.office) == []


def test_a_huge_csv_is_refused_after_reading_no_more_than_the_bound(
    engine: Engine, cast, round_, tmp_path, monkeypatch
):
    from zhenggai.engine import sheets

    monkeypatch.setattr(sheets, "MAX_ROWS", 1000)  # the same bound, reached sooner
    path = _csv(tmp_path / "huge.csv", [_row(str(i), unit="财务处") for i in range(300_000)])
    errors: list[dict] = []
    peak = _peak_mb(lambda: errors.extend(_refused(engine, round_, path, cast.office)))
    assert "more than 1000 rows" in errors[0]["reason"]["en"]
    assert peak < 20, f"{peak:.0f} MB to refuse it"  # read whole, its 300,000 rows take some 300 MB


def test_a_csv_with_5000_columns_or_a_repeated_header_is_refused_with_a_clear_error(
    engine: Engine, cast, round_, tmp_path
):
    wide = _csv(tmp_path / "wide.csv", [_row("1") + ["x"] * 4992], HEADER + [f"列{i}" for i in range(4992)])
    errors = _refused(engine, round_, wide, cast.office)
    assert errors[0]["row"] == 1 and "more than 200 columns" in errors[0]["reason"]["en"]
    twice = _csv(tmp_path / "twice.csv", [[*_row("1"), "另一个问题"]], [*HEADER, "问题描述"])
    errors = _refused(engine, round_, twice, cast.office)
    assert errors[0]["row"] == 1 and errors[0]["column"] == "问题描述"
    assert "a repeated header: column 2 (问题) and column 9 (问题描述) both name title" in errors[0]["reason"]["en"]
    same = _csv(tmp_path / "same.csv", [[*_row("1"), "赵刚"]], [*HEADER, "责任领导"])
    assert "both name lead" in _refused(engine, round_, same, cast.office)[0]["reason"]["en"]
    assert engine.issues(cast.office) == []


def test_a_repeated_number_naming_another_problem_refuses_the_import_and_keeps_both_rows_named(
    two_bodies: Engine, tmp_path
):
    rows = [_row("1", "问题甲"), _row("1", "完全不同的问题乙"), _row("2")]
    errors = _refused(two_bodies, "R2", _csv(tmp_path / "l.csv", rows), BUREAU_A)
    assert any("问题甲" in e["reason"]["en"] and "another problem" in e["reason"]["en"] for e in errors), errors
    assert two_bodies.issues(BUREAU_A, round_code="R2") == []  # nothing of the list is kept
    # a repeated number with the same problem (or none named) is its further measures, as before
    two_bodies.import_issues("R2", _csv(tmp_path / "m.csv", [_row("1", "问题甲"), _row("1", "问题甲"), _row("2")]),
                             actor=BUREAU_A)  # fmt: skip
    assert len(two_bodies.issue("R2-1", BUREAU_A).measures) == 2


def test_merged_ranges_to_the_last_column_cost_no_more_than_the_table(engine: Engine, cast, round_, tmp_path):
    """Ten ranges reaching column XFD over a thousand rows, in a few KB: read in moments, not
    minutes; a sheet of more merged ranges than any list has is refused."""
    import time

    from zhenggai.engine import sheets

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    for i in range(1, 1001):
        ws.append(_row(str(i), unit="省局/办公室"))
    for _ in range(10):
        ws.merged_cells.add("I2:XFD1001")
    path = tmp_path / "merged.xlsx"
    wb.save(path)
    started = time.process_time()
    rows, _ = sheets.read_table(path)
    assert time.process_time() - started < 5 and len(rows) == 1001 and max(len(r) for r in rows) <= sheets.MAX_COLUMNS
    refs = "".join(f'<mergeCell ref="I{n}:J{n}"/>' for n in range(2, sheets.MAX_MERGED + 3))
    wb2 = openpyxl.Workbook()
    wb2.active.append(HEADER)
    many = tmp_path / "many.xlsx"
    wb2.save(many)
    with zipfile.ZipFile(many) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    sheet = sheet.replace("</sheetData>", f"</sheetData><mergeCells count=\"{sheets.MAX_MERGED + 1}\">{refs}</mergeCells>")
    crafted = _workbook_with(tmp_path / "crafted.xlsx", {"xl/worksheets/sheet1.xml": sheet.encode()})
    with pytest.raises(ImportInvalid) as exc:
        engine.import_issues(round_, crafted, actor=cast.office)
    assert "merged ranges" in str(exc.value.details["errors"])
