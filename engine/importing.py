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

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ..i18n import Text
from .actors import has_dot_segment, norm_path
from .sheets import MAX_ROWS, ImportRefused, RowError

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
    # one line for each measure (the ledger writes them so), or one value for every measure
    "measure_owner": ("措施责任人", "measure_owner"),
    "measure_due": ("措施时限", "措施完成时限", "measure_due"),
    "measure_done": ("措施完成情况", "完成情况", "measure_done"),
}
#: what an office writes in the 是否公开 column for a problem that must not be disclosed
NOT_PUBLIC = frozenset({"否", "不公开", "不予公开", "涉密", "no", "n", "false", "0", "confidential", "exempt"})
PUBLIC = frozenset({"", "是", "公开", "yes", "y", "true", "1", "public"})
#: what the ledger's 措施完成情况 column says of each measure
DONE = frozenset({"已完成", "完成", "是", "done", "yes", "y", "√", "✓"})
NOT_DONE = frozenset({"", "none", "未完成", "进行中", "否", "not done", "notdone", "no", "n", "×"})
CONTINUED = "\u3000"  # a measure's text going on over a line of its own in the 整改措施 cell
NO_VALUE = "—"  # a per-measure column's line for a measure that has no value there
REQUIRED = ("no", "title", "category", "unit", "owner", "lead", "due_date")
MAX_CELL = 20_000
#: the longest text each field may hold, as the engine accepts it when entered by hand (and
#: as wide as its storage column): a longer cell is refused, never cut short
MAX_FIELD = {"title": 500, "unit": 500, "owner": 128, "lead": 128, "target": 500}
#: control characters other than tab and newlines (C0, DEL, C1), and the bidi overrides and
#: isolates that make a title read otherwise than it is stored (U+202A-U+202E, U+2066-U+2069)
CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
DATE_RE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")


@dataclass
class DraftMeasure:
    text: str
    target: str | None
    owner: str | None = None  # None: the problem's owner
    due_date: date | None = None  # None: the problem's deadline
    done: bool = False
    own: frozenset[str] = frozenset()  # of owner and due_date, those the list gives the measure itself


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


# --- headers ---------------------------------------------------------------------------


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


def find_header(
    rows: list[list[Any]], mapping: Mapping[str, str] | None = None, *, merged: bool = False
) -> tuple[int, dict[str, int]]:
    """The header row (among the first five) that names the most known columns, and where
    each field is.  ``mapping`` maps a file's own header names to fields.  A field named by
    two columns is refused: which of them holds the problem's value cannot be told (in a
    workbook, one header cell merged over neighbouring columns names them all: the first
    column is the field's)."""
    names = {f: {_norm(n) for n in ns} for f, ns in HEADERS.items()}
    for own, fld in (mapping or {}).items():
        names.setdefault(fld, set()).add(_norm(own))
    best: tuple[int, dict[str, int]] = (-1, {})
    twice: list[RowError] = []
    for i, row in enumerate(rows[:5]):
        found: dict[str, int] = {}
        last: dict[str, int] = {}
        clashes: list[RowError] = []
        for j, cell in enumerate(row):
            key = _norm(cell)
            for fld, ns in names.items():
                if key not in ns:
                    continue
                if fld in found and merged and j == last[fld] + 1 and _norm(row[last[fld]]) == key:
                    last[fld] = j  # one header cell merged across columns: the first column holds it
                elif fld in found:
                    first = str(row[found[fld]]).strip()
                    clashes.append(
                        RowError(
                            i + 1,
                            str(cell).strip(),
                            Text(
                                f"表头重复：第 {found[fld] + 1} 列“{first}”与第 {j + 1} 列“{str(cell).strip()}”都是{HEADERS.get(fld, (fld,))[0]}",
                                f"a repeated header: column {found[fld] + 1} ({first}) and column {j + 1} "
                                f"({str(cell).strip()}) both name {fld}",
                            ),
                        )
                    )
                else:
                    found[fld] = last[fld] = j
        if len(found) > len(best[1]):
            best, twice = (i, found), clashes
    if twice:
        raise ImportRefused(twice)
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


def measure_lines(cell: Any) -> list[str]:
    """The measures in a 整改措施 cell, one a line.  A line that starts with an ideographic
    space (U+3000) goes on the measure above: that is how the ledger writes a measure whose
    own text runs over several lines."""
    out: list[str] = []
    for line in str(cell or "").split("\n"):
        if line.startswith(CONTINUED) and out:
            out[-1] += "\n" + line[1:].rstrip()
        elif line.strip():
            out.append(line.strip())
    return out


def _aligned(cell: Any, n: int) -> list[Any] | None:
    """A per-measure column: one line for each of the ``n`` measures, or one value for all
    of them; None when the lines do not match the measures."""
    if cell is None or cell == "":
        return [None] * n
    if not isinstance(cell, str):
        return [cell] * n
    parts = [p.strip() or None for p in cell.rstrip("\n").split("\n")]
    if len(parts) == n:
        return parts
    return parts * n if len(parts) == 1 else None


