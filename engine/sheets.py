"""A problem list's cells, read from a CSV or XLSX file within bounds set before the cost.

Nothing is loaded whole.  A CSV is decoded and split as it streams; an XLSX's parts are
scanned in chunks *before* openpyxl opens them (the shared strings, which openpyxl keeps
in memory whole, are counted; a sheet's rows and cells are counted; a run of text longer
than a cell can hold is refused), then the first sheet is read row by row.  Every bound
is checked as the rows come, so an oversized file is refused after reading no more than
the bound: rows (:data:`MAX_ROWS`), columns (:data:`MAX_COLUMNS`), one cell
(:data:`EXCEL_CELL`, what Excel itself holds) and the text of the whole list
(:data:`MAX_TEXT`).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..i18n import Text

MAX_ROWS = 200_000
HEADER_ROWS = 10  # a title and a header over two rows fit well inside
MAX_COLUMNS = 200  # a problem list has a dozen
EXCEL_CELL = 32_767  # the most characters Excel keeps in one cell
MAX_TEXT = 64_000_000  # characters in a whole list: 200,000 rows of 300 characters fit
MAX_XLSX_UNPACKED = 1 << 30  # 1 GB unpacked: a 200,000-row list is a fraction of it
MAX_SHARED_STRINGS = 1_200_000  # six distinct texts a row for 200,000 rows (100,000 rows: 300,000)
MAX_SHARED_XML = 96 << 20  # the shared strings of 100,000 rows take some 21 MB
MAX_SHEET_XML = 512 << 20  # a sheet of 100,000 rows takes some 38 MB
MAX_SHEET_CELLS = 16_384  # cells in one row: Excel's last column is XFD
CHUNK = 1 << 20


@dataclass(frozen=True)
class RowError:
    """One thing wrong with a list: where (the row as a spreadsheet numbers it, the item's
    序号 when it has one, the column) and why."""

    row: int
    column: str
    reason: Text
    no: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"row": self.row, "column": self.column, "reason": self.reason.to_dict()}
        if self.no:
            out["no"] = self.no
        return out

    def render(self, lang: str | None = None) -> str:
        return f"{where(self.row, self.no, lang)} [{self.column}] {self.reason.render(lang)}"


def where(row: int, no: str | None, lang: str | None = None) -> str:
    """``第 8 行（序号 7）`` / ``row 8 (no. 7)``: the row as Excel numbers it and the item's 序号."""
    if (lang or "zh") == "zh":
        return f"第 {row} 行（序号 {no}）" if no else f"第 {row} 行"
    return f"row {row} (no. {no})" if no else f"row {row}"


class ImportRefused(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} errors")
        self.errors = errors


MAX_MERGED = 20_000  # merged ranges in one sheet (a list merges its headers and a problem's cells)
MAX_MERGED_CELLS = 4_000_000  # cells those ranges may fill, in all: a few KB must not cost minutes

def refuse(row: int, zh: str, en: str) -> ImportRefused:
    return ImportRefused([RowError(row, "-", Text(zh, en))])


