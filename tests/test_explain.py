"""`python -m pipeline explain`: an auditor goes from a figure to the exact rows of the exact files."""

import openpyxl
import pandas as pd
import python_calamine

from pipeline.__main__ import main


def _run(monkeypatch, capsys, warehouse, raw, *args):
    monkeypatch.setenv("WAREHOUSE_PATH", str(warehouse))
    monkeypatch.setenv("RAW_DIR", str(raw))
    code = main(["explain", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_explain_a_count_down_to_the_source_rows(monkeypatch, capsys, warehouse, sample_raw, tmp_path):
    target = tmp_path / "rows.xlsx"
    code, out, _ = _run(monkeypatch, capsys, warehouse, sample_raw, "2020-Q2", "mail.created", "--rows", str(target))
    assert code == 0
    assert "giá trị:    47" in out and "[không đổi; bản lưu: " in out and "mail/Danh sach hop thu 03072020.xlsx: 47 dòng" in out
    sheet = openpyxl.load_workbook(target).active
    header = [c.value for c in sheet[1]]
    records = [dict(zip(header, (c.value for c in row))) for row in sheet.iter_rows(min_row=2)]
    assert len(records) == 47
    first = records[0]
    cells = python_calamine.CalamineWorkbook.from_path(str(sample_raw / "2020-Q2" / first["file"])) \
        .get_sheet_by_name(first["sheet"]).to_python(skip_empty_area=False)
    assert first["Địa chỉ thư điện tử"] in cells[first["row"] - 1]


def test_explain_writes_csv_too(monkeypatch, capsys, warehouse, sample_raw, tmp_path):
    target = tmp_path / "rows.csv"
    code, _, _ = _run(monkeypatch, capsys, warehouse, sample_raw, "2020-Q2", "ca.active.sim_pki", "--rows", str(target))
    assert code == 0 and len(pd.read_csv(target)) == 25


def test_explain_a_rate_names_its_parts(monkeypatch, capsys, warehouse, sample_raw):
    code, out, _ = _run(monkeypatch, capsys, warehouse, sample_raw, "2020-Q2", "dvc.dossiers.level4.online_rate")
    assert code == 0
    assert "tử số   dvc.dossiers.level4.online = 2.434" in out and "mẫu số  dvc.dossiers.level4 = 11.357" in out


def test_unknown_indicator_or_quarter_lists_what_exists(monkeypatch, capsys, warehouse, sample_raw):
    code, _, err = _run(monkeypatch, capsys, warehouse, sample_raw, "2020-Q2", "ca.nope")
    assert code == 2 and "không có chỉ tiêu “ca.nope” trong 2020-Q2" in err and "ca.active.sim_pki" in err
    code, _, err = _run(monkeypatch, capsys, warehouse, sample_raw, "2031-Q1", "ca.active")
    assert code == 2 and "2020-Q1, 2020-Q2" in err
