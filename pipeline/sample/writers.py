"""Writing sample exports the way agencies' systems produce them: xlsx with title blocks, legacy xls,
and HTML tables saved with an `.xls` name. Each writer returns the Excel row of every data row written,
so the generator can name planted defects by their location."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xlsxwriter
import xlwt


@dataclass
class Sheet:
    name: str
    headers: list[str]
    rows: list[list[Any]]
    title: list[str] = field(default_factory=list)  # lines above the header, merged across the table
    column_numbers: bool | Any = False  # True: `(1) (2) …`; or a function of the column index
    total_row: list[Any] | None = None
    signature: bool | list[list[Any]] = False  # True: the usual block; or its rows
    hidden: bool = False
    two_row_header: list[tuple[str, list[str]]] | None = None  # (parent, children) per column group
    free_text: list[str] | None = None  # a sheet of plain lines (instructions)
    font: str | None = None  # the font of its text cells, as an old template sets it (`.VnTime`, `VNI-Times`)


FIXED_CREATED = dt.datetime(2020, 7, 3, 8, 30)
SIGNATURE = [
    [],
    ["", "", "Trà Vinh, ngày 03 tháng 7 năm 2020"],
    ["Người lập biểu", "", "GIÁM ĐỐC"],
    [],
    ["Trần Thị Mỹ Linh", "", "Nguyễn Văn Chuẩn"],
]


@dataclass
class Grid:
    """A sheet laid out as cells: what every format writes the same way."""

    rows: list[list[Any]]
    merges: list[tuple[int, int, int, int]]  # first row, first column, last row, last column (0-based)
    bold_rows: set[int]
    data_rows: list[int]  # Excel row number of each data row (and of the total row)
    width: int

    def merge_ranges(self):
        """(first row, first column, last row, last column, text) of each merged range."""
        for r0, c0, r1, c1 in self.merges:
            yield r0, c0, r1, c1, self.rows[r0][c0] if c0 < len(self.rows[r0]) else ""

    def cells(self):
        """(row, column, value, bold) of every cell outside the merged ranges that holds something."""
        covered = {(r, c) for r0, c0, r1, c1 in self.merges for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)}
        for r, values in enumerate(self.rows):
            for c, value in enumerate(values):
                if (r, c) not in covered and value is not None and value != "":
                    yield r, c, value, r in self.bold_rows


def layout(sheet: Sheet) -> Grid:
    """Title block (merged), header (one or two rows), column numbers, data, total row, signature block."""
    width = len(sheet.headers) if sheet.two_row_header is None else sum(max(1, len(c)) for _, c in sheet.two_row_header)
    rows: list[list[Any]] = []
    merges, bold = [], set()
    for line in sheet.title:
        if line and width > 1:
            merges.append((len(rows), 0, len(rows), width - 1))
        bold.add(len(rows))
        rows.append([line] if line else [])
    if sheet.two_row_header is not None:
        top, below, c = [], [], 0
        for parent, children in sheet.two_row_header:
            if children:
                merges.append((len(rows), c, len(rows), c + len(children) - 1))
                top += [parent] + [None] * (len(children) - 1)
                below += list(children)
                c += len(children)
            else:
                merges.append((len(rows), c, len(rows) + 1, c))
                top.append(parent)
                below.append(None)
                c += 1
        bold |= {len(rows), len(rows) + 1}
        rows += [top, below]
    else:
        bold.add(len(rows))
        rows.append(list(sheet.headers))
    if sheet.column_numbers:
        rows.append([f"({c + 1})" if sheet.column_numbers is True else sheet.column_numbers(c) for c in range(width)])
    data_rows = []
    for values in sheet.rows + ([sheet.total_row] if sheet.total_row is not None else []):
        data_rows.append(len(rows) + 1)
        rows.append(list(values))
    if sheet.signature:
        rows += [list(line) for line in (sheet.signature if isinstance(sheet.signature, list) else SIGNATURE)]
    return Grid(rows, merges, bold, data_rows, width)


def write_xlsx(path: Path, sheets: list[Sheet]) -> dict[str, list[int]]:
    """Write `sheets`; return sheet name -> Excel row number of each data row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path), {"default_date_format": "dd/mm/yyyy", "strings_to_numbers": False,
                                           "strings_to_formulas": False, "strings_to_urls": False})
    book.set_properties({"created": FIXED_CREATED})  # same seed, same bytes: no clock in the file
    bold = book.add_format({"bold": True, "align": "center", "valign": "vcenter", "text_wrap": True, "border": 1})
    positions: dict[str, list[int]] = {}
    for sheet in sheets:
        ws = book.add_worksheet(sheet.name)
        if sheet.hidden:
            ws.hide()
        if sheet.free_text is not None:
            for r, line in enumerate(sheet.free_text):
                ws.write_string(r, 0, line)
            positions[sheet.name] = []
            continue
        grid = layout(sheet)
        plain, strong_format = (None, bold) if sheet.font is None else (
            book.add_format({"font_name": sheet.font}), book.add_format({"bold": True, "align": "center", "font_name": sheet.font}))
        for r0, c0, r1, c1, text in grid.merge_ranges():
            ws.merge_range(r0, c0, r1, c1, text, strong_format)
        for r, c, value, strong in grid.cells():
            _write_cell(ws, r, c, value, strong_format if strong else (plain if isinstance(value, str) else None))
        ws.set_column(0, max(grid.width - 1, 0), 18)
        positions[sheet.name] = grid.data_rows
    book.close()
    return positions


