""".xlsx and .xls sheets read straight into Arrow by fastexcel (issue 28, item 1): the raw layer's cells, findings
and legacy conversions are those calamine's row path gives, and whatever fastexcel cannot give exactly takes
that path."""

import datetime as dt
import io
import pickle
import zipfile
from pathlib import Path

import pyarrow as pa
import pytest
import python_calamine
import xlsxwriter

from pipeline.lib.reader import formats, read_file, workbooks
from pipeline.lib.reader.sheets import HEAD_ROWS
from pipeline.lib.tablespecs import SOURCES
from tests.hostile_files import mail_rows, raw_xlsx, sheet_xml


def _read(path: Path, source: str, monkeypatch, arrow: bool):
    """`read_file`, through fastexcel (`arrow`) or through calamine's rows only; and which sheets fastexcel read."""
    loaded = []
    typed_below = workbooks.WorkbookSheet._typed_below

    def spy(self, start):
        typed = typed_below(self, start)
        loaded.append((self.name, typed is not None))
        return typed

    with monkeypatch.context() as patch:
        patch.setattr(workbooks.WorkbookSheet, "_typed_below", spy)
        if not arrow:
            patch.setattr(formats, "_head_and_loader", lambda *args: None)
        result = read_file(path, f"{source}/{path.name}", source, SOURCES[source])
    return result, loaded


def _same(a, b) -> None:
    assert a.outcome == b.outcome and a.reason == b.reason and a.sheets == b.sheets
    assert [f.__dict__ for f in a.findings] == [f.__dict__ for f in b.findings]
    assert [c.__dict__ for c in a.legacy] == [c.__dict__ for c in b.legacy]
    assert a.tables.keys() == b.tables.keys()
    for name in a.tables:
        assert a.tables[name].to_pylist() == b.tables[name].to_pylist(), name


