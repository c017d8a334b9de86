"""The generic reader on small constructed files: formats from bytes, headers, bad input as findings."""

import datetime as dt
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import xlsxwriter

from assets.ingest.stage_in_sql import read_staged as read_file
from pipeline.lib.raw_layer import list_source_files
from pipeline.lib.tablespecs import SOURCES


def _records(frame):
    """A table read from a file as one dict per row, missing values as None."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _xlsx(path: Path, rows: list[list]) -> Path:
    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    sheet = book.add_worksheet("Sheet1")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write(r, c, value)
    book.close()
    return path


def test_title_block_column_numbers_total_and_signature_are_not_data(tmp_path):
    path = _xlsx(tmp_path / "a.xlsx", [
        ["DANH SÁCH HỘP THƯ"], [], ["Ghi chú", "ĐỊA CHỈ THƯ\nĐIỆN TỬ", "Đơn vị", "Ngày tạo"], ["(1)", "(2)", "(3)", "(4)"],
        [None, "a@travinh.gov.vn", "Sở Tư pháp", "3/4/2020"], [None, "b@travinh.gov.vn", "Sở Y tế", 43924],
        ["Tổng cộng", "2"], [], ["Người lập biểu"],
    ])
    result = read_file(path, "mail/a.xlsx", "mail", SOURCES["mail"])
    rows = _records(result.tables["mailboxes"])
    assert [(r["address"], r["created"], r["_row"]) for r in rows] == [
        ("a@travinh.gov.vn", dt.date(2020, 4, 3), 5), ("b@travinh.gov.vn", dt.date(2020, 4, 3), 6)]
    assert result.outcome == "loaded" and not result.findings


def test_missing_required_label_is_an_error_naming_it(tmp_path):
    path = _xlsx(tmp_path / "b.xlsx", [["Địa chỉ thư điện tử", "Đơn vị"], ["a@x.vn", "Sở Y tế"]])
    result = read_file(path, "mail/b.xlsx", "mail", SOURCES["mail"])
    assert result.outcome == "rejected"
    assert [(f.check_id, f.severity) for f in result.findings] == [("missing_labels", "error")]
    assert "Ngày tạo" in result.findings[0].message


def test_unreadable_file_is_a_finding_not_a_crash(tmp_path):
    (tmp_path / "bad.xlsx").write_bytes(b"PK\x03\x04 this is not a zip")
    (tmp_path / "notes.xlsx").write_bytes(b"\x00\x01binary")
    for name in ("bad.xlsx", "notes.xlsx"):
        result = read_file(tmp_path / name, f"mail/{name}", "mail", SOURCES["mail"])
        assert result.outcome == "rejected"
        assert result.findings[0].check_id == "unreadable_file" and result.findings[0].file == f"mail/{name}"


def test_html_table_saved_as_xls_is_read(tmp_path):
    path = tmp_path / "t.xls"
    path.write_text("<html><body><table><tr><td colspan=4>DANH SÁCH</td></tr>"
                    "<tr><th>Địa chỉ thư điện tử</th><th>Đơn vị</th><th>Ngày tạo</th></tr>"
                    "<tr><td>a@x.vn</td><td>Sở Y tế</td><td>01/05/2020 08:00</td></tr></table></body></html>", encoding="utf-8")
    result = read_file(path, "mail/t.xls", "mail", SOURCES["mail"])
    assert result.format == "html"
    assert [(r["address"], r["created"], r["_row"]) for r in _records(result.tables["mailboxes"])] == [("a@x.vn", dt.date(2020, 5, 1), 3)]



def test_html_spans_far_below_the_title_still_take_their_cells(tmp_path):
    # rows are read without looking at attributes only once every span attribute of the file is placed
    from pipeline.lib.reader.formats import load_sheets

    body = "".join(f"<tr><td>Sở Y tế</td><td>u{i}@x.vn</td><td>01/04/2020</td></tr>" for i in range(5))
    path = tmp_path / "t.xls"
    path.write_text("<html><body><table><tr><td colspan=3>DANH SÁCH (colspan)</td></tr>"
                    "<tr><th>Đơn vị</th><th>Địa chỉ thư điện tử</th><th>Ngày tạo</th></tr>" + body +
                    "<tr><td ROWSPAN=2>Sở Tư pháp</td><td>b@x.vn</td><td>02/04/2020</td></tr>"
                    "<tr><td>c@x.vn</td><td>03/04/2020</td></tr>"
                    "<tr><td colspan=2>Sở Nội vụ</td><td>04/04/2020</td></tr>"
                    "<tr><td>Sở Y tế</td><td>d@x.vn</td><td>05/04/2020</td></tr></table></body></html>", encoding="utf-8")
    _, sheets = load_sheets(path)
    (sheet,) = sheets
    rows = [row for _, chunk in sheet.chunks(0, 100) for row in chunk]
    assert rows[0] == ["DANH SÁCH (colspan)", "", ""]
    assert rows[-4:] == [["Sở Tư pháp", "b@x.vn", "02/04/2020"], ["", "c@x.vn", "03/04/2020"],
                         ["Sở Nội vụ", "", "04/04/2020"], ["Sở Y tế", "d@x.vn", "05/04/2020"]]


def test_staging_pauses_the_cyclic_garbage_collector_and_restores_it(tmp_path, monkeypatch):
    import gc

    from pipeline.lib import raw_layer as staging

    during, after = [], []
    listed = staging.list_source_files
    monkeypatch.setattr(staging, "list_source_files", lambda folder: during.append(gc.isenabled()) or listed(folder))
    was = gc.isenabled()
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            staging.stage_source(tmp_path, "mail", SOURCES["mail"])
            after.append(gc.isenabled())
    finally:
        (gc.enable if was else gc.disable)()
    assert during == [False, False] and after == [True, False]


def _encode(text: str, encoding: str) -> bytes:
    """As Windows writes it: cp1258 has ơ, ư, â… but puts tone marks after the letter as combining marks."""
    if encoding != "cp1258":
        return text.encode(encoding)
    out = []
    for ch in text:
        try:
            out.append(ch.encode(encoding))
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", ch)
            tones = "".join(c for c in parts if c in "\u0300\u0301\u0303\u0309\u0323")
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in tones))
            out.append((base + tones).encode(encoding))
    return b"".join(out)


@pytest.mark.parametrize("prolog, encoding", [
    ('<?xml version="1.0" encoding="utf-8"?>', "utf-8"),
    ('<meta http-equiv="Content-Type" content="text/html; charset=windows-1258">', "cp1258"),
])
def test_html_export_with_an_xml_declaration_or_a_legacy_charset_loads(tmp_path, prolog, encoding):
    path = tmp_path / "t.xls"
    path.write_bytes(_encode(prolog + "<html><body><table><tr><th>Địa chỉ thư điện tử</th><th>Đơn vị</th><th>Ngày tạo</th></tr>"
                      "<tr><td>a@x.vn<!-- note --></td><td>Sở Y tế</td><td>01/05/2020</td></tr></table></body></html>"
                             , encoding))
    result = read_file(path, "mail/t.xls", "mail", SOURCES["mail"])
    assert [(r["address"], r["agency"]) for r in _records(result.tables["mailboxes"])] == [("a@x.vn", "Sở Y tế")]

def test_lock_and_hidden_files_are_ignored(tmp_path):
    (tmp_path / "~$a.xlsx").write_bytes(b"x")
    (tmp_path / ".DS_Store").write_bytes(b"x")
    (tmp_path / "a.xlsx").write_bytes(b"x")
    read, ignored = list_source_files(tmp_path)
    assert [p.name for p in read] == ["a.xlsx"] and sorted(p.name for p in ignored) == [".DS_Store", "~$a.xlsx"]


def test_complete_row_is_data_even_if_its_text_reads_like_a_signature(tmp_path):
    path = _xlsx(tmp_path / "c.xlsx", [
        ["Số ký hiệu", "Ngày văn bản", "Trích yếu", "Đơn vị ban hành", "Hình thức", "Ký số"],
        ["1/SYT-VP", "01/04/2020", "Giám đốc Sở giao nhiệm vụ", "Sở Y tế", "Điện tử", "Có"],
        ["2/SYT-VP", "02/04/2020", "V/v họp", "Sở Y tế", "Giấy", ""],
    ])
    result = read_file(path, "ioffice/c.xlsx", "ioffice", SOURCES["ioffice"])
    assert [r["number"] for r in _records(result.tables["documents"])] == ["1/SYT-VP", "2/SYT-VP"]


def test_incomplete_row_after_a_blank_row_is_reported_and_later_rows_still_load(tmp_path):
    path = _xlsx(tmp_path / "d.xlsx", [
        ["Địa chỉ thư điện tử", "Đơn vị", "Ngày tạo"],
        ["a@x.vn", "Sở Y tế", "01/04/2020"], [],
        ["b@x.vn", "Sở Y tế", None],
        ["c@x.vn", "Sở Y tế", "03/04/2020"],
        [], ["", "", "Trà Vinh, ngày 03 tháng 7 năm 2020"], ["Người lập biểu", "", "GIÁM ĐỐC"],
    ])
    result = read_file(path, "mail/d.xlsx", "mail", SOURCES["mail"])
    assert [r["address"] for r in _records(result.tables["mailboxes"])] == ["a@x.vn", "c@x.vn"]
    assert [(f.check_id, f.row) for f in result.findings] == [("invalid_row", 4)]


def test_html_two_row_header_with_rowspan_and_colspan(tmp_path):
    path = tmp_path / "th.xls"
    path.write_text(
        "<table><tr><th rowspan=2>Đơn vị</th><th rowspan=2>Tổng số hồ sơ tiếp nhận</th><th colspan=2>Mức độ 3</th>"
        "<th colspan=2>Mức độ 4</th><th rowspan=2>Đã giải quyết</th></tr>"
        "<tr><th>Tổng số</th><th>Trực tuyến</th><th>Tổng số</th><th>Trực tuyến</th></tr>"
        "<tr><td>Sở Y tế</td><td>1.234</td><td>5</td><td>1</td><td>7</td><td>2</td><td>9</td></tr>"
        "<tr><td>Tổng cộng</td><td>1.234</td><td>5</td><td>1</td><td>7</td><td>2</td><td>9</td></tr></table>",
        encoding="utf-8")
    rows = _records(read_file(path, "dvc/th.xls", "dvc", SOURCES["dvc"]).tables["dossier_summary"])
    assert [(r["agency"], r["received"], r["level3_online"], r["level4"], r["resolved"], r["_is_total"]) for r in rows] == [
        ("Sở Y tế", 1234, 1, 7, 9, False), (None, 1234, 1, 7, 9, True)]
    assert '"level4": "E4"' in rows[1]["_cells"]


def test_a_mixed_type_column_converts_each_distinct_value_once_and_keeps_1_and_1_0_apart():
    from pipeline.lib.reader.distinct import Distinct, raw_cells

    values = [1, 1.0, True, "1", 1, "1", None, None, dt.date(2020, 4, 3)]
    column = Distinct(values)
    assert len(column.uniques) == 6
    assert raw_cells(column).to_pylist() == [
        {"text": "1", "type": "n"}, {"text": "1.0", "type": "n"}, {"text": "True", "type": "b"}, {"text": "1", "type": "s"},
        {"text": "1", "type": "n"}, {"text": "1", "type": "s"}, {"text": None, "type": None}, {"text": None, "type": None},
        {"text": "2020-04-03", "type": "d"}]


def test_a_text_column_takes_rows_by_position():
    from pipeline.lib.reader.distinct import Distinct

    column = Distinct(["b", "a", "b", None, "a", "c"])
    assert len(column.uniques) == 4
    assert column.take(np.array([5, 0])).values() == ["c", "b"]


def test_a_table_typed_in_several_chunks_reads_as_in_one(tmp_path, monkeypatch):
    from pipeline.lib.reader import sheets

    path = _xlsx(tmp_path / "m.xlsx", [
        ["Địa chỉ thư điện tử", "Đơn vị", "Ngày tạo"],
        ["a@x.vn", "Sở Y tế", "01/04/2020"], ["b@x.vn", "Sở Y tế", "31/02/2020"],
        ["c@x.vn", "Sở Y tế", "03/04/2020"], ["d@x.vn", "Sở Y tế", "04/04/2020"], ["e@x.vn", "Sở Y tế", "05/04/2020"],
    ])
    whole = read_file(path, "mail/m.xlsx", "mail", SOURCES["mail"])
    monkeypatch.setattr(sheets, "CHUNK_ROWS", 2)
    chunked = read_file(path, "mail/m.xlsx", "mail", SOURCES["mail"])
    assert _records(chunked.tables["mailboxes"]) == _records(whole.tables["mailboxes"])
    assert [r["_row"] for r in _records(chunked.tables["mailboxes"])] == [2, 4, 5, 6]
    assert [(f.check_id, f.row) for f in chunked.findings] == [(f.check_id, f.row) for f in whole.findings] == [("invalid_row", 3)]


def test_plain_text_shortcuts_give_the_cells_each_value_gives():
    from pipeline.lib.reader.distinct import Distinct, cell_text, cell_type, raw_cells
    from pipeline.lib.reader.rows import _reads_total
    from pipeline.lib.values import is_blank

    values = ["12/STTTT-VP", "a b", "a  b", " a", "a ", 'x"y', "x\\y", "Tổng cộng", "", "   ", None, "1.004227",
              "a\tb", "~!", "Sở Y tế", "tong", "A\u00a0B", "x\x7fy", "1.5"]
    column = Distinct(values)
    assert column.plain.any() and not column.plain.all()
    assert raw_cells(column).to_pylist() == [{"text": cell_text(v), "type": cell_type(v)} for v in values]
    assert column.flags(is_blank, plain=False).tolist() == [is_blank(v) for v in values]
    assert column.flags(_reads_total, plain=False).tolist() == [_reads_total(v) for v in values]


# --- exports.md: "The format is detected from the bytes, not the extension." -------------------------------


@pytest.mark.parametrize("fmt, name", [("xlsx", "as.xls"), ("xlsx", "as.XLS"), ("xls", "as.xlsx"), ("html", "as.xlsx"),
                                       ("xlsx", "no_extension"), ("xls", "as.csv")])
def test_a_workbook_under_another_formats_name_is_read_by_its_bytes(tmp_path, fmt, name):
    from pipeline.sample.writers import Sheet, write_html_xls, write_xls, write_xlsx

    sheet = Sheet("HT", ["Địa chỉ thư điện tử", "Đơn vị", "Ngày tạo"], [["a@x.vn", "Sở Y tế", "03/04/2020"]])
    plain = tmp_path / {"xlsx": "plain.xlsx", "xls": "plain.xls", "html": "plain.xls"}[fmt]
    {"xlsx": lambda p: write_xlsx(p, [sheet]), "xls": lambda p: write_xls(p, sheet),
     "html": lambda p: write_html_xls(p, sheet)}[fmt](plain)
    renamed = tmp_path / name
    renamed.write_bytes(plain.read_bytes())
    expected, result = read_file(plain, "mail/plain", "mail", SOURCES["mail"]), read_file(renamed, "mail/x", "mail", SOURCES["mail"])
    assert result.format == fmt and result.outcome == "loaded", result.reason
    assert _records(result.tables["mailboxes"].drop(columns=["_file", "_sha256"])) == \
        _records(expected.tables["mailboxes"].drop(columns=["_file", "_sha256"]))


# --- exports.md: "a total row (first cell or the name cell reads `Tổng cộng`, `Tổng`, `Cộng`) … None of it is data."


@pytest.mark.parametrize("marker", ["CỘNG", "Tổng cộng", "TỔNG", "  cộng ", unicodedata.normalize("NFD", "Tổng Cộng"), "Tổng số"])
def test_a_total_marker_in_the_name_cell_ends_the_table_whatever_the_other_cells_hold(tmp_path, marker):
    path = _xlsx(tmp_path / "m.xlsx", [
        ["STT", "Ngày họp", "Nội dung", "Số điểm cầu"],
        [1, "02/04/2020", "Họp giao ban", 12], [2, "09/04/2020", "Hội nghị trực tuyến", 7],
        [None, "19 điểm cầu", marker, 19],
    ])
    result = read_file(path, "videoconf/m.xlsx", "videoconf", SOURCES["videoconf"])
    assert result.outcome == "loaded" and not result.findings, result.findings
    assert [r["topic"] for r in _records(result.tables["meetings"])] == ["Họp giao ban", "Hội nghị trực tuyến"]


def test_a_total_marker_in_the_first_cell_ends_the_table_even_when_the_row_is_complete(tmp_path):
    path = _xlsx(tmp_path / "e.xlsx", [
        ["Tên điểm cầu", "Ngày đưa vào sử dụng"], ["UBND huyện Càng Long", "01/02/2019"],
        ["TỔNG CỘNG", "01/01/2020"],
    ])
    result = read_file(path, "videoconf/e.xlsx", "videoconf", SOURCES["videoconf"])
    assert [r["name"] for r in _records(result.tables["endpoints"])] == ["UBND huyện Càng Long"] and not result.findings


def test_a_text_column_classified_by_arrow_gives_what_each_value_gives():
    from pipeline.lib.reader.distinct import TextColumn, cell_text, cell_type, chunk_column, raw_cells
    from pipeline.lib.reader.rows import _LONGEST_TOTAL_MARKER, _TOTAL_CANDIDATE, _reads_total
    from pipeline.lib.values import is_blank

    spaces = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000"
    values = ["12/STTTT-VP", "", "   ", None, *spaces, spaces, "\u200b", "x\x00", "Tổng cộng", "  tổng số", "\u3000Cộng",
              "TỔNG CỘNG", "Tổng cộng:", "Tổng cộng các đơn vị trực thuộc tỉnh", "Cộng hòa", "T", "Sở Y tế", "tong"]
    column = chunk_column(values)
    assert isinstance(column, TextColumn)
    assert raw_cells(column).to_pylist() == [{"text": cell_text(v), "type": cell_type(v)} for v in values]
    assert column.blank().tolist() == [is_blank(v) for v in values]
    assert column.flags_where(_reads_total, _TOTAL_CANDIDATE, _LONGEST_TOTAL_MARKER).tolist() == [_reads_total(v) for v in values]
    assert column.take(np.array([values.index("Tổng cộng"), 0])).texts.to_pylist() == ["Tổng cộng", "12/STTTT-VP"]


def test_a_column_holding_anything_but_text_is_classified_value_by_value():
    from pipeline.lib.reader.distinct import Distinct, chunk_column

    assert isinstance(chunk_column(["a", 1.0]), Distinct)
    assert isinstance(chunk_column([dt.date(2020, 4, 3), "a"]), Distinct)
    assert isinstance(chunk_column(["a", True]), Distinct)
