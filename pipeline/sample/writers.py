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
    column_numbers: bool = False
    total_row: list[Any] | None = None
    signature: bool = False
    hidden: bool = False
    two_row_header: list[tuple[str, list[str]]] | None = None  # (parent, children) per column group
    free_text: list[str] | None = None  # a sheet of plain lines (instructions)


FIXED_CREATED = dt.datetime(2020, 7, 3, 8, 30)
SIGNATURE = [
    [],
    ["", "", "Trà Vinh, ngày 03 tháng 7 năm 2020"],
    ["Người lập biểu", "", "GIÁM ĐỐC"],
    [],
    ["Trần Thị Mỹ Linh", "", "Nguyễn Văn Chuẩn"],
]


def write_xlsx(path: Path, sheets: list[Sheet]) -> dict[str, list[int]]:
    """Write `sheets`; return sheet name -> Excel row number of each data row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path), {"default_date_format": "dd/mm/yyyy", "strings_to_numbers": False,
                                           "strings_to_formulas": False, "strings_to_urls": False})
    book.set_properties({"created": FIXED_CREATED})  # same seed, same bytes: no clock in the file
    bold = book.add_format({"bold": True, "align": "center", "valign": "vcenter", "text_wrap": True, "border": 1})
    title_format = book.add_format({"bold": True, "align": "center"})
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
        width = len(sheet.headers) if sheet.two_row_header is None else sum(max(1, len(c)) for _, c in sheet.two_row_header)
        r = 0
        for line in sheet.title:
            if line:
                if width > 1:
                    ws.merge_range(r, 0, r, width - 1, line, title_format)
                else:
                    ws.write_string(r, 0, line, title_format)
            r += 1
        if sheet.two_row_header is not None:
            c = 0
            for parent, children in sheet.two_row_header:
                if children:
                    ws.merge_range(r, c, r, c + len(children) - 1, parent, bold)
                    for i, child in enumerate(children):
                        ws.write_string(r + 1, c + i, child, bold)
                    c += len(children)
                else:
                    ws.merge_range(r, c, r + 1, c, parent, bold)
                    c += 1
            r += 2
        else:
            for c, label in enumerate(sheet.headers):
                ws.write_string(r, c, label, bold)
            r += 1
        if sheet.column_numbers:
            for c in range(width):
                ws.write_string(r, c, f"({c + 1})")
            r += 1
        rows = []
        for values in sheet.rows:
            for c, value in enumerate(values):
                _write_cell(ws, r, c, value)
            rows.append(r + 1)
            r += 1
        if sheet.total_row is not None:
            for c, value in enumerate(sheet.total_row):
                _write_cell(ws, r, c, value)
            rows.append(r + 1)
            r += 1
        if sheet.signature:
            for line in SIGNATURE:
                for c, value in enumerate(line):
                    if value:
                        ws.write_string(r, c, value)
                r += 1
        ws.set_column(0, width - 1, 18)
        positions[sheet.name] = rows
    book.close()
    return positions


def _write_cell(ws, r: int, c: int, value: Any) -> None:
    if value is None or value == "":
        return
    if isinstance(value, str):
        ws.write_string(r, c, value)
    else:
        ws.write(r, c, value)


def write_xls(path: Path, sheet: Sheet) -> list[int]:
    """A legacy BIFF8 workbook (what old desktop software still exports)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet(sheet.name)
    date_style = xlwt.easyxf(num_format_str="dd/mm/yyyy")
    bold = xlwt.easyxf("font: bold on; align: wrap on, horiz center")
    r = 0
    for line in sheet.title:
        if line:
            ws.write_merge(r, r, 0, len(sheet.headers) - 1, line, bold)
        r += 1
    for c, label in enumerate(sheet.headers):
        ws.write(r, c, label, bold)
    r += 1
    rows = []
    for values in sheet.rows:
        for c, value in enumerate(values):
            if isinstance(value, dt.date):
                ws.write(r, c, value, date_style)
            elif value is not None:
                ws.write(r, c, value)
        rows.append(r + 1)
        r += 1
    book.save(str(path))
    return rows


def write_html_xls(path: Path, sheet: Sheet) -> list[int]:
    """An HTML table saved with an `.xls` name, as web systems' "Xuất Excel" buttons produce."""
    path.parent.mkdir(parents=True, exist_ok=True)
    width = len(sheet.headers)
    parts = ['<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body>',
             '<table border="1">']
    r = 0
    for line in sheet.title:
        parts.append(f'<tr><td colspan="{width}"><b>{html.escape(line)}</b></td></tr>')
        r += 1
    parts.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in sheet.headers) + "</tr>")
    r += 1
    rows = []
    for values in sheet.rows:
        cells = "".join(f"<td>{'' if v is None else html.escape(str(v))}</td>" for v in values)
        parts.append(f"<tr>{cells}</tr>")
        rows.append(r + 1)
        r += 1
    parts.append("</table></body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")
    return rows