def _numbers_dates_and_blanks(path: Path, rows: int = 40, leading_column: bool = True) -> Path:
    """A videoconf meetings sheet starting in column B below a title block: numbers of every shape, dates at
    midnight and with a time, yes/no cells, empty cells in each typed column."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Cuộc họp")
    day, moment = book.add_format({"num_format": "dd/mm/yyyy"}), book.add_format({"num_format": "dd/mm/yyyy hh:mm"})
    c = 1 if leading_column else 0
    sheet.write(0, c, "DANH SÁCH CUỘC HỌP TRỰC TUYẾN")
    sheet.write_row(2, c, ["STT", "Ngày họp", "Nội dung", "Số điểm cầu", "Ghi chú"])
    numbers = [12, 74.019, 1e16, 1e-05, 123456789.125, -3.5, 2.0**53, 0.1 + 0.2]
    for r in range(rows):
        row = 3 + r
        if r % 7 != 3:
            sheet.write_number(row, c, r + 1)
        if r % 5 == 2:
            sheet.write_datetime(row, c + 1, dt.datetime(2020, 4, 1 + r % 28, 8, 30), moment)
        else:
            sheet.write_datetime(row, c + 1, dt.datetime(2020, 4, 1 + r % 28), day)
        sheet.write_string(row, c + 2, f"Họp giao ban số {r}" if r % 9 else "  ")
        if r % 6 != 4:
            sheet.write_number(row, c + 3, numbers[r % len(numbers)])
        if r % 4 == 1:
            sheet.write_boolean(row, c + 4, bool(r % 8 == 1))
    book.close()
    return path


def test_a_workbook_read_into_arrow_gives_the_cells_calamine_gives(tmp_path, monkeypatch):
    path = _numbers_dates_and_blanks(tmp_path / "h.xlsx")
    arrow, loaded = _read(path, "videoconf", monkeypatch, arrow=True)
    rows, by_rows = _read(path, "videoconf", monkeypatch, arrow=False)
    assert loaded == [("Cuộc họp", True)] and by_rows == []
    _same(arrow, rows)
    cells = arrow.tables["meetings"].to_pylist()
    assert cells[1]["endpoint_count"] == {"text": "74.019", "type": "n"}
    assert cells[2]["endpoint_count"] == {"text": "1e+16", "type": "n"}
    assert cells[3]["meeting_date"] == {"text": "2020-04-04", "type": "d"}  # no time: a date
    assert cells[2]["meeting_date"] == {"text": "2020-04-03T08:30:00", "type": "d"}
    assert cells[4]["endpoint_count"] == {"text": "", "type": "s"}  # an empty cell, as calamine gives it
    assert [c["_row"] for c in cells[:3]] == [4, 5, 6]


def test_the_raw_layer_read_through_arrow_holds_its_own_buffers_not_the_whole_sheets(tmp_path, monkeypatch):
    """The reading child pickles the raw layer back: a table made of slices would carry every slice's whole
    buffers (ten times the data, measured at 10x before this was pinned)."""
    from pipeline.lib.reader import sheets

    monkeypatch.setattr(sheets, "CHUNK_ROWS", 16)
    path = _numbers_dates_and_blanks(tmp_path / "h.xlsx", rows=400, leading_column=False)
    arrow, loaded = _read(path, "videoconf", monkeypatch, arrow=True)
    by_rows, _ = _read(path, "videoconf", monkeypatch, arrow=False)
    assert loaded == [("Cuộc họp", True)]
    _same(arrow, by_rows)
    pickled = len(pickle.dumps(arrow.tables["meetings"]))
    assert pickled <= 1.2 * len(pickle.dumps(by_rows.tables["meetings"]))


def _meetings(path: Path, odd=None) -> Path:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Cuộc họp")
    day = book.add_format({"num_format": "dd/mm/yyyy"})
    sheet.write_row(0, 0, ["STT", "Ngày họp", "Nội dung", "Số điểm cầu"])
    for r in range(1, 40):
        sheet.write_row(r, 0, [r, None, f"Họp {r}", 74.019])
        sheet.write_datetime(r, 1, dt.datetime(2020, 4, 1 + r % 28), day)
    if odd:
        odd(sheet, book)
    book.close()
    return path


ODD = 30  # below the head rows (compared cell by cell with fastexcel's): only the rules catch what is odd there


def _durations(sheet, book):
    duration = book.add_format({"num_format": "[h]:mm"})
    for r in range(1, 40):
        sheet.write_number(r, 3, 1.5, duration)


@pytest.mark.parametrize("odd, why", [
    (lambda sheet, book: sheet.write_string(ODD, 3, "74.019"), "a number column holding the text 74.019"),
    (lambda sheet, book: sheet.write_datetime(ODD, 1, dt.datetime(1899, 12, 31, 10, 0),
                                              book.add_format({"num_format": "hh:mm"})), "a time of day"),
    (lambda sheet, book: sheet.write_number(ODD, 1, 1.5, book.add_format({"num_format": "[h]:mm"})), "a duration"),
    (_durations, "a column of durations"),
    (lambda sheet, book: sheet.write_number(ODD, 0, 7), "one more cell: still typed whole"),
    (lambda sheet, book: sheet.write_datetime(ODD, 1, dt.datetime(2020, 4, 1, 8, 30, 0, 123456),
                                              book.add_format({"num_format": "hh:mm:ss.000"})),
     "a fraction of a second, which both read to the millisecond"),
])
def test_what_arrow_cannot_give_exactly_is_read_with_each_cells_own_type(tmp_path, monkeypatch, odd, why):
    path = _meetings(tmp_path / "m.xlsx", odd)
    arrow, loaded = _read(path, "videoconf", monkeypatch, arrow=True)
    rows, _ = _read(path, "videoconf", monkeypatch, arrow=False)
    typed_whole = why.startswith(("one more", "a fraction"))
    assert loaded == [("Cuộc họp", typed_whole)], why
    _same(arrow, rows)
    cells = arrow.tables["meetings"].to_pylist()
    if "74.019" in why:
        assert cells[ODD - 1]["endpoint_count"] == {"text": "74.019", "type": "s"}
        assert cells[ODD - 2]["endpoint_count"] == {"text": "74.019", "type": "n"}
    if "fraction" in why:
        assert cells[ODD - 1]["meeting_date"] == {"text": "2020-04-01T08:30:00.123000", "type": "d"}


def test_an_xls_workbook_read_into_arrow_gives_the_cells_calamine_gives(tmp_path, monkeypatch):
    from pipeline.sample.writers import Sheet, write_xls

    path = tmp_path / "c.xls"
    headers = ["Số serial", "Tên thuê bao", "Loại thuê bao", "Cơ quan", "Thiết bị", "Ngày cấp", "Ngày hết hạn",
               "Ngày thu hồi", "Trạng thái"]
    rows = [[f"CFC06ECA8BA1{r:04d}", f"Người {r}", "Cá nhân", "Sở Y tế", "Token", dt.date(2019, 2, 1 + r % 27),
             dt.datetime(2022, 2, 1 + r % 27, 8 if r % 3 else 0, 30 if r % 3 else 0), None, "Đang hoạt động"]
            for r in range(30)]
    write_xls(path, Sheet("CTS", headers, rows, title=["SỔ THEO DÕI CHỨNG THƯ SỐ"], signature=True))
    arrow, loaded = _read(path, "certificates", monkeypatch, arrow=True)
    by_rows, _ = _read(path, "certificates", monkeypatch, arrow=False)
    assert loaded == [("CTS", True)]  # the signature block's lines land in text columns
    _same(arrow, by_rows)
    assert arrow.tables["certificates"].num_rows == 30
    write_xls(path, Sheet("CTS", headers, rows, title=["SỔ THEO DÕI CHỨNG THƯ SỐ"]))
    arrow, loaded = _read(path, "certificates", monkeypatch, arrow=True)
    by_rows, _ = _read(path, "certificates", monkeypatch, arrow=False)
    assert loaded == [("CTS", True)]
    _same(arrow, by_rows)
    assert arrow.tables["certificates"].num_rows == 30


def _sheet_xml(rows: list[str], prefix: str = "") -> bytes:
    p = f"{prefix}:" if prefix else ""
    ns = f'xmlns{":" + prefix if prefix else ""}="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    return (f'<?xml version="1.0"?><{p}worksheet {ns}><{p}sheetData>{"".join(rows)}</{p}sheetData>'
            f'<{p}mergeCells count="0"/></{p}worksheet>').encode()


@pytest.mark.parametrize("prefix, numbered", [("", True), ("x", True), ("", False)])
def test_the_head_copy_cuts_each_sheet_after_the_head_rows_and_calamine_reads_the_same_head(tmp_path, prefix, numbered):
    p = f"{prefix}:" if prefix else ""
    row_at = ' r="{}"' if numbered else ""
    cell_at = ' r="A{}"' if numbered else ""
    rows = [f'<{p}row{row_at.format(r)}><{p}c{cell_at.format(r)} t="inlineStr">'
            f"<{p}is><{p}t>dòng {r}</{p}t></{p}is></{p}c></{p}row>" for r in range(1, 200)]
    source = _numbers_dates_and_blanks(tmp_path / "s.xlsx")
    path = tmp_path / "cut.xlsx"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for info in original.infolist():
            body = original.read(info)
            book.writestr(info.filename, _sheet_xml(rows, prefix) if info.filename == "xl/worksheets/sheet1.xml" else body)
    head = zipfile.ZipFile(io.BytesIO(workbooks.head_workbook(path))).read("xl/worksheets/sheet1.xml")
    assert head.count(f"<{p}row".encode()) == HEAD_ROWS and head.endswith(f"</{p}sheetData></{p}worksheet>".encode())
    whole = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Cuộc họp").to_python()
    cut = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(workbooks.head_workbook(path)))
    assert cut.get_sheet_by_name("Cuộc họp").to_python() == whole[:HEAD_ROWS]


def test_a_sheet_broken_below_its_head_refuses_the_file_as_calamine_would(tmp_path, monkeypatch):
    source = _numbers_dates_and_blanks(tmp_path / "s.xlsx", rows=60)
    for name, cut_at in (("header.xlsx", 0.8), ("ignored.xlsx", 0.8)):
        path = tmp_path / name
        with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
            for info in original.infolist():
                body = original.read(info)
                if info.filename == "xl/worksheets/sheet1.xml":
                    body = body[:int(len(body) * cut_at)] + b"<c r=<<broken"
                    if name == "ignored.xlsx":
                        body = body.replace("Nội dung".encode(), b"Something else")
                book.writestr(info.filename, body)
        arrow, _ = _read(path, "videoconf", monkeypatch, arrow=True)
        by_rows, _ = _read(path, "videoconf", monkeypatch, arrow=False)
        assert arrow.outcome == "rejected" and arrow.findings[0].check_id == "unreadable_file", name
        _same(arrow, by_rows)


@pytest.mark.parametrize("rows, why", [
    (lambda: mail_rows(40) + '<row r="60"><c r="A60" t="inlineStr"><is><t>z@x.vn</t></is></c>'
     '<c r="B60" t="inlineStr"><is><t>Sở Y tế</t></is></c><c r="C60"><v>NaN</v></c></row>',
     "a NaN number below the head: no value, as calamine reads it"),
    (lambda: mail_rows(40).replace(' r="', ' q="'), "rows and cells without their numbers"),
    (lambda: mail_rows(40).replace("<t>Sở Y tế</t>", '<t><![CDATA[<row r="99">]]></t>', 1),
     "a row tag inside a text of the head: the cut copy breaks, calamine reads the whole file"),
    (lambda: mail_rows(40) + '<row r="70"><c r=', "XML broken below the table"),
    (lambda: mail_rows(40) + _mail_row(60, '<c r="C60" t="e"><v>#DIV/0!</v></c>'), "an error value below the head"),
    (lambda: mail_rows(40).replace('<c r="C3"><v>43924</v></c>', '<c r="C3" t="e"><v>#N/A</v></c>'),
     "an error value in the head's rows"),
    (lambda: mail_rows(40) + _mail_row(60, '<c r="C60"><f>1+1</f><v>43925</v></c>')
     + _mail_row(61, '<c r="C61"><f>1+1</f></c>'), "formulas: a cached value, and none"),
    (lambda: mail_rows(40) + _mail_row(60, '<c r="C60" t="str"><f>"x"</f><v>03/04/2020</v></c>'),
     "a formula's text result in the date column"),
    (lambda: mail_rows(40) + _mail_row(70) + _mail_row(60), "rows out of order"),
    (lambda: mail_rows(40) + _mail_row(41), "a row number given twice"),
    (lambda: mail_rows(40) + _mail_row(60, '<c r="C60" t="d"><v>2020-04-03T00:00:00</v></c>'), "an ISO date cell (t=d)"),
    (lambda: mail_rows(40) + _mail_row(60, '<c r="C60" t="b"><v>1</v></c>'), "a yes/no cell in the date column"),
    (lambda: mail_rows(40) + '<row r="60"><c r="A60" t="inlineStr"><is><t>z@x.vn</t></is></c><c r="B60" t="s">'
     '<v>99999</v></c></row>', "a shared string that is not in the table: the file is refused"),
])
def test_a_crafted_sheet_gives_the_findings_and_cells_calamine_gives(tmp_path, monkeypatch, rows, why):
    path = raw_xlsx(tmp_path / "crafted.xlsx", [sheet_xml(rows())])
    arrow, _ = _read(path, "mail", monkeypatch, arrow=True)
    by_rows, _ = _read(path, "mail", monkeypatch, arrow=False)
    _same(arrow, by_rows)
    assert arrow.outcome == ("rejected" if "broken" in why or "refused" in why else "loaded"), why


def _mail_row(row: int, date_cell: str | None = None) -> str:
    """One more mail record at sheet row `row`, its date cell as given (else a serial number)."""
    cells = (f'<c r="A{row}" t="inlineStr"><is><t>r{row}@travinh.gov.vn</t></is></c>'
             f'<c r="B{row}" t="inlineStr"><is><t>Sở Y tế</t></is></c>')
    date_cell = date_cell or f'<c r="C{row}"><v>43925</v></c>'
    return f'<row r="{row}">{cells}{date_cell}</row>'


def test_a_workbook_in_the_1904_date_system_gives_the_dates_calamine_gives(tmp_path, monkeypatch):
    path = tmp_path / "m1904.xlsx"
    book = xlsxwriter.Workbook(str(path), {"date_1904": True})
    sheet, day = book.add_worksheet("Cuộc họp"), book.add_format({"num_format": "dd/mm/yyyy"})
    sheet.write_row(0, 0, ["STT", "Ngày họp", "Nội dung", "Số điểm cầu"])
    for r in range(1, 40):
        sheet.write_row(r, 0, [r, None, f"Họp {r}", 5])
        sheet.write_datetime(r, 1, dt.datetime(2020, 4, 1 + r % 28), day)
    book.close()
    arrow, loaded = _read(path, "videoconf", monkeypatch, arrow=True)
    by_rows, _ = _read(path, "videoconf", monkeypatch, arrow=False)
    assert loaded == [("Cuộc họp", True)]
    _same(arrow, by_rows)
    assert arrow.tables["meetings"].to_pylist()[0]["meeting_date"] == {"text": "2020-04-02", "type": "d"}


def test_the_head_and_the_loaded_rows_must_line_up_or_calamine_reads_the_sheet():
    from pipeline.lib.reader.workbooks import _first_column

    loaded = pa.RecordBatch.from_pydict({"a": pa.array([1.0, 2.0]), "b": pa.array(["x", None])})
    head = [["", "STT", "Tên"], ["", 1.0, "x"], ["", 2.0, ""]]
    assert _first_column(head, 1, loaded) == 1  # fastexcel starts at the first used column: B
    assert _first_column(head + [["", 3.0, "y"]], 1, loaded) is None  # a row the loaded rows lack
    assert _first_column([["", "STT", "Tên"], ["", 1.0, "z"], ["", 2.0, ""]], 1, loaded) is None  # another cell
    assert _first_column([["", "STT", "Tên"], ["", "1", "x"], ["", 2.0, ""]], 1, loaded) is None  # another type
    assert _first_column([["", "STT", "Tên"]], 1, loaded) is None  # no row shared: nothing to line up by
