"""Reading problem lists as offices write them: CSV and XLSX with Chinese headers.

A list arrives as a spreadsheet with headers such as 序号, 问题, 问题类别, 整改措施, 责任领导,
责任部门, 责任人, 整改时限, 量化目标, 备注 (or their English names, or any names mapped with
``--map``); CSV in UTF-8, UTF-8 with BOM, or GBK / GB18030 as Excel on a Chinese Windows saves
it; dates as ``2026-06-30``, ``2026/6/30``, ``2026年6月30日`` or Excel date cells; several
measures in one cell (one per line) or on repeated rows with the same 序号.

This module only reads and checks: it turns a file into :class:`Draft` issues or a list of
:class:`RowError` (row, column, reason) — all of them, not the first.  The Engine writes the
drafts in one transaction, or nothing.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..i18n import Text
from .actors import has_dot_segment, norm_path

#: canonical field -> header names offices use (Chinese first), compared without spaces
HEADERS: dict[str, tuple[str, ...]] = {
    "no": ("序号", "编号", "问题编号", "no", "number", "code"),
    "title": ("问题", "问题描述", "存在问题", "问题表现", "title", "problem", "issue"),
    "category": ("问题类别", "类别", "类型", "整改类别", "整改类型", "category", "type"),
    "measures": ("整改措施", "措施", "measures", "measure"),
    "lead": ("责任领导", "分管领导", "lead", "leader"),
    "unit": ("责任部门", "责任单位", "牵头部门", "unit", "department"),
    "owner": ("责任人", "具体责任人", "owner", "responsible"),
    "due_date": ("整改时限", "完成时限", "时限", "due", "deadline", "due_date"),
    "target": ("量化目标", "量化标准", "目标", "target"),
    "severity": ("严重程度", "severity"),
    "note": ("备注", "说明", "note", "remarks"),
    "source": ("问题来源", "来源", "source"),
    "disclosure": ("是否公开", "公开", "disclosure", "public"),
}
#: what an office writes in the 是否公开 column for a problem that must not be disclosed
NOT_PUBLIC = frozenset({"否", "不公开", "不予公开", "涉密", "no", "n", "false", "0", "confidential", "exempt"})
PUBLIC = frozenset({"", "是", "公开", "yes", "y", "true", "1", "public"})
REQUIRED = ("no", "title", "category", "unit", "owner", "lead", "due_date")
MAX_CELL = 20_000
MAX_ROWS = 200_000
HEADER_ROWS = 10  # a title and a header over two rows fit well inside
MAX_COLUMNS = 200  # a problem list has a dozen
MAX_XLSX_UNPACKED = 1 << 30  # 1 GB unpacked: a 200,000-row list is a fraction of it
#: the longest text each field may hold, as the engine accepts it when entered by hand (and
#: as wide as its storage column): a longer cell is refused, never cut short
MAX_FIELD = {"title": 500, "unit": 500, "owner": 128, "lead": 128, "target": 500}
#: control characters other than tab and newlines (C0, DEL, C1), and the bidi overrides and
#: isolates that make a title read otherwise than it is stored (U+202A-U+202E, U+2066-U+2069)
CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
DATE_RE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")


@dataclass(frozen=True)
class RowError:
    row: int  # as a spreadsheet shows it (the header is row 1 unless it spans more)
    column: str
    reason: Text

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "reason": self.reason.to_dict()}

    def render(self, lang: str | None = None) -> str:
        return (
            f"第 {self.row} 行 [{self.column}] {self.reason.render(lang)}"
            if (lang or "zh") == "zh"
            else f"row {self.row} [{self.column}] {self.reason.render(lang)}"
        )


@dataclass
class DraftMeasure:
    text: str
    target: str | None


@dataclass
class Draft:
    no: str
    row: int
    title: str
    category: str
    unit: str
    owner: str
    lead: str
    due_date: date
    severity: str
    description: str
    measures: list[DraftMeasure] = field(default_factory=list)
    source: str = ""  # empty: the round's own source
    confidential: bool = False


class ImportRefused(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} errors")
        self.errors = errors


# --- reading files ----------------------------------------------------------------------


def read_table(path: Path, *, encoding: str | None = None) -> tuple[list[list[Any]], int]:
    """The file's rows as lists of cell values, and the row number of the first data row."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        try:
            return _read_xlsx(path)
        except (ImportRefused, OSError):
            raise
        except Exception as exc:  # a damaged workbook fails in any of zipfile, XML or openpyxl
            raise ImportRefused(
                [
                    RowError(
                        0,
                        "-",
                        Text(
                            f"无法读取 XLSX 文件（文件已损坏或不是 Excel 工作簿）：{type(exc).__name__}",
                            f"cannot read the XLSX file (damaged, or not an Excel workbook): {type(exc).__name__}",
                        ),
                    )
                ]
            ) from None
    if suffix in (".csv", ".txt"):
        return _read_csv(path.read_bytes(), encoding), 2
    raise ImportRefused(
        [
            RowError(
                0,
                "-",
                Text(
                    f"不支持的文件类型 {suffix}（支持 .csv、.xlsx）",
                    f"unsupported file type {suffix} (use .csv or .xlsx)",
                ),
            )
        ]
    )


