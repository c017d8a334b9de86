"""tools/hash_outputs.py, the check that a change of the internals changed nothing users see (issue 18)."""

import sys
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from hash_outputs import compare, table_hashes  # noqa: E402


def _warehouse(path: Path, value: float, raw: str) -> Path:
    conn = duckdb.connect(str(path))
    conn.execute("CREATE TABLE indicators (quarter VARCHAR, indicator_id VARCHAR, value DOUBLE)")
    conn.execute("INSERT INTO indicators VALUES ('2020-Q2', 'ca.issued', ?), ('2020-Q2', 'mail.created', 47)", [value])
    conn.execute("CREATE TABLE stg_mailboxes (row_id BIGINT, _raw VARCHAR)")  # a column only one side has is left out
    conn.execute("INSERT INTO stg_mailboxes VALUES (1, ?)", [raw])
    conn.close()
    return path


def test_a_changed_figure_is_reported_and_internal_columns_are_not(tmp_path):
    before = table_hashes(_warehouse(tmp_path / "a.duckdb", 1626, "{}"))
    assert compare(before, table_hashes(_warehouse(tmp_path / "b.duckdb", 1626, '{"x": 1}'))) == []
    changed = compare(before, table_hashes(_warehouse(tmp_path / "c.duckdb", 1627, "{}")))
    assert len(changed) == 1 and changed[0].startswith("table/indicators:")


def _outputs(folder: Path, version_line: str | None, figure: str) -> Path:
    import openpyxl
    from docx import Document

    quarter = folder / "2020-Q2"
    quarter.mkdir(parents=True)
    book = openpyxl.Workbook()
    book.active["A5"] = "(Kèm theo báo cáo quý II năm 2020" + (f"; {version_line})" if version_line else ")")
    book.active["E9"] = figure
    book.save(quarter / "phu-luc-2020-Q2.xlsx")
    document = Document()
    document.add_paragraph("BÁO CÁO")
    if version_line:
        document.add_paragraph(f"({version_line})")
    document.add_paragraph(f"đã cấp mới {figure} chứng thư số")
    document.save(quarter / "bao-cao-2020-Q2.docx")
    return folder


def test_without_version_lines_the_outputs_compare_but_for_the_version_line_only(tmp_path):
    from hash_outputs import annex_hashes, report_hashes

    def hashes(folder, without=True):
        return annex_hashes(folder, without) | report_hashes(folder, without)

    plain = _outputs(tmp_path / "before", None, "145")
    amended = _outputs(tmp_path / "after", "số liệu quý II năm 2020, phiên bản 3, sửa đổi phiên bản 1 đã ký (lý do: gửi lại)", "145")
    assert compare(hashes(plain), hashes(amended)) == []
    assert len(compare(hashes(plain, False), hashes(amended, False))) == 2  # the annex sheet and the draft
    changed = _outputs(tmp_path / "changed", "số liệu quý II năm 2020, phiên bản 2", "146")
    assert len(compare(hashes(plain), hashes(changed))) == 2
