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
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..i18n import Text
from ..storage.repository import Repository
from ..storage.rows import IssueRow, MeasureRow, RoundRow
from .actors import Actor
from .core import Core
from .definition import WorkflowDefinition
from .errors import Cancelled, InvalidInput
from .importing import CONTINUED, NO_VALUE
from .labels import number_in_round, source_of, sources_of
from .lights import light_of, narrowing
from .progress import progress
from .rounds import in_scope

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
    # each measure (分期分批) one a line beside 整改措施, so every phase imports again as it was
    ("措施责任人", 10),
    ("措施时限", 12),
    ("措施完成情况", 10),
    ("整改进度", 10),
    ("下一措施时限", 12),
    ("整改状态", 10),
    ("红黄绿灯", 8),
    ("再犯次数", 8),
    ("延期次数", 8),
    ("是否公开", 8),
    ("备注", 20),
]
HEADERS = [c for c, _ in COLUMNS]
LIGHT_FILL = {"green": "C6EFCE", "yellow": "FFEB9C", "red": "FFC7CE", "blue": "BDD7EE", "orange": "F8CBAD"}


def spreadsheet_safe(value: Any) -> Any:
    """Text a spreadsheet would evaluate is kept as text (formula injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def per_measure(values: list[Any], *, if_none: str = NO_VALUE) -> str:
    """A per-measure column: one value for all the measures when they share it, else one a
    line in the order of 整改措施, with ``—`` where a measure has none (the importer reads it
    back as none); ``if_none`` when no measure has one."""
    shown = ["" if v is None else str(v) for v in values]
    if not shown:
        return ""
    if all(v == "" for v in shown):
        return if_none
    if len(set(shown)) == 1:
        return shown[0]
    return "\n".join(v or NO_VALUE for v in shown)


def ledger_row(
    issue: IssueRow,
    measures: list[MeasureRow],
    d: WorkflowDefinition,
    round_code: str,
    *,
    light: str | None = None,
    extensions: int = 0,
) -> dict[str, Any]:
    """One issue as a ledger row: its measures one a line (a measure's own line breaks go on
    lines that start with an ideographic space), and each one's target, owner, due date and
    state on the same line of the columns beside; ``light`` as of the day the ledger is
    written, ``extensions`` its approved deadline changes."""
    lights = d.light_colours
    sources, source = sources_of(d), source_of(issue)
    done = progress(measures)
    return {
        "序号": number_in_round(issue.code, round_code),
        "问题": issue.title,
        "问题类别": d.categories[issue.category].zh if issue.category in d.categories else issue.category,
        "问题来源": sources[source].zh if source in sources else source,
        "整改措施": "\n".join(m.text.replace("\n", "\n" + CONTINUED) for m in measures),
        "责任领导": issue.lead,
        "责任部门": issue.unit,
        "责任人": issue.owner,
        "整改时限": issue.due_date,
        "量化目标": per_measure([m.target for m in measures], if_none=""),
        "措施责任人": per_measure([m.owner for m in measures]),
        "措施时限": per_measure([m.due_date for m in measures]),
        "措施完成情况": per_measure(["已完成" if m.done_at else "未完成" for m in measures]),
        "整改进度": f"完成 {done.fraction}" if done.total else "",
        "下一措施时限": done.next_due,
        "整改状态": d.label(issue.state).zh,
        "红黄绿灯": lights[light].zh if light in lights else "",
        "再犯次数": issue.recurrence_count,
        "延期次数": extensions,
        "是否公开": "否" if issue.confidential else "是",
        "备注": issue.description,
        "_light": light,
    }


def write_csv(rows: Iterable[dict[str, Any]], path: Path) -> int:
    n = 0
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADERS)
        for r in rows:
            w.writerow([spreadsheet_safe("" if r[c] is None else str(r[c])) for c in HEADERS])
            n += 1
    return n


def _lines(value: Any, width: int) -> int:
    """How many lines a wrapped cell of ``width`` characters needs (CJK characters are two wide)."""
    if not value:
        return 1
    total = 0
    for line in str(value).split("\n"):
        wide = sum(2 if ord(ch) > 0x2E80 else 1 for ch in line)
        total += max(1, -(-wide // max(1, width - 1)))
    return total


def write_xlsx(rows: Iterable[dict[str, Any]], path: Path, *, title: str, facts: Sequence[tuple[str, str]] = ()) -> int:
    """Streamed with XlsxWriter's constant-memory mode: memory stays flat however long the
    ledger is, and 100,000 rows take a third of the time openpyxl's write-only mode needs.
    Every text is written as a string cell, so nothing in it can run as a formula."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False})
    ws = wb.add_worksheet("整改台账")
    head = wb.add_format({"bold": True, "align": "center", "valign": "vcenter", "text_wrap": True})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    day = wb.add_format({"num_format": "yyyy-mm-dd", "valign": "top"})
    top = wb.add_format({"valign": "top"})
    fills = {k: wb.add_format({"bg_color": f"#{v}", "pattern": 1, "valign": "top"}) for k, v in LIGHT_FILL.items()}
    for i, (name, width) in enumerate(COLUMNS):
        ws.set_column(i, i, width)
        ws.write_string(0, i, name, head)
    ws.freeze_panes(1, 0)
    # printed as offices file it: A4 landscape, all columns on the page width, header on every page
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
    ws.set_header(f"&C&14{title.replace('&', '&&')}")
    ws.set_footer("&C&P / &N")
    wrapped = {
        HEADERS.index(h)
        for h in ("问题", "整改措施", "责任部门", "量化目标", "措施责任人", "措施时限", "措施完成情况", "备注")
    }
    date_cols, light_col = {HEADERS.index("整改时限"), HEADERS.index("下一措施时限")}, HEADERS.index("红黄绿灯")
    states: Counter[str] = Counter()
    cats: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    n = 0
    widths = [w for _, w in COLUMNS]
    for n, r in enumerate(rows, start=1):
        # a spreadsheet does not grow a row for wrapped text on its own: give each row the
        # height its longest wrapped cell needs, so every measure shows when printed
        lines = max((_lines(r[HEADERS[i]], widths[i]) for i in wrapped), default=1)
        if lines > 1:
            ws.set_row(n, min(409, 15 * lines))
        for i, h in enumerate(HEADERS):
            v = r[h]
            if v is None or v == "":
                continue
            if i in date_cols:
                ws.write_datetime(n, i, v, day)
            elif isinstance(v, (int, float)):
                ws.write_number(n, i, v, top)
            else:
                fmt = wrap if i in wrapped else fills.get(r["_light"], top) if i == light_col else top
                ws.write_string(n, i, str(v), fmt)
        states[r["整改状态"]] += 1
        cats[r["问题类别"]] += 1
        sources[r["问题来源"]] += 1
    summary = wb.add_worksheet("汇总")
    summary.set_column(0, 0, 24)
    bold = wb.add_format({"bold": True})
    summary.write_string(0, 0, title, wb.add_format({"bold": True, "font_size": 14}))
    at = 2
    for name, value in facts:  # the round's own dates: the concentrated period and its end
        summary.write_string(at, 0, name, bold)
        summary.write_string(at, 1, value)
        at += 1
    at += 1 if facts else 0
    for name, counts in (("整改状态", states), ("问题类别", cats), ("问题来源", sources)):
        summary.write_string(at, 0, name, bold)
        summary.write_string(at, 1, "数量", bold)
        for k, c in counts.most_common():
            at += 1
            summary.write_string(at, 0, k)
            summary.write_number(at, 1, c)
        at += 2
    summary.write_string(at, 0, "合计", bold)
    summary.write_number(at, 1, n)
    try:
        wb.close()
    except xlsxwriter.exceptions.FileCreateError as exc:
        raise OSError(str(exc)) from exc
    return n


