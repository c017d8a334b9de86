"""Hostile and broken exports: each is a finding naming the file, and never stops the rest of the quarter."""

import math
import shutil
import zipfile

import duckdb
import pytest

from assets.ingest.stage_in_sql import read_staged as read_file
from pipeline.lib.reader import formats
from pipeline.lib.tablespecs import SOURCES
from tests.conftest import materialize_quarter


def _reason(path, source="mail"):
    result = read_file(path, f"{source}/{path.name}", source, SOURCES[source])
    assert result.outcome == "rejected" and result.findings[0].check_id == "unreadable_file"
    assert result.findings[0].file == f"{source}/{path.name}"
    return result.reason


def test_encrypted_workbook_is_named_as_such(tmp_path):
    path = tmp_path / "locked.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500 + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 500)
    assert "mật khẩu (được mã hóa, encrypted)" in _reason(path)


def test_zip_bomb_is_refused_before_parsing(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (12 * 1024**2))
    assert "bom nén (zip bomb)" in _reason(path)


def test_oversized_file_and_sheet_are_refused(tmp_path, monkeypatch):
    path = tmp_path / "big.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<x/>" * 4096)
    monkeypatch.setattr(formats, "MAX_SHEET_XML_BYTES", 1024)
    assert _reason(path) == "xl/worksheets/sheet1.xml chiếm 16 KB khi giải nén (giới hạn 1 KB)"
    monkeypatch.setattr(formats, "MAX_FILE_BYTES", 100)
    assert _reason(path).startswith("tệp nặng ") and "(giới hạn 100 byte)" in _reason(path)


def test_zip_that_is_not_a_workbook_is_rejected(tmp_path):
    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert "không phải sổ tính Excel" in _reason(path)


@pytest.fixture(scope="module")
def broken_quarter(sample_raw, tmp_path_factory):
    """2020-Q2 with every dossier file corrupt and a stray file outside the source folders."""
    raw = tmp_path_factory.mktemp("broken_raw")
    shutil.copytree(sample_raw / "2020-Q2", raw / "2020-Q2")
    for path in (raw / "2020-Q2" / "dvc").glob("bao cao thang *.xls"):
        path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 truncated download")
    (raw / "2020-Q2" / "ghi chu.txt").write_text("gửi kèm báo cáo", encoding="utf-8")
    warehouse = tmp_path_factory.mktemp("broken_wh") / "warehouse.duckdb"
    assert materialize_quarter(raw, warehouse, "2020-Q2").success
    conn = duckdb.connect(str(warehouse), read_only=True)
    yield conn
    conn.close()


def test_unloadable_table_publishes_null_and_everything_else(broken_quarter, truth):
    values = dict(broken_quarter.execute("SELECT indicator_id, value FROM indicators WHERE quarter = '2020-Q2'").fetchall())
    dossier_ids = {i for i in values if i.startswith("dvc.dossiers")}
    assert dossier_ids and all(values[i] is None for i in dossier_ids)
    for indicator_id, expected in truth["2020-Q2"]["indicators"].items():
        if indicator_id not in dossier_ids:
            assert math.isclose(values[indicator_id], expected), indicator_id


def test_broken_files_are_error_findings_naming_the_file(broken_quarter):
    errors = broken_quarter.execute(
        "SELECT check_id, file FROM findings WHERE quarter = '2020-Q2' AND severity = 'error' ORDER BY ALL").fetchall()
    unreadable = sorted(f for c, f in errors if c == "unreadable_file")
    assert unreadable == ["dvc/bao cao thang 4.xls", "dvc/bao cao thang 5.xls", "dvc/bao cao thang 6.xls"]
    assert ("unknown_location", "ghi chu.txt") in errors
    unavailable = [f for c, f in errors if c == "indicator_unavailable"]
    assert len(unavailable) == 12  # the 10 dossier counts and the 2 online rates built on them


def test_manifest_lists_every_file_with_its_outcome(broken_quarter):
    rows = dict(broken_quarter.execute(
        "SELECT path, outcome FROM raw_files WHERE quarter = '2020-Q2'").fetchall())
    assert rows["ghi chu.txt"] == "rejected" and rows["dvc/bao cao thang 4.xls"] == "rejected"
    assert rows["dvc/Danh muc TTHC.xlsx"] == "loaded"
    assert any(p.startswith("ioffice/~$") and o == "ignored" for p, o in rows.items())
    assert broken_quarter.execute(
        "SELECT count(*) FROM raw_files WHERE quarter = '2020-Q2' AND (sha256 IS NULL OR length(sha256) <> 64)").fetchone()[0] == 0