def _read_csv(raw: bytes, encoding: str | None) -> list[list[Any]]:
    tried = [encoding] if encoding else ["utf-8-sig", "gb18030"]
    for enc in tried:
        try:
            text = raw.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
        reader = csv.reader(io.StringIO(text))
        try:
            return list(reader)
        except csv.Error as exc:  # a field beyond the csv module's limit, a stray quote
            raise ImportRefused(
                [
                    RowError(
                        reader.line_num,
                        "-",
                        Text(f"无法读取 CSV：{exc}（内容过长或引号不配对）", f"cannot read the CSV: {exc}"),
                    )
                ]
            ) from None
    raise ImportRefused(
        [
            RowError(
                0,
                "-",
                Text(
                    f"无法识别文件编码（已尝试 {', '.join(tried)}），请用 --encoding 指定",
                    f"cannot tell the file's encoding (tried {', '.join(tried)}); name it with --encoding",
                ),
            )
        ]
    )


def _read_xlsx(path: Path) -> tuple[list[list[Any]], int]:
    """The first sheet; merged cells (a title row above, a header spanning two rows, a 序号
    merged down the rows of one problem's measures) are filled from their top-left cell.

    Read in openpyxl's streaming mode: a workbook loaded whole costs some 6 KB per cell
    (650 MB for a 100,000-row list).  Streaming mode does not report merged ranges, so they
    are read from the sheet's own XML, which lists them after the rows."""
    import zipfile

    import openpyxl
    from openpyxl.utils.cell import range_boundaries

    with zipfile.ZipFile(path) as z:  # a small file may unpack to gigabytes (a zip bomb)
        unpacked = sum(i.file_size for i in z.infolist())
    if unpacked > MAX_XLSX_UNPACKED:
        raise ImportRefused(
            [
                RowError(
                    0,
                    "-",
                    Text(
                        f"工作簿解压后 {unpacked >> 20} MB，超过上限 {MAX_XLSX_UNPACKED >> 20} MB",
                        f"the workbook unpacks to {unpacked >> 20} MB, over the {MAX_XLSX_UNPACKED >> 20} MB limit",
                    ),
                )
            ]
        )
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        ws.reset_dimensions()  # streaming mode trusts the file's <dimension>, which some tools write stale
        rows = []
        for r in ws.iter_rows(values_only=True):
            if len(rows) > MAX_ROWS + HEADER_ROWS:  # reading on would only cost memory
                raise ImportRefused([RowError(0, "-", Text(f"超过 {MAX_ROWS} 行", f"more than {MAX_ROWS} rows"))])
            rows.append(_clip_row(list(r), len(rows) + 1))
        width = max((len(r) for r in rows), default=0)
        for r in rows:  # without a trusted dimension, rows come as long as their last cell
            r.extend([None] * (width - len(r)))
        sheet_xml = ws._worksheet_path  # where openpyxl found the first sheet in the archive
    finally:
        wb.close()
    merged = [range_boundaries(ref) for ref in _merged_refs(path, sheet_xml)]
    for min_col, min_row, max_col, max_row in merged:
        if min_row - 1 >= len(rows) or min_col - 1 >= len(rows[min_row - 1]):
            continue
        value = rows[min_row - 1][min_col - 1]
        for r in range(min_row, min(max_row, len(rows)) + 1):
            row = rows[r - 1]
            for c in range(min_col, max_col + 1):
                if c - 1 < len(row):
                    row[c - 1] = value
    return rows, 0  # the data row is found with the header below


def _clip_row(row: list[Any], number: int) -> list[Any]:
    """A row cut to ``MAX_COLUMNS``: one stray cell in column XFD must not make every row
    16,384 cells long.  Anything written beyond the limit is refused, never dropped."""
    if len(row) <= MAX_COLUMNS:
        return row
    if any(v not in (None, "") for v in row[MAX_COLUMNS:]):
        raise ImportRefused(
            [
                RowError(
                    number,
                    "-",
                    Text(f"第 {number} 行超过 {MAX_COLUMNS} 列", f"row {number} has more than {MAX_COLUMNS} columns"),
                )
            ]
        )
    return row[:MAX_COLUMNS]


MERGE_REF = re.compile(rb'<(?:\w+:)?mergeCell\s[^>]*?ref="([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)"')


