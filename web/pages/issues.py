"""问题清单: the issues in the viewer's scope, filtered, paged by keyset, and exported as filtered."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from ...engine.actors import Actor
from ...engine.ledger import spreadsheet_safe
from ...engine.listing import IssueFilter
from ...engine.service import Engine
from ..context import Viewer, viewer
from ..render import label, page

router = APIRouter()

COLUMNS = (
    ("code", "编号", "Code"),
    ("round", "轮次", "Round"),
    ("title", "问题", "Problem"),
    ("unit", "责任单位", "Unit"),
    ("owner", "责任人", "Owner"),
    ("category_label", "类别", "Category"),
    ("state_label", "状态", "State"),
    ("light_label", "亮灯", "Light"),
    ("due_date", "整改时限", "Due"),
)


@dataclass(frozen=True)
class Filters:
    round: str
    unit: str
    state: str
    category: str
    light: str
    owner: str
    source: str
    sort: str

    def where(self) -> IssueFilter:
        return IssueFilter(
            round_code=self.round or None,
            unit=self.unit or None,
            owner=self.owner or None,
            states=[self.state] if self.state else None,
            categories=[self.category] if self.category else None,
            lights=[self.light] if self.light else None,
            sources=[self.source] if self.source else None,
        )

    def query(self) -> str:
        from urllib.parse import urlencode

        return urlencode({k: v for k, v in self.__dict__.items() if v})


def filters(
    round: str = Query(default="", max_length=64),
    unit: str = Query(default="", max_length=256),
    state: str = Query(default="", max_length=64),
    category: str = Query(default="", max_length=64),
    light: str = Query(default="", max_length=16),
    owner: str = Query(default="", max_length=128),
    source: str = Query(default="", max_length=64),
    sort: str = Query(default="", max_length=8),
) -> Filters:
    return Filters(round, unit, state, category, light, owner, source, sort)


@router.get("/issues")
def listing(
    after: str = Query(default="", max_length=40),
    limit: int = Query(default=50, ge=1, le=200),
    f: Filters = Depends(filters),
    v: Viewer = Depends(viewer),
) -> Response:
    result = v.engine.issue_page(v.actor, f.where(), after=after, limit=limit, sort=f.sort or "id")
    return page(v, "issues.html", page_=result, f=f, after=after, limit=limit)


def _cells(engine: Engine, actor: Actor, f: Filters, lang: str) -> Iterator[list[str]]:
    """The header, then every issue under the filters, a page of the keyset at a time."""
    yield [zh if lang == "zh" else en for _, zh, en in COLUMNS]
    after = ""
    while True:
        result = engine.issue_page(actor, f.where(), after=after, limit=1000, sort=f.sort or "id")
        for item in result.items:
            d = item.__dict__
            yield [label(d.get(k), lang) for k, _, _ in COLUMNS]
        if result.next_after is None:
            return
        after = result.next_after


def _csv(cells: Iterator[list[str]]) -> Iterator[str]:
    buf = io.StringIO()
    w = csv.writer(buf)
    buf.write("\ufeff")  # Excel opens UTF-8 CSV as such only with its byte-order mark
    for n, row in enumerate(cells, 1):
        w.writerow([spreadsheet_safe(c) for c in row])  # a cell a spreadsheet would run is kept as text
        if n % 1000 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


@router.get("/issues/export.csv")
def export_csv(f: Filters = Depends(filters), v: Viewer = Depends(viewer)) -> Response:
    """Exactly what the list shows under these filters, every page of it."""
    return StreamingResponse(
        _csv(_cells(v.engine, v.actor, f, v.lang)),
        media_type="text/csv; charset=utf-8",
        headers={**v.headers(), "Content-Disposition": 'attachment; filename="issues.csv"'},
    )


@router.get("/issues/export.xlsx")
def export_xlsx(f: Filters = Depends(filters), v: Viewer = Depends(viewer)) -> Response:
    """The same rows as a workbook (streamed to a temporary file, then sent and removed)."""
    import xlsxwriter

    fd, name = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    wb = xlsxwriter.Workbook(name, {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    ws = wb.add_worksheet("问题清单")
    for r, row in enumerate(_cells(v.engine, v.actor, f, v.lang)):
        ws.write_row(r, 0, row)
    wb.close()
    return FileResponse(
        name,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename="issues.xlsx",
        headers=v.headers(),
        background=BackgroundTask(os.unlink, name),
    )