def read_table(path: Path, *, encoding: str | None = None) -> tuple[list[list[Any]], int]:
    """The file's rows as lists of cell values (row ``n`` of the sheet at index ``n - 1``),
    and the row number of the first data row (0: found with the header)."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        try:
            return _read_xlsx(path), 0
        except (ImportRefused, OSError):
            raise
        except Exception as exc:  # a damaged workbook fails in any of zipfile, XML or openpyxl
            raise refuse(
                0,
                f"无法读取 XLSX 文件（文件已损坏或不是 Excel 工作簿）：{type(exc).__name__}",
                f"cannot read the XLSX file (damaged, or not an Excel workbook): {type(exc).__name__}",
            ) from None
    if suffix in (".csv", ".txt"):
        return _read_csv(path, encoding), 2
    raise refuse(
        0, f"不支持的文件类型 {suffix}（支持 .csv、.xlsx）", f"unsupported file type {suffix} (use .csv or .xlsx)"
    )


class _Bounds:
    """The bounds a list is read within, checked row by row as it streams."""

    def __init__(self) -> None:
        self.rows: list[list[Any]] = []
        self.text = 0

    def add(self, row: list[Any]) -> None:
        number = len(self.rows) + 1
        if number > MAX_ROWS + HEADER_ROWS:  # reading on would only cost memory
            raise refuse(0, f"超过 {MAX_ROWS} 行", f"more than {MAX_ROWS} rows")
        row = _clip_row(row, number)
        for j, v in enumerate(row):
            if isinstance(v, str):
                if len(v) > EXCEL_CELL:
                    raise ImportRefused(
                        [
                            RowError(
                                number,
                                f"第 {j + 1} 列 / column {j + 1}",
                                Text(
                                    f"单元格超过 {EXCEL_CELL} 字（Excel 单元格的上限）",
                                    f"a cell holds more than {EXCEL_CELL} characters (what Excel allows)",
                                ),
                            )
                        ]
                    )
                self.text += len(v)
        if self.text > MAX_TEXT:
            raise refuse(number, f"清单文字超过 {MAX_TEXT} 字", f"the list holds more than {MAX_TEXT} characters")
        self.rows.append(row)


def _read_csv(path: Path, encoding: str | None) -> list[list[Any]]:
    """Decoded and split as it streams: UTF-8 (with or without BOM) first, then GB18030
    (what Excel on a Chinese Windows saves); a file that is neither is read once more only
    up to the first byte that is not UTF-8."""
    tried = [encoding] if encoding else ["utf-8-sig", "gb18030"]
    for enc in tried:
        try:
            with path.open("rb") as raw, io.TextIOWrapper(raw, encoding=enc, newline="") as text:
                return _csv_rows(text)
        except (UnicodeDecodeError, LookupError):
            continue
    raise refuse(
        0,
        f"无法识别文件编码（已尝试 {', '.join(tried)}），请用 --encoding 指定",
        f"cannot tell the file's encoding (tried {', '.join(tried)}); name it with --encoding",
    )


def _csv_rows(text: Iterable[str]) -> list[list[Any]]:
    bounds = _Bounds()
    reader = csv.reader(text)
    try:
        for row in reader:
            bounds.add(list(row))
    except csv.Error as exc:  # a field beyond the csv module's limit, a stray quote
        raise refuse(
            reader.line_num, f"无法读取 CSV：{exc}（内容过长或引号不配对）", f"cannot read the CSV: {exc}"
        ) from None
    return bounds.rows


def _read_xlsx(path: Path) -> list[list[Any]]:
    """The first sheet; merged cells (a title row above, a header spanning two rows, a 序号
    merged down the rows of one problem's measures) are filled from their top-left cell.

    Read in openpyxl's streaming mode: a workbook loaded whole costs some 6 KB per cell
    (650 MB for a 100,000-row list).  Streaming mode does not report merged ranges, so they
    are read from the sheet's own XML, which lists them after the rows."""
    import openpyxl
    from openpyxl.utils.cell import range_boundaries

    with zipfile.ZipFile(path) as z:  # a small file may unpack to gigabytes (a zip bomb)
        _scan_parts(z)
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        ws.reset_dimensions()  # streaming mode trusts the file's <dimension>, which some tools write stale
        bounds = _Bounds()
        for r in ws.iter_rows(values_only=True):
            bounds.add(list(r))
        rows = bounds.rows
        width = max((len(r) for r in rows), default=0)
        for r in rows:  # without a trusted dimension, rows come as long as their last cell
            r.extend([None] * (width - len(r)))
        sheet_xml = ws._worksheet_path  # where openpyxl found the first sheet in the archive
    finally:
        wb.close()
    merged = [range_boundaries(ref) for ref in _merged_refs(path, sheet_xml)]
    if len(merged) > MAX_MERGED:
        raise refuse(0, f"合并单元格区域超过 {MAX_MERGED} 个", f"more than {MAX_MERGED} merged ranges")
    filled = 0
    for min_col, min_row, max_col, max_row in merged:
        if min_row - 1 >= len(rows) or min_col - 1 >= len(rows[min_row - 1]):
            continue
        value = rows[min_row - 1][min_col - 1]
        last_row = min(max_row, len(rows))
        last_col = min(max_col, width)  # no row is wider than the table: a range to XFD costs no more
        filled += max(0, last_row - min_row + 1) * max(0, last_col - min_col + 1)
        if filled > MAX_MERGED_CELLS:
            raise refuse(
                0, f"合并单元格覆盖超过 {MAX_MERGED_CELLS} 格", f"merged ranges cover more than {MAX_MERGED_CELLS} cells"
            )
        for r in range(min_row, last_row + 1):
            row = rows[r - 1]
            row[min_col - 1 : last_col] = [value] * max(0, last_col - min_col + 1)
    return rows


def _clip_row(row: list[Any], number: int) -> list[Any]:
    """A row cut to ``MAX_COLUMNS``: one stray cell in column XFD must not make every row
    16,384 cells long.  Anything written beyond the limit is refused, never dropped."""
    if len(row) <= MAX_COLUMNS:
        return row
    if any(v not in (None, "") for v in row[MAX_COLUMNS:]):
        raise refuse(
            number, f"第 {number} 行超过 {MAX_COLUMNS} 列", f"row {number} has more than {MAX_COLUMNS} columns"
        )
    return row[:MAX_COLUMNS]


# --- the parts of a workbook, scanned before they are parsed ----------------------------------

PREFIX = re.compile(rb"<(/?)[A-Za-z_][\w.-]*:")
#: a run of text without a tag this long (128 KB) is refused, and one twice as long always is:
#: a cell's 32,767 characters take at most 98 KB in UTF-8
WINDOW = 1 << 17


def _scan_parts(z: zipfile.ZipFile) -> None:
    """Refuse a workbook whose parts would cost more than a list can need, reading each in
    1 MB chunks: the sizes zipfile will not read past, the shared strings' count, each sheet's
    rows and cells per row, and the longest run of text."""
    infos = z.infolist()
    unpacked = sum(i.file_size for i in infos)
    if unpacked > MAX_XLSX_UNPACKED:
        raise refuse(
            0,
            f"工作簿解压后 {unpacked >> 20} MB，超过上限 {MAX_XLSX_UNPACKED >> 20} MB",
            f"the workbook unpacks to {unpacked >> 20} MB, over the {MAX_XLSX_UNPACKED >> 20} MB limit",
        )
    for info in infos:
        name = info.filename.lower()
        if name.endswith("sharedstrings.xml"):
            _scan_part(z, info, MAX_SHARED_XML, Text("共享字符串", "shared strings"))
        elif name.startswith("xl/worksheets/") and name.endswith(".xml"):
            _scan_part(z, info, MAX_SHEET_XML, Text("工作表", "sheet"))


def _scan_part(z: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, what: Text) -> None:
    """One part in 1 MB chunks, counted with byte searches (a regular expression over every
    tag took seconds for a 100,000-row sheet): rows, cells in each row, shared strings, and
    whether some text runs on without a tag for longer than a cell can hold."""
    part = f"{what.zh} {info.filename}", f"the {what.en} {info.filename}"
    if info.file_size > limit:
        raise refuse(
            0,
            f"{part[0]} 解压后 {info.file_size >> 20} MB，超过上限 {limit >> 20} MB",
            f"{part[1]} unpack to {info.file_size >> 20} MB, over the {limit >> 20} MB limit",
        )
    rows = strings = in_row = 0  # in_row: the cells of the row still open where the scan stopped
    tail = b""
    with z.open(info) as f:
        while chunk := f.read(CHUNK):
            data = tail + chunk
            # text twice the window long fills one aligned window without a tag
            if any(data.find(b"<", p, p + WINDOW) < 0 for p in range(0, len(data) - WINDOW + 1, WINDOW)):
                raise refuse(
                    0,
                    f"{part[0]} 中有超过 {EXCEL_CELL} 字的文字（Excel 单元格的上限）",
                    f"{part[1]} hold a text longer than {EXCEL_CELL} characters (what Excel allows in a cell)",
                )
            cut = data.rfind(b"<")  # every tag before the last "<" is whole
            body, tail = (data[:cut], data[cut:]) if cut >= 0 else (b"", data)
            if any(name in body for name in (b":row", b":c ", b":c>", b":c/", b":si")):  # a prefix: <x:row>
                body = PREFIX.sub(rb"<\1", body)
            strings += body.count(b"<si>") + body.count(b"<si ")
            for k, piece in enumerate(body.split(b"<row")):
                if k:
                    rows, in_row = rows + 1, 0
                in_row += piece.count(b"<c ") + piece.count(b"<c>") + piece.count(b"<c/")
                if in_row > MAX_SHEET_CELLS:
                    raise refuse(
                        rows,
                        f"第 {rows} 行超过 {MAX_SHEET_CELLS} 个单元格",
                        f"row {rows} has more than {MAX_SHEET_CELLS} cells",
                    )
            if rows > MAX_ROWS + HEADER_ROWS:
                raise refuse(0, f"超过 {MAX_ROWS} 行", f"more than {MAX_ROWS} rows")
            if strings > MAX_SHARED_STRINGS:
                raise refuse(
                    0,
                    f"{part[0]} 超过 {MAX_SHARED_STRINGS} 条",
                    f"{part[1]} hold more than {MAX_SHARED_STRINGS} entries",
                )


MERGE_REF = re.compile(rb'<(?:\w+:)?mergeCell\s[^>]*?ref="([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)"')


def _merged_refs(path: Path, member: str) -> list[str]:
    """The ``ref`` of every ``<mergeCell>`` in a sheet's XML, found by a scan of the raw
    bytes in chunks (a second XML parse of a 100,000-row sheet would cost seconds)."""
    refs: list[str] = []
    tail = b""
    with zipfile.ZipFile(path) as z, z.open(member) as f:
        while chunk := f.read(CHUNK):
            data = tail + chunk
            last = 0
            for m in MERGE_REF.finditer(data):
                refs.append(m.group(1).decode("ascii"))
                last = m.end()
            tail = data[max(last, len(data) - 256) :]  # a tag cut by the chunk boundary
    return refs