def _measures(values: Mapping[str, Any], err: Any, due: date | None) -> list[DraftMeasure]:
    """A row's measures with what the per-measure columns give each: a target (量化目标), an
    owner (措施责任人), a due date (措施时限) and whether it is done (措施完成情况)."""
    texts = measure_lines(values.get("measures"))
    n = len(texts)
    targets = _aligned(values.get("target"), n)
    if targets is None:  # a list's one target for a problem, written over several lines
        targets = [str(values["target"]).strip()] * n
    columns: dict[str, list[Any]] = {}
    for fld in ("measure_owner", "measure_due", "measure_done"):
        got = _aligned(values.get(fld), n)
        if got is None:
            lines = len(str(values[fld]).rstrip("\n").split("\n"))
            err(fld, f"有 {lines} 行，与 {n} 条整改措施不对应", f"has {lines} lines for {n} measures")
            got = [None] * n
        columns[fld] = got
    out: list[DraftMeasure] = []
    for k, text in enumerate(texts):
        own = {f for f, c in (("owner", "measure_owner"), ("due_date", "measure_due")) if columns[c][k] is not None}
        owner = None if columns["measure_owner"][k] in (None, NO_VALUE) else str(columns["measure_owner"][k])
        if owner is not None and len(owner) > MAX_FIELD["owner"]:
            err("measure_owner", f"措施 {k + 1} 的责任人过长", f"measure {k + 1}'s owner is too long")
        raw_due = columns["measure_due"][k]
        try:
            m_due = None if raw_due == NO_VALUE else parse_date(raw_due)
        except ValueError:
            m_due = None
            err("measure_due", f"措施 {k + 1} 的时限 {raw_due!r} 不是日期",
                f"measure {k + 1}'s due date {raw_due!r} is not a date")  # fmt: skip
        if m_due is not None and due is not None and m_due > due:
            err("measure_due", f"措施 {k + 1} 的时限 {m_due} 晚于整改时限 {due}",
                f"measure {k + 1} is due {m_due}, after the problem's deadline {due}")  # fmt: skip
        done_raw = columns["measure_done"][k]
        done = _norm(done_raw) in DONE
        if not done and _norm(done_raw) not in NOT_DONE:
            err("measure_done", f"措施 {k + 1} 的完成情况 {done_raw!r} 应为“已完成”或“未完成”",
                f"measure {k + 1}: {done_raw!r} should be done (已完成) or not done (未完成)")  # fmt: skip
        target = targets[k]
        target = None if target in (None, "", NO_VALUE) else str(target)
        out.append(DraftMeasure(text, target, owner, m_due, done, frozenset(own)))
    return out


def _number(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw).strip() if raw is not None else ""


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
    default_category: str | None = None,
    merged_headers: bool = False,
) -> list[Draft]:
    """Check every row and build drafts; raise :class:`ImportRefused` with every error.
    ``default_category`` is the category of every problem whose row names none (a list
    with no 问题类别 column takes it whole)."""
    errors: list[RowError] = []
    if len(rows) > MAX_ROWS:
        raise ImportRefused([RowError(0, "-", Text(f"超过 {MAX_ROWS} 行", f"more than {MAX_ROWS} rows"))])
    header_at, cols = find_header(rows, mapping, merged=merged_headers)
    header_row = rows[header_at] if header_at >= 0 else []
    missing = [f for f in REQUIRED if f not in cols and not (f == "category" and default_category)]
    if header_at < 0 or missing:
        want = "、".join(HEADERS[f][0] for f in missing)
        hint = (
            ("；没有问题类别列时用 --category 指定全表的类别", "; a list without one takes --category for every row")
            if "category" in missing
            else ("", "")
        )
        raise ImportRefused(
            [
                RowError(
                    header_at + 1,
                    "-",
                    Text(
                        f"缺少必需的列：{want}（可用 --map 指定列名{hint[0]}）",
                        f"required columns missing: {', '.join(missing)} (map them with --map{hint[1]})",
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
        no = _number(_cell(row, cols.get("no")))

        def err(fld: str, zh: str, en: str, row_no: int = i, no: str = no) -> None:
            errors.append(RowError(row_no, label.get(fld, fld), Text(zh, en), no))

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
        if not no:
            err("no", "序号为空", "the number is empty")
            continue
        confidential = _exempt(values.get("disclosure"), lambda zh, en: err("disclosure", zh, en))
        due = None
        try:
            due = parse_date(values.get("due_date"))
        except ValueError:
            if no not in drafts:
                err("due_date", f"{values.get('due_date')!r} 不是日期", f"{values.get('due_date')!r} is not a date")
        if no in drafts:  # a repeated row: further measures of the same problem
            first = drafts[no]
            if values.get("title") and str(values["title"]) != first.title:  # not a measure: another problem
                err("no", f"序号 {no} 已用于另一个问题（{first.title}）", f"no. {no} is already another problem ({first.title})")
                continue
            drafts[no].measures += _measures(values, err, drafts[no].due_date)
            drafts[no].confidential |= confidential  # one row saying 否 is enough: fail closed
            continue
        for fld in ("title", "unit", "owner", "lead"):
            if not values.get(fld):
                err(fld, "不能为空", "must not be empty")
        cat_raw = values.get("category")
        category = by_label.get(_norm(cat_raw)) if _norm(cat_raw) or not default_category else default_category
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
        if due is None and not any(e.row == i and e.column == label.get("due_date") for e in errors):
            err("due_date", "整改时限为空", "the deadline is empty")
        if due is not None and due < feedback_date:
            err(
                "due_date",
                f"整改时限 {due} 早于反馈日 {feedback_date}",
                f"deadline {due} is before the feedback date {feedback_date}",
            )
        if due is not None and category in immediate and due > period_end:
            err(
                "due_date",
                f"{categories[category].zh}问题的时限 {due} 超出集中整改期（至 {period_end}，含当日）",
                f"a {categories[category].en} item's deadline {due} is after the concentrated period ends "
                f"({period_end}, the last day inside)",
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
            measures=_measures(values, err, due),
            source=source,
            confidential=confidential,
        )
    if errors:
        raise ImportRefused(errors)
    if not drafts:
        raise ImportRefused([RowError(header_at + 2, "-", Text("文件中没有问题", "the file lists no problems"))])
    return list(drafts.values())
