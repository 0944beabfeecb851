"""The rectification ledger (整改台账) as offices keep it: one row per problem, CSV or XLSX.

Columns come in the order offices use, with the same headers the importer reads, so a ledger
exported here imports again unchanged.  In XLSX the traffic light is a coloured cell, the
header is frozen, columns have sensible widths and a summary sheet counts problems by state
and category.  CSV is UTF-8 with a BOM, which Excel on a Chinese Windows opens correctly.
Text a spreadsheet would run as a formula (starting with ``= + - @``) is kept as text: typed
as a string cell in XLSX, prefixed with ``'`` in CSV.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

COLUMNS = [
    ("序号", 6),
    ("问题", 40),
    ("问题类别", 10),
    ("问题来源", 14),
    ("整改措施", 50),
    ("责任领导", 10),
    ("责任部门", 22),
    ("责任人", 10),
    ("整改时限", 12),
    ("量化目标", 20),
    ("整改状态", 10),
    ("红黄绿灯", 8),
    ("再犯次数", 8),
    ("是否公开", 8),
    ("备注", 20),
]
HEADERS = [c for c, _ in COLUMNS]
LIGHT_FILL = {"green": "C6EFCE", "yellow": "FFEB9C", "red": "FFC7CE", "blue": "BDD7EE", "orange": "F8CBAD"}


def _safe(value: Any) -> Any:
    """Text a spreadsheet would evaluate is kept as text (formula injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def ledger_row(issue: Any, measures: list[Any], d: Any, round_code: str) -> dict[str, Any]:
    """One issue as a ledger row; measures one per line, the first measure's target for the row."""
    code = issue.code
    lights = d.escalation.lights.colours if d.escalation and d.escalation.lights else {}
    sources = d.sources
    return {
        "序号": code[len(round_code) + 1 :] if code.startswith(round_code + "-") else code,
        "问题": issue.title,
        "问题类别": d.categories[issue.category].zh if issue.category in d.categories else issue.category,
        "问题来源": sources[issue.source].zh if issue.source in sources else issue.source,
        "整改措施": "\n".join(m.text for m in measures),
        "责任领导": issue.lead,
        "责任部门": issue.unit,
        "责任人": issue.owner,
        "整改时限": issue.due_date,
        "量化目标": next((m.target for m in measures if m.target), ""),
        "整改状态": d.label(issue.state).zh,
        "红黄绿灯": lights[issue.light].zh if issue.light in lights else "",
        "再犯次数": issue.recurrence_count,
        "是否公开": "否" if issue.confidential else "是",
        "备注": issue.description,
        "_light": issue.light,
    }


def write_csv(rows: Iterable[dict[str, Any]], path: Path) -> int:
    n = 0
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADERS)
        for r in rows:
            w.writerow([_safe("" if r[c] is None else str(r[c])) for c in HEADERS])
            n += 1
    return n


def write_xlsx(rows: Iterable[dict[str, Any]], path: Path, *, title: str) -> int:
    """Streamed (openpyxl's write-only mode): memory stays flat however long the ledger is."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("整改台账")
    for i, (_, width) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    bold, centre = Font(bold=True), Alignment(horizontal="center", vertical="center", wrap_text=True)
    wrap = Alignment(vertical="top", wrap_text=True)
    fills = {k: PatternFill("solid", start_color=v, end_color=v) for k, v in LIGHT_FILL.items()}

    def cell(value: Any, **style: Any) -> WriteOnlyCell:
        c = WriteOnlyCell(ws, value=value)
        if c.data_type == "f":  # text that looks like a formula stays text (no injection)
            c.data_type = "s"
        for k, v in style.items():
            setattr(c, k, v)
        return c

    ws.append([cell(h, font=bold, alignment=centre) for h in HEADERS])
    states: Counter[str] = Counter()
    cats: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    for r in rows:
        out = []
        for h in HEADERS:
            c = cell(r[h], alignment=wrap)
            if h == "整改时限":
                c.number_format = "yyyy-mm-dd"
            elif h == "红黄绿灯" and r["_light"] in fills:
                c.fill = fills[r["_light"]]
            out.append(c)
        ws.append(out)
        states[r["整改状态"]] += 1
        cats[r["问题类别"]] += 1
        sources[r["问题来源"]] += 1
    summary = wb.create_sheet("汇总")
    summary.column_dimensions["A"].width = 24
    summary.append([cell(title, font=Font(bold=True, size=14))])
    for head, counts in (("整改状态", states), ("问题类别", cats), ("问题来源", sources)):
        summary.append([])
        summary.append([cell(head, font=bold), cell("数量", font=bold)])
        for k, n in counts.most_common():
            summary.append([k, n])
    summary.append([])
    summary.append([cell("合计", font=bold), sum(states.values())])
    wb.save(path)
    return sum(states.values())
