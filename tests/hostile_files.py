"""Hostile exports of many shapes, built here (standard library, xlsxwriter, xlwt) so the suite does not need
../shared: each one either aborts, exhausts or stalls a native reader, or lies about its own size.

`HOSTILE` maps a file name to (builder, a fragment of the reason its finding must give).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import xlsxwriter
import xlwt

from pipeline.lib.reader import column_letter

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
SST = f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{NS}" count="1" uniqueCount="1"><si><t>STT</t></si></sst>'


def raw_xlsx(path: Path, sheets: list[str], shared: str = SST) -> Path:
    """A minimal workbook from sheet XML bodies, written by hand so that it can lie."""
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, len(sheets) + 1))
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        f'{overrides}<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        "_rels/.rels": f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}"><Relationship Id="rId1" '
        f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{NS}" xmlns:r="{REL}"><sheets>'
        + "".join(f'<sheet name="Sheet{i}" sheetId="{i}" r:id="rId{i}"/>' for i in range(1, len(sheets) + 1))
        + "</sheets></workbook>",
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}">'
        + "".join(f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>' for i in range(1, len(sheets) + 1))
        + f'<Relationship Id="rIdS" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        "xl/sharedStrings.xml": shared,
    }
    parts.update({f"xl/worksheets/sheet{i}.xml": body for i, body in enumerate(sheets, start=1)})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return path


def sheet_xml(rows: str, dimension: str | None = None) -> str:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{NS}">{dim}<sheetData>{rows}</sheetData></worksheet>'


MAIL_HEADER = ["Địa chỉ thư điện tử", "Đơn vị", "Ngày tạo"]


def mail_rows(count: int) -> str:
    """A mail export's header and `count` rows as sheet XML (inline strings, the date as a serial number)."""
    def text(ref: str, value: str) -> str:
        return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'
    header = '<row r="1">' + "".join(text(f"{c}1", label) for c, label in zip("ABC", MAIL_HEADER)) + "</row>"
    return header + "".join(f'<row r="{r}">{text(f"A{r}", f"a{r}@travinh.gov.vn")}{text(f"B{r}", "Sở Y tế")}'
                            f'<c r="C{r}"><v>43924</v></c></row>' for r in range(2, count + 2))


def _far_cell_second_sheet(path: Path) -> Path:
    """A valid mail export on its first sheet; the second sheet holds one cell at XFD1048576."""
    book = xlsxwriter.Workbook(str(path))
    first = book.add_worksheet("HT")
    for r, row in enumerate([MAIL_HEADER, ["a@travinh.gov.vn", "Sở Y tế", "03/04/2020"]]):
        first.write_row(r, 0, row)
    notes = book.add_worksheet("Ghi chú")
    notes.write(0, 0, "Ghi chú")
    notes.write(1048575, 16383, 1)
    book.close()
    return path


def _far_cell_xls(path: Path) -> Path:
    """BIFF8 holds at most 65536 x 256 cells: its far corner makes a dense range of 16.7 M cells."""
    book = xlwt.Workbook()
    sheet = book.add_sheet("HT")
    for c, label in enumerate(MAIL_HEADER):
        sheet.write(0, c, label)
    sheet.write(65535, 255, 1)
    book.save(str(path))
    return path


def _entity_expansion(path: Path) -> Path:
    entities = "".join('<!ENTITY e%d "%s">' % (i, ("&e%d;" % (i - 1)) * 10) for i in range(1, 10))
    body = (f'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE worksheet [<!ENTITY e0 "ha">{entities}]>'
            f'<worksheet xmlns="{NS}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&e9;</t></is></c></row></sheetData></worksheet>')
    return raw_xlsx(path, [body])


def _html_spans(path: Path) -> Path:
    path.write_text("<html><body><table>" + "<tr><td colspan=99999 rowspan=99999>x</td></tr>" * 200
                    + "</table></body></html>", encoding="utf-8")
    return path


def _html_nested(path: Path) -> Path:
    path.write_text("<html><body>" + "<table><tr><td>" * 20000 + "x" + "</td></tr></table>" * 20000 + "</body></html>",
                    encoding="utf-8")
    return path


def _write(data: bytes):
    def build(path: Path) -> Path:
        path.write_bytes(data)
        return path
    return build


HOSTILE = {
    "far_cell_no_dimension.xlsx": (lambda p: raw_xlsx(p, [sheet_xml(
        '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')]), "bộ nhớ"),
    "far_cell_lying_dimension.xlsx": (lambda p: raw_xlsx(p, [sheet_xml(
        '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="1048000"><c r="XFA1048000"><v>1</v></c></row>', "A1:B2")]), "bộ nhớ"),
    "far_cell_second_sheet.xlsx": (_far_cell_second_sheet, "bộ nhớ"),
    "far_cell_below_a_header.xlsx": (lambda p: raw_xlsx(p, [sheet_xml(mail_rows(40) + (
        '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'))]), "bộ nhớ"),  # fastexcel loads below the header
    "far_cell.xls": (_far_cell_xls, "cột"),
    "shared_string_count_bomb.xlsx": (lambda p: raw_xlsx(p, [sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>')],
        f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{NS}" count="2147483647" uniqueCount="2147483647"><si><t>STT</t></si></sst>'),
        "bộ nhớ"),
    "shared_string_out_of_range.xlsx": (lambda p: raw_xlsx(p, [sheet_xml('<row r="1"><c r="A1" t="s"><v>999999999</v></c></row>')]),
                                        "shared strings"),
    "entity_expansion.xlsx": (_entity_expansion, "entity"),
    "deep_nesting.xlsx": (lambda p: raw_xlsx(p, [sheet_xml('<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>'
                                                           + "<x>" * 100000 + "</x>" * 100000)]), "tệp không được nạp"),
    "too_many_columns.xlsx": (lambda p: raw_xlsx(p, [sheet_xml('<row r="1">' + "".join(
        f'<c r="{column_letter(i)}1"><v>{i}</v></c>' for i in range(20000)) + "</row>")]), "cột"),
    "html_spans.xls": (_html_spans, "cột"),
    "html_nested_tables.xls": (_html_nested, "tệp không được nạp"),
    "pk_header_then_noise.xlsx": (_write(b"PK\x03\x04" + bytes((i * 7919 + 13) % 256 for i in range(40000))), "zip"),
    "ole2_header_only.xls": (_write(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504), "xls"),
}


def write_hostile(folder: Path, names=None) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [builder(folder / name) for name, (builder, _) in HOSTILE.items() if names is None or name in names]
