"""The annex (Phụ lục), opened with openpyxl as a reader would: every cell that shows a figure is pinned."""

from collections import Counter

import openpyxl
import pytest

from assets.indicators.definitions import INDICATORS_BY_ID
from assets.outputs.annex import NO_DATA, round_half_up


@pytest.fixture(scope="module")
def annex(warehouse):
    return openpyxl.load_workbook(warehouse.parent / "outputs" / "2020-Q2" / "phu-luc-2020-Q2.xlsx")


def _indicator_rows(sheet):
    """indicator id -> (this quarter, previous quarter, change) cells of the first sheet."""
    return {row[2].value: row[4:7] for row in sheet.iter_rows(min_row=9) if row[2].value in INDICATORS_BY_ID}


def _total_row(sheet, start=9):
    return next([c.value for c in row] for row in sheet.iter_rows(min_row=start) if row[1].value == "Tổng cộng")


def test_every_indicator_cell_equals_the_indicators_table(annex, db):
    cells = _indicator_rows(annex["Chỉ tiêu"])
    for quarter, column in (("2020-Q2", 0), ("2020-Q1", 1)):
        values = dict(db.execute("SELECT indicator_id, value FROM indicators WHERE quarter = ?", [quarter]).fetchall())
        assert set(cells) == set(values)
        for indicator_id, value in values.items():
            decimals = INDICATORS_BY_ID[indicator_id].decimals
            assert cells[indicator_id][column].value == (round_half_up(value, decimals) if decimals else value), indicator_id
    assert cells["ca.active"][2].value == cells["ca.active"][0].value - cells["ca.active"][1].value


def test_rates_are_rounded_half_up_to_the_decimals_shown(annex):
    cells = _indicator_rows(annex["Chỉ tiêu"])
    assert cells["ioffice.documents.signed_rate"][0].value == 73.9
    assert cells["dvc.dossiers.level3.online_rate"][0].value == 3.05
    assert cells["dvc.services.level4_rate"][0].value == 27.66
    assert cells["ioffice.documents.signed_rate"][0].number_format.endswith('0.0"%"')
    assert cells["dvc.dossiers.level3.online_rate"][0].number_format.endswith('0.00"%"')


def test_counts_show_vietnamese_thousands_and_stay_numeric(annex):
    cell = _indicator_rows(annex["Chỉ tiêu"])["dvc.dossiers.received"][0]
    assert cell.data_type == "n" and cell.value == 62566 and '#"."###' in cell.number_format
    assert cell.font.name == "Times New Roman"


def test_breakdown_totals_equal_the_published_figures(annex, db):
    values = dict(db.execute("SELECT indicator_id, value FROM indicators WHERE quarter = '2020-Q2'").fetchall())
    level = annex["Theo cấp"]
    totals = [[c.value for c in row] for row in level.iter_rows(min_row=9) if row[1].value == "Tổng cộng"]
    assert totals[0][2:5] == [values["ioffice.agencies"], 133, 133]
    assert totals[1][2] == totals[2][2] == values["ca.active"]
    assert _total_row(annex["iOffice theo đơn vị"])[3:6] == [
        values["ioffice.documents.total"], values["ioffice.documents.electronic"], values["ioffice.documents.signed"]]
    assert _total_row(annex["DVC theo đơn vị"])[3:9] == [values[f"dvc.dossiers.{k}"] for k in (
        "received", "level3", "level3.online", "level4", "level4.online", "resolved")]
    ioffice_rows = [r for r in annex["iOffice theo đơn vị"].iter_rows(min_row=9, values_only=True) if r[0] and r[0].isdigit()]
    assert len(ioffice_rows) == values["ioffice.agencies"]


def test_header_block_title_and_print_setup(annex):
    for sheet in annex.worksheets:
        assert sheet["A1"].value == "UBND TỈNH TRÀ VINH" and sheet["A2"].value == "SỞ THÔNG TIN VÀ TRUYỀN THÔNG"
        right = [c.value for c in sheet[1] if c.value]
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in right
        assert "Độc lập - Tự do - Hạnh phúc" in [c.value for c in sheet[2] if c.value]
        assert sheet["A4"].value == "PHỤ LỤC" and "quý II năm 2020" in sheet["A5"].value
        assert sheet["A8"].value == "STT"
        assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize in (9, "9")
        assert sheet.print_title_rows == "$8:$8" and sheet.freeze_panes == "A9"
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
    signature = [c.value for row in annex["Chỉ tiêu"].iter_rows() for c in row if c.value == "GIÁM ĐỐC"]
    assert signature


