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
import io
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

COLUMNS = [
    ("序号", 6),
    ("问题", 40),
    ("问题类别", 10),
    ("整改措施", 50),
    ("责任领导", 10),
    ("责任部门", 22),
    ("责任人", 10),
    ("整改时限", 12),
    ("量化目标", 20),
    ("整改状态", 10),
    ("红黄绿灯", 8),
    ("再犯次数", 8),
    ("备注", 20),
]
LIGHT_FILL = {"green": "C6EFCE", "yellow": "FFEB9C", "red": "FFC7CE", "blue": "BDD7EE", "orange": "F8CBAD"}


def _safe(value: Any) -> Any:
    """Text a spreadsheet would evaluate is kept as text (formula injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def ledger_rows(views: Iterable[Any], definition_of: Any, round_code: str) -> list[dict[str, Any]]:
    """One row per issue; measures one per line, the first measure's target for the row."""
    rows = []
    for v in views:
        d = definition_of(v)
        no = v.code[len(round_code) + 1 :] if v.code.startswith(round_code + "-") else v.code
        rows.append(
            {
                "序号": no,
                "问题": v.title,
                "问题类别": d.categories[v.category].zh if v.category in d.categories else v.category,
                "整改措施": "\n".join(m["text"] for m in v.measures),
                "责任领导": v.lead,
                "责任部门": v.unit,
                "责任人": v.owner,
                "整改时限": v.due_date,
                "量化目标": next((m["target"] for m in v.measures if m.get("target")), ""),
                "整改状态": v.state_label.zh,
                "红黄绿灯": v.light_label.zh if v.light_label else "",
                "再犯次数": v.recurrence_count,
                "备注": v.description,
                "_light": v.light,
                "_state": v.state,
            }
        )
    return rows


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([c for c, _ in COLUMNS])
    for r in rows:
        w.writerow([_safe("" if r[c] is None else str(r[c])) for c, _ in COLUMNS])
    path.write_bytes(buf.getvalue().encode("utf-8-sig"))


def write_xlsx(rows: list[dict[str, Any]], path: Path, *, title: str) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "整改台账"
    ws.append([c for c, _ in COLUMNS])
    bold = Font(bold=True)
    for i, (_, width) in enumerate(COLUMNS, start=1):
        ws.cell(1, i).font = bold
        ws.cell(1, i).alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    light_col = [c for c, _ in COLUMNS].index("红黄绿灯") + 1
    for r in rows:
        ws.append([r[c] for c, _ in COLUMNS])
        row = ws.max_row
        for i in range(1, len(COLUMNS) + 1):
            cell = ws.cell(row, i)
            cell.alignment = Alignment(vertical="top", wrap_text=True)
            if cell.data_type == "f":  # text that looks like a formula stays text (no injection)
                cell.data_type = "s"
        ws.cell(row, [c for c, _ in COLUMNS].index("整改时限") + 1).number_format = "yyyy-mm-dd"
        fill = LIGHT_FILL.get(r["_light"] or "")
        if fill:
            ws.cell(row, light_col).fill = PatternFill("solid", start_color=fill, end_color=fill)
    summary = wb.create_sheet("汇总")
    summary.append([title])
    summary["A1"].font = Font(bold=True, size=14)
    summary.append([])
    summary.append(["整改状态", "数量"])
    for state, n in Counter(r["整改状态"] for r in rows).most_common():
        summary.append([state, n])
    summary.append([])
    summary.append(["问题类别", "数量"])
    for cat, n in Counter(r["问题类别"] for r in rows).most_common():
        summary.append([cat, n])
    summary.append([])
    summary.append(["合计", len(rows)])
    summary.column_dimensions["A"].width = 24
    wb.save(path)