def _merged_refs(path: Path, member: str) -> list[str]:
    """The ``ref`` of every ``<mergeCell>`` in a sheet's XML, found by a scan of the raw
    bytes in chunks (a second XML parse of a 100,000-row sheet would cost seconds)."""
    import zipfile

    refs: list[str] = []
    tail = b""
    with zipfile.ZipFile(path) as z, z.open(member) as f:
        while chunk := f.read(1 << 20):
            data = tail + chunk
            last = 0
            for m in MERGE_REF.finditer(data):
                refs.append(m.group(1).decode("ascii"))
                last = m.end()
            tail = data[max(last, len(data) - 256) :]  # a tag cut by the chunk boundary
    return refs


# --- headers ----------------------------------------------------------------------------


def _norm(h: Any) -> str:
    return re.sub(r"\s+", "", str(h or "")).lower()


def _exempt(raw: Any, err: Any) -> bool:
    """Whether a 是否公开 cell marks the problem exempt from disclosure (不予公开).  Excel's
    FALSE and 0 say "not public" as plainly as 否 does."""
    if raw is None:
        return False
    if isinstance(raw, bool):
        return not raw
    if isinstance(raw, (int, float)):
        raw = str(int(raw)) if float(raw).is_integer() else str(raw)
    value = _norm(raw)
    if value in NOT_PUBLIC:
        return True
    if value not in PUBLIC:
        err(f"{raw!r} 应为“是”或“否”", f"{raw!r} should be yes or no")
    return False


def _by_label(vocabulary: Mapping[str, Text]) -> dict[str, str]:
    """A workflow name from how a spreadsheet writes it: its Chinese or English label, or itself."""
    out = {_norm(t.zh): name for name, t in vocabulary.items()}
    out.update({_norm(t.en): name for name, t in vocabulary.items()})
    out.update({_norm(name): name for name in vocabulary})
    return out


def find_header(rows: list[list[Any]], mapping: Mapping[str, str] | None = None) -> tuple[int, dict[str, int]]:
    """The header row (among the first five) that names the most known columns, and where
    each field is.  ``mapping`` maps a file's own header names to fields."""
    names = {f: {_norm(n) for n in ns} for f, ns in HEADERS.items()}
    for own, fld in (mapping or {}).items():
        names.setdefault(fld, set()).add(_norm(own))
    best: tuple[int, dict[str, int]] = (-1, {})
    for i, row in enumerate(rows[:5]):
        found: dict[str, int] = {}
        for j, cell in enumerate(row):
            key = _norm(cell)
            for fld, ns in names.items():
                if key in ns and fld not in found:
                    found[fld] = j
        if len(found) > len(best[1]):
            best = (i, found)
    return best


# --- checking ---------------------------------------------------------------------------


def parse_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if value is None or str(value).strip() == "":
        return None
    m = DATE_RE.match(str(value))
    if not m:
        raise ValueError(str(value))
    d = date(int(m[1]), int(m[2]), int(m[3]))
    if not 1900 <= d.year <= 2200:
        raise ValueError(str(value))
    return d


def _cell(row: list[Any], idx: int | None) -> Any:
    if idx is None or idx >= len(row):
        return None
    v = row[idx]
    if isinstance(v, str):
        v = v.strip()
        if v[:2] in ("'=", "'+", "'-", "'@"):  # a ledger we exported kept formula-like text as text
            v = v[1:]
    return v