def test_findings_and_sources_sheets_trace_every_figure(annex, db):
    findings = [r for r in annex["Phát hiện đối soát"].iter_rows(min_row=9, values_only=True) if r[0]]
    assert len(findings) == db.execute("SELECT count(*) FROM findings WHERE quarter = '2020-Q2'").fetchone()[0]
    words = {"error": "Lỗi", "warning": "Cảnh báo", "info": "Thông tin"}  # the severity column, as it prints
    severities = db.execute("SELECT severity, count(*) FROM findings WHERE quarter = '2020-Q2' GROUP BY 1").fetchall()
    assert Counter(r[1] for r in findings) == {words[severity]: count for severity, count in severities}
    mismatch = next(r for r in findings if r[2] == "summary_mismatch")
    assert mismatch[5] == "dvc/Bao cao tong hop.xlsx" and mismatch[8].startswith("F")  # the place, in hidden columns
    assert mismatch[4].startswith(f"Tệp dvc/Bao cao tong hop.xlsx, trang tính “{mismatch[6]}”, dòng {mismatch[7]}, ô {mismatch[8]}: ")
    sources = [r for r in annex["Nguồn số liệu"].iter_rows(min_row=9, values_only=True)]
    files = {(r[3], r[6]) for r in sources if r[3]}  # the full sha256, in a hidden column
    expected = set(db.execute("SELECT DISTINCT _file, _sha256 FROM stg_certificates WHERE quarter = '2020-Q2'").fetchall())
    assert expected <= files
    assert sum(1 for r in sources if r[1] in INDICATORS_BY_ID) == len(INDICATORS_BY_ID)


def test_no_formula_anywhere(annex):
    assert not [c.coordinate for s in annex.worksheets for row in s.iter_rows() for c in row if c.data_type == "f"]


def test_hostile_agency_name_is_text_and_null_figures_say_so(constructed_warehouse):
    book = openpyxl.load_workbook(constructed_warehouse.parent / "outputs" / "2020-Q2" / "phu-luc-2020-Q2.xlsx")
    hostile = [c for row in book["iOffice theo đơn vị"].iter_rows() for c in row if c.value == '=HYPERLINK("http://x","y")']
    assert hostile and all(c.data_type == "s" and c.quotePrefix for c in hostile)
    assert not [c for s in book.worksheets for row in s.iter_rows() for c in row if c.data_type == "f"]
    cells = _indicator_rows(book["Chỉ tiêu"])
    assert cells["vcon.meetings"][0].value == NO_DATA
    assert "SỐ LIỆU CHƯA ĐẦY ĐỦ" in book["Chỉ tiêu"]["A7"].value and "“Cuộc họp trực tuyến”" in book["Chỉ tiêu"]["A7"].value


def test_trend_sheet_lists_the_main_figures_of_every_quarter_with_native_charts(warehouse, annex, db):
    import zipfile

    from assets.outputs.annex import TREND

    sheet = annex["Xu hướng"]
    assert [c.value for c in sheet[8]][3:] == ["Quý I năm 2020", "Quý II năm 2020"]
    rows = {INDICATORS_BY_ID[i].label: i for i in TREND}
    shown = {r[1]: r[3:5] for r in sheet.iter_rows(min_row=9, max_row=8 + len(TREND), values_only=True)}
    assert set(shown) == set(rows)
    for label, cells in shown.items():
        for quarter, cell in zip(("2020-Q1", "2020-Q2"), cells):
            value = db.execute("SELECT value FROM indicators WHERE quarter = ? AND indicator_id = ?", [quarter, rows[label]]).fetchone()[0]
            decimals = INDICATORS_BY_ID[rows[label]].decimals if INDICATORS_BY_ID[rows[label]].unit == "percent" else 0
            assert cell == (round_half_up(value, decimals) if decimals else value), label
    with zipfile.ZipFile(warehouse.parent / "outputs" / "2020-Q2" / "phu-luc-2020-Q2.xlsx") as book:
        charts = [n for n in book.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 4
        assert "Hồ sơ tiếp nhận và đã giải quyết" in "".join(book.read(n).decode("utf-8") for n in charts)


def test_trend_sheet_with_one_quarter_says_there_is_no_history_yet(warehouse):
    import zipfile

    book = openpyxl.load_workbook(warehouse.parent / "outputs" / "2020-Q1" / "phu-luc-2020-Q1.xlsx")
    texts = [c.value for row in book["Xu hướng"].iter_rows() for c in row if isinstance(c.value, str)]
    assert any(t.startswith("Chưa có số liệu của quý trước trong kho dữ liệu") for t in texts)
    with zipfile.ZipFile(warehouse.parent / "outputs" / "2020-Q1" / "phu-luc-2020-Q1.xlsx") as archive:
        assert not [n for n in archive.namelist() if n.startswith("xl/charts/")]
