"""No run loses published figures: a missing or empty quarter fails before writing, and every run keeps
what it replaces as a version that `python -m pipeline history` lists."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import ROOT, materialize_quarter, snapshot


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory):
    """The constructed 2020-Q2 materialized (v1), then again with its mailbox export withdrawn (v2)."""
    from tests.constructed import build_constructed

    root = tmp_path_factory.mktemp("versions")
    build_constructed(root / "raw")
    warehouse = root / "wh" / "warehouse.duckdb"
    for quarter in ("2020-Q1", "2020-Q2"):
        assert materialize_quarter(root / "raw", warehouse, quarter).success
    conn = duckdb.connect(str(warehouse), read_only=True)
    first = dict(conn.execute("SELECT indicator_id, value FROM indicators WHERE quarter = '2020-Q2'").fetchall())
    conn.close()
    first_annex = (root / "wh" / "outputs" / "2020-Q2" / "phu-luc-2020-Q2.xlsx").read_bytes()
    for path in (root / "raw" / "2020-Q2" / "mail").iterdir():
        path.unlink()
    second = materialize_quarter(root / "raw", warehouse, "2020-Q2")
    assert second.success
    return root, warehouse, first, first_annex, second


def test_a_run_with_a_source_emptied_keeps_the_first_version_recoverable(two_versions):
    _, warehouse, first, _, _ = two_versions
    conn = duckdb.connect(str(warehouse), read_only=True)
    current = dict(conn.execute("SELECT indicator_id, value FROM indicators WHERE quarter = '2020-Q2'").fetchall())
    assert current["mail.mailboxes"] is None and first["mail.mailboxes"] == 4
    kept = dict(conn.execute("SELECT indicator_id, value FROM indicators_history WHERE quarter = '2020-Q2' AND version = 1").fetchall())
    assert kept == first
    assert conn.execute("SELECT count(*) FROM findings_history WHERE quarter = '2020-Q2' AND version = 1").fetchone()[0] \
        == conn.execute("SELECT row_count FROM versions WHERE quarter = '2020-Q2' AND table_name = 'findings' "
                        "AND version = 1").fetchone()[0] > 0
    assert conn.execute("SELECT table_name, max(version) FROM versions WHERE quarter = '2020-Q2' GROUP BY 1 ORDER BY 1").fetchall() == [
        ("findings", 2), ("indicators", 2)]
    conn.close()


def test_the_earlier_annex_is_kept_under_a_dated_name(two_versions):
    root, _, _, first_annex, _ = two_versions
    kept = list((root / "wh" / "outputs" / "2020-Q2" / "versions").glob("phu-luc-2020-Q2-*.xlsx"))
    assert len(kept) == 1 and kept[0].read_bytes() == first_annex
    assert (root / "wh" / "outputs" / "2020-Q2" / "phu-luc-2020-Q2.xlsx").read_bytes() != first_annex


def test_a_figure_turned_null_fails_the_figures_check_as_an_error(two_versions):
    import dagster as dg

    *_, second = two_versions
    evaluation = next(e for e in second.get_asset_check_evaluations() if e.check_name == "figures_kept_since_last_version")
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.metadata["became_null"].value == 2  # mail.created, mail.mailboxes
    assert "mail.mailboxes 4 -> NULL (trở thành NULL)" in evaluation.metadata["changes"].value


def _cli(env, *args):
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_history_lists_the_versions_and_what_changed(two_versions):
    import os

    root, warehouse, first, *_ = two_versions
    env = {**os.environ, "WAREHOUSE_PATH": str(warehouse), "OUTPUTS_DIR": str(root / "wh" / "outputs")}
    done = _cli(env, "history", "2020-Q2")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "2020-Q2: 2 phiên bản số liệu (hiện hành: v2)" in out
    nulls = sum(v is None for v in first.values())
    assert f"57 số liệu, {nulls} NULL" in out and f"57 số liệu, {nulls + 2} NULL" in out
    assert "thay đổi ở v2 (so với v1); đánh dấu !! khi trở thành NULL hoặc thay đổi quá 50%:" in out
    assert [line.split()[1:] for line in out.splitlines() if line.strip().startswith("!!")] == [
        ["mail.created", "1", "->", "NULL", "trở", "thành", "NULL"], ["mail.mailboxes", "4", "->", "NULL", "trở", "thành", "NULL"]]
    assert "phụ lục trước đó: " in out and "/versions/phu-luc-2020-Q2-" in out
    latest = _cli(env, "history", "2020-Q2", "--latest").stdout
    assert latest.splitlines()[0].startswith("  v2 ") and "mail.mailboxes" in latest
    refused = _cli(env, "history", "2020-Q3")
    assert refused.returncode == 2 and refused.stderr.strip() == (
        f"lỗi: không có phiên bản nào của 2020-Q3 trong {warehouse}: quý này chưa từng được chạy")


@pytest.mark.parametrize("damage", ["raw_dir_missing", "quarter_missing", "quarter_empty"])
def test_a_missing_or_empty_quarter_fails_before_writing_anything(two_versions, tmp_path, damage):
    root, warehouse, *_ = two_versions
    raw = tmp_path / "raw"
    if damage == "quarter_missing":
        raw.mkdir()
    elif damage == "quarter_empty":
        (raw / "2020-Q2" / "mail").mkdir(parents=True)
    copy = tmp_path / "wh" / "warehouse.duckdb"
    copy.parent.mkdir()
    shutil.copy(warehouse, copy)
    before = snapshot(copy, "2020-Q2"), _history_rows(copy)
    result = materialize_quarter(raw, copy, "2020-Q2", raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.step_failure_data.error.message
    assert "không đọc hay ghi gì cả: số liệu, phát hiện và phụ lục đã công bố của 2020-Q2 giữ nguyên" in message
    assert {"raw_dir_missing": "(RAW_DIR) không tồn tại", "quarter_missing": "2020-Q2 không tồn tại (các thư mục quý trong ",
            "quarter_empty": "2020-Q2 không chứa tệp nào"}[damage] in message
    assert (snapshot(copy, "2020-Q2"), _history_rows(copy)) == before


def _history_rows(warehouse: Path):
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        return conn.execute("SELECT table_name, version, row_count FROM versions ORDER BY ALL").fetchall()
    finally:
        conn.close()


def test_a_warehouse_folder_moved_elsewhere_keeps_its_versions_and_publishes_new_ones(two_versions, tmp_path):
    """A warehouse restored from a backup, or a project folder renamed: DuckLake's catalog still names the folder its
    data was first written to, and refused any other until the lake was attached with its data path overridden."""
    import os

    root, *_ = two_versions
    moved = tmp_path / "restored" / "wh"
    shutil.copytree(root / "wh", moved)
    away = root / "wh-away"
    (root / "wh").rename(away)  # the first folder is gone while the moved one is used
    try:
        env = {**os.environ, "WAREHOUSE_PATH": str(moved / "warehouse.duckdb"), "OUTPUTS_DIR": str(moved / "outputs")}
        before = _cli(env, "history", "2020-Q2")
        assert before.returncode == 0, before.stderr
        assert "2020-Q2: 2 phiên bản số liệu (hiện hành: v2)" in before.stdout
        assert "57 số liệu, " in before.stdout  # each version's figures, read from the moved folder's Parquet files
        figures = _cli(env, "sql", "SELECT count(*) AS figures FROM indicators WHERE quarter = '2020-Q2'")
        assert figures.returncode == 0 and figures.stdout.split() == ["figures", "57"], figures.stderr
        assert materialize_quarter(root / "raw", moved / "warehouse.duckdb", "2020-Q2").success
        after = _cli(env, "history", "2020-Q2")
        assert after.returncode == 0 and "2020-Q2: 3 phiên bản số liệu (hiện hành: v3)" in after.stdout, after.stderr
        assert "không có trong kho dữ liệu có phiên bản" not in after.stdout
    finally:
        away.rename(root / "wh")


def test_a_file_that_changes_while_the_run_reads_it_is_not_archived_and_says_why(tmp_path):
    """The archive keeps the bytes a version counted; a file still being copied into raw/ has other bytes by the time
    it is archived, and the run stops naming the file and both hashes rather than keep what it did not read."""
    import hashlib

    from pipeline.lib.archive import ArchiveError, archive_dir, keep

    export = tmp_path / "raw" / "vb.xlsx"
    export.parent.mkdir()
    export.write_bytes(b"first half")
    read = hashlib.sha256(b"first half").hexdigest()
    export.write_bytes(b"first half, and the rest")
    warehouse = tmp_path / "wh" / "warehouse.duckdb"
    with pytest.raises(ArchiveError) as refused:
        keep(warehouse, export, read)
    now = hashlib.sha256(b"first half, and the rest").hexdigest()
    assert str(refused.value) == (f"{export} đã thay đổi trong lúc lần chạy đọc nó (sha256 {read[:12]}… khi đọc, {now[:12]}… "
                                  "khi lưu): hãy chạy lại quý khi tệp đã đầy đủ")
    assert [p for p in archive_dir(warehouse).rglob("*") if p.is_file()] == []