def _write_cell(ws, r: int, c: int, value: Any, cell_format=None) -> None:
    if value is None or value == "":
        return
    if isinstance(value, str):
        ws.write_string(r, c, value, cell_format)
    else:
        ws.write(r, c, value, cell_format)


def write_xls(path: Path, sheets: Sheet | list[Sheet]) -> list[int] | dict[str, list[int]]:
    """A legacy BIFF8 workbook (what old desktop software still exports). One sheet: its data rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlwt.Workbook(encoding="utf-8")
    date_style = xlwt.easyxf(num_format_str="dd/mm/yyyy")
    datetime_style = xlwt.easyxf(num_format_str="dd/mm/yyyy hh:mm")
    positions = {}
    for sheet in [sheets] if isinstance(sheets, Sheet) else sheets:
        ws = book.add_sheet(sheet.name)
        if sheet.hidden:
            ws.visibility = 1
        if sheet.free_text is not None:
            for r, line in enumerate(sheet.free_text):
                ws.write(r, 0, line)
            positions[sheet.name] = []
            continue
        grid = layout(sheet)
        font = f"font: name {sheet.font}" if sheet.font else ""
        strong_style = xlwt.easyxf(f"font: bold on{', name ' + sheet.font if sheet.font else ''}; align: wrap on, horiz center")
        text_style = xlwt.easyxf(font) if font else xlwt.Style.default_style
        for r0, c0, r1, c1, text in grid.merge_ranges():
            ws.write_merge(r0, r1, c0, c1, text, strong_style)
        for r, c, value, strong in grid.cells():
            if isinstance(value, dt.datetime):
                ws.write(r, c, value, datetime_style)
            elif isinstance(value, dt.date):
                ws.write(r, c, value, date_style)
            else:
                ws.write(r, c, value, strong_style if strong else (text_style if isinstance(value, str) else xlwt.Style.default_style))
        positions[sheet.name] = grid.data_rows
    book.save(str(path))
    return positions[sheets.name] if isinstance(sheets, Sheet) else positions


def write_html_xls(path: Path, sheets: Sheet | list[Sheet]) -> list[int] | dict[str, list[int]]:
    """An HTML table saved with an `.xls` name, as web systems' "Xuất Excel" buttons produce (one table a sheet)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    parts = ['<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body>']
    positions = {}
    for sheet in [sheets] if isinstance(sheets, Sheet) else sheets:
        parts.append('<table border="1">')
        if sheet.free_text is not None:
            parts += [f"<tr><td>{html.escape(line)}</td></tr>" for line in sheet.free_text]
            parts.append("</table>")
            positions[sheet.name] = []
            continue
        grid = layout(sheet)
        spans = {(r0, c0): (r1 - r0 + 1, c1 - c0 + 1) for r0, c0, r1, c1 in grid.merges}
        covered = {(r, c) for r0, c0, r1, c1 in grid.merges for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)} - set(spans)
        for r, values in enumerate(grid.rows):
            cells = []
            for c, value in enumerate(values):
                if (r, c) in covered:
                    continue
                rowspan, colspan = spans.get((r, c), (1, 1))
                attributes = (f' rowspan="{rowspan}"' if rowspan > 1 else "") + (f' colspan="{colspan}"' if colspan > 1 else "")
                tag = "th" if r in grid.bold_rows else "td"
                text = "" if value is None else html.escape(_html_text(value))
                if sheet.font and isinstance(value, str):
                    text = f'<font face="{html.escape(sheet.font)}">{text}</font>'
                cells.append(f"<{tag}{attributes}>{text}</{tag}>")
            parts.append(f"<tr>{''.join(cells)}</tr>")
        parts.append("</table>")
        positions[sheet.name] = grid.data_rows
    parts.append("</body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")
    return positions[sheets.name] if isinstance(sheets, Sheet) else positions


def _html_text(value: Any) -> str:
    """A value as a web export prints it: dates day first."""
    if isinstance(value, dt.datetime):
        return f"{value:%d/%m/%Y %H:%M}"
    if isinstance(value, dt.date):
        return f"{value:%d/%m/%Y}"
    return str(value)


WRITERS = {"xlsx": write_xlsx, "xls": write_xls, "html": write_html_xls}


def write_file(path: Path, fmt: str, sheets: list[Sheet]) -> dict[str, list[int]]:
    """`sheets` in the format `fmt` (xlsx, xls or html), whatever the name of `path`."""
    return WRITERS[fmt](path, sheets)