def drafts_from_rows(
    rows: list[list[Any]],
    *,
    categories: Mapping[str, Text],
    severities: Mapping[str, Text],
    org: str,
    feedback_date: date,
    period_end: date,
    mapping: Mapping[str, str] | None = None,
    period_bound: Iterable[str] = (),
    sources: Mapping[str, Text] | None = None,
) -> list[Draft]:
    """Check every row and build drafts; raise :class:`ImportRefused` with every error."""
    errors: list[RowError] = []
    if len(rows) > MAX_ROWS:
        raise ImportRefused([RowError(0, "-", Text(f"超过 {MAX_ROWS} 行", f"more than {MAX_ROWS} rows"))])
    header_at, cols = find_header(rows, mapping)
    header_row = rows[header_at] if header_at >= 0 else []
    missing = [f for f in REQUIRED if f not in cols]
    if header_at < 0 or missing:
        want = "、".join(HEADERS[f][0] for f in missing)
        raise ImportRefused(
            [
                RowError(
                    header_at + 1,
                    "-",
                    Text(
                        f"缺少必需的列：{want}（可用 --map 指定列名）",
                        f"required columns missing: {', '.join(missing)} (map them with --map)",
                    ),
                )
            ]
        )
    label = {f: str(header_row[j]) for f, j in cols.items()}
    by_label, sev_label, src_label = _by_label(categories), _by_label(severities), _by_label(sources or {})
    drafts: dict[str, Draft] = {}
    immediate = set(period_bound)
    for i, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        if all(c is None or str(c).strip() == "" for c in row):
            continue

        def err(fld: str, zh: str, en: str, row_no: int = i) -> None:
            errors.append(RowError(row_no, label.get(fld, fld), Text(zh, en)))

        values: dict[str, Any] = {}
        too_long: set[str] = set()
        for fld in cols:
            v = _cell(row, cols[fld])
            if isinstance(v, str):
                limit = MAX_FIELD.get(fld, MAX_CELL)
                if len(v) > limit:
                    too_long.add(fld)
                    err(
                        fld,
                        f"内容过长（{len(v)} 字，上限 {limit}）",
                        f"too long ({len(v)} characters, at most {limit})",
                    )
                    v = v[:limit]
                if CONTROL_RE.search(v):
                    err(fld, "含有控制字符", "contains control characters")
            values[fld] = v
        no = values.get("no")
        no = str(int(no)) if isinstance(no, float) and no.is_integer() else (str(no).strip() if no is not None else "")
        if not no:
            err("no", "序号为空", "the number is empty")
            continue
        measures = [m.strip() for m in str(values.get("measures") or "").splitlines() if m.strip()]
        target = str(values["target"]).strip() if values.get("target") not in (None, "") else None
        confidential = _exempt(values.get("disclosure"), lambda zh, en: err("disclosure", zh, en))
        if no in drafts:  # a repeated row: further measures of the same problem
            drafts[no].measures += [DraftMeasure(m, target) for m in measures]
            drafts[no].confidential |= confidential  # one row saying 否 is enough: fail closed
            continue
        for fld in ("title", "unit", "owner", "lead"):
            if not values.get(fld):
                err(fld, "不能为空", "must not be empty")
        cat_raw = values.get("category")
        category = by_label.get(_norm(cat_raw))
        if category is None:
            err(
                "category",
                f"未知的问题类别 {cat_raw!r}（可用：{'、'.join(t.zh for t in categories.values())}）",
                f"unknown category {cat_raw!r} (known: {', '.join(categories)})",
            )
        severity = "normal"
        if values.get("severity"):
            severity = sev_label.get(_norm(values["severity"]), "")
            if not severity:
                err("severity", f"未知的严重程度 {values['severity']!r}", f"unknown severity {values['severity']!r}")
        due = None
        try:
            due = parse_date(values.get("due_date"))
            if due is None:
                err("due_date", "整改时限为空", "the deadline is empty")
        except ValueError:
            err("due_date", f"{values.get('due_date')!r} 不是日期", f"{values.get('due_date')!r} is not a date")
        if due is not None and due < feedback_date:
            err(
                "due_date",
                f"整改时限 {due} 早于反馈日 {feedback_date}",
                f"deadline {due} is before the feedback date {feedback_date}",
            )
        if due is not None and category in immediate and due > period_end:
            err(
                "due_date",
                f"{categories[category].zh}问题的时限 {due} 超出集中整改期（至 {period_end}）",
                f"a {categories[category].en} item's deadline {due} is after the concentrated period ends ({period_end})",
            )
        source = ""
        if values.get("source"):
            source = src_label.get(_norm(values["source"]), "")
            if not source:
                known = "、".join(t.zh for t in (sources or {}).values())
                err(
                    "source",
                    f"未知的问题来源 {values['source']!r}（可用：{known}）",
                    f"unknown source {values['source']!r} (known: {', '.join(sources or {})})",
                )
        unit = norm_path(str(values.get("unit") or ""))  # as the engine stores a unit entered by hand
        if unit and "/" not in unit:
            unit = f"{org}/{unit}"  # a department of the inspected body
        if has_dot_segment(unit):
            err("unit", f"责任部门 {unit} 不能含 . 或 .. 段", f"unit {unit} must not have . or .. segments")
        elif len(unit) > MAX_FIELD["unit"] and "unit" not in too_long:  # long once the org is put before it
            err("unit", f"责任部门过长（{len(unit)} 字）", f"the unit is too long ({len(unit)} characters)")
        drafts[no] = Draft(
            no=no,
            row=i,
            title=str(values.get("title") or ""),
            category=category or "",
            unit=unit,
            owner=str(values.get("owner") or ""),
            lead=str(values.get("lead") or ""),
            due_date=due or feedback_date,
            severity=severity or "normal",
            description=str(values.get("note") or ""),
            measures=[DraftMeasure(m, target) for m in measures],
            source=source,
            confidential=confidential,
        )
    if errors:
        raise ImportRefused(errors)
    if not drafts:
        raise ImportRefused([RowError(header_at + 2, "-", Text("文件中没有问题", "the file lists no problems"))])
    return list(drafts.values())