def period_facts(r: RoundRow) -> list[tuple[str, str]]:
    """What the summary sheet states of the round's concentrated period (集中整改期)."""
    return [
        ("反馈日期", r.feedback_date.isoformat()),
        ("集中整改期截止", f"{r.period_end.isoformat()}（含当日）"),
    ]


def export(
    core: Core,
    round_code: str,
    path: str | Path,
    *,
    actor: Actor,
    fmt: str | None = None,
    states: Iterable[str] | None = None,
    categories: Iterable[str] | None = None,
    lights: Iterable[str] | None = None,
    sources: Iterable[str] | None = None,
    unit: str | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> int:
    """See :meth:`Engine.export_ledger`."""
    target = Path(path)
    fmt = (fmt or target.suffix.lstrip(".") or "xlsx").lower()
    if fmt not in ("csv", "xlsx"):
        raise InvalidInput(
            Text(f"不支持的格式 {fmt}（csv 或 xlsx）", f"unsupported format {fmt} (csv or xlsx)"), field="format"
        )
    with core.read() as conn:
        repo = Repository(conn)
        r, prefixes = in_scope(repo, round_code, actor, unit)

        now, want = core.clock.now(), frozenset(lights or ())

        def rows() -> Iterator[dict[str, Any]]:
            for chunk in repo.issues.of_round(
                r.id, states=states, categories=categories, lights=narrowing(lights, core.as_of), sources=sources, unit_prefixes=prefixes,
                lights_at=now,
            ):  # fmt: skip
                ids = [i.id for i in chunk]
                measures, extended = repo.records.of_issues("measures", ids), repo.records.extension_counts(ids)
                for i in chunk:
                    if should_stop is not None and should_stop():
                        raise Cancelled(Text("导出已中止（请求方已离开）", "the export stopped: its caller went away"))
                    d = core.definitions.get(repo, i.workflow_id)
                    light = light_of(d, i, now)  # as of today, not as of the last sweep
                    if want and light not in want:
                        continue
                    yield ledger_row(
                        i, measures.get(i.id, []), d, round_code, light=light, extensions=extended.get(i.id, 0)
                    )

        # written beside the target and moved over it when complete: a failed export
        # never leaves half a ledger where yesterday's good one was
        partial = target.with_name(f".{target.name}.partial")
        try:
            n = (
                write_csv(rows(), partial)
                if fmt == "csv"
                else write_xlsx(rows(), partial, title=f"{r.title} 整改台账", facts=period_facts(r))
            )
            os.replace(partial, target)
            return n
        except OSError as exc:
            raise InvalidInput(Text(f"无法写入文件：{exc}", f"cannot write the file: {exc}"), field="output") from None
        finally:
            partial.unlink(missing_ok=True)
