"""A warehouse made by the code before the versioned warehouse (files of DuckDB 2.0) is upgraded by one documented
command, loses no table and no version, and its next run starts the versioned warehouse."""

from __future__ import annotations

import re
import shutil
import subprocess

import duckdb
import pytest

from pipeline.__main__ import main
from pipeline.cli.upgrade import newer_duckdb_python
from tests.conftest import materialize_quarter

AS_DUCKDB_2 = """
import sys, duckdb
conn = duckdb.connect()
conn.execute(f"ATTACH '{sys.argv[1]}' AS source (READ_ONLY)")
conn.execute(f"ATTACH '{sys.argv[2]}' AS old")
conn.execute("COPY FROM DATABASE source TO old")
"""


def every_table(path) -> dict[str, str]:
    """Each table's row count and a digest of its rows, history and version tables included."""
    conn = duckdb.connect(str(path), read_only=True)
    try:
        tables = [t for (t,) in conn.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        return {t: conn.execute(f'SELECT count(*) || \':\' || coalesce(md5(string_agg(CAST(x AS VARCHAR), \'\n\' '
                                f'ORDER BY CAST(x AS VARCHAR))), \'\') FROM "{t}" x').fetchone()[0] for t in tables}
    finally:
        conn.close()


@pytest.fixture(scope="module")
def old_warehouse(constructed_warehouse, tmp_path_factory):
    """The constructed quarters' warehouse as DuckDB 2.0 writes it (what the code before this pin left)."""
    folder = tmp_path_factory.mktemp("upgrade") / "wh"
    folder.mkdir()
    python = newer_duckdb_python(folder / ".upgrade-duckdb")  # the one `upgrade-warehouse` then finds there
    old = folder / "warehouse.duckdb"
    subprocess.run([str(python), "-c", AS_DUCKDB_2, str(constructed_warehouse), str(old)], check=True)
    return old


def versions_listed(history: str) -> list[str]:
    """The versions `history` lists (time, run, figures, findings), without the marks of the versioned warehouse."""
    return [line.split("  [")[0] for line in history.splitlines() if re.match(r"  v\d+  ", line)]


def cli(monkeypatch, capsys, warehouse, *argv):
    monkeypatch.setenv("WAREHOUSE_PATH", str(warehouse))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_warehouse_of_duckdb_2_is_named_for_the_upgrade_command(old_warehouse, monkeypatch, capsys):
    code, _, err = cli(monkeypatch, capsys, old_warehouse, "history", "2020-Q2")
    assert code == 2 and "python -m pipeline upgrade-warehouse" in err and len(err.strip().splitlines()) == 1


def test_the_upgrade_keeps_every_table_and_version_and_the_next_run_starts_the_lake(
        old_warehouse, constructed_warehouse, monkeypatch, capsys, tmp_path):
    code, before_history, _ = cli(monkeypatch, capsys, constructed_warehouse, "history", "2020-Q2")
    assert code == 0
    code, out, _ = cli(monkeypatch, capsys, old_warehouse, "upgrade-warehouse")
    assert code == 0 and "đã nâng cấp " in out
    assert every_table(old_warehouse) == every_table(constructed_warehouse)
    assert (old_warehouse.parent / "warehouse.duckdb.before-upgrade").is_file()
    code, after_history, _ = cli(monkeypatch, capsys, old_warehouse, "history", "2020-Q2")
    assert code == 0 and versions_listed(after_history) == versions_listed(before_history)
    code, out, _ = cli(monkeypatch, capsys, old_warehouse, "upgrade-warehouse")
    assert code == 0 and "không cần nâng cấp" in out

    raw = tmp_path / "raw"
    from tests.constructed import build_constructed

    build_constructed(raw)
    assert materialize_quarter(raw, old_warehouse, "2020-Q2").success
    code, history, _ = cli(monkeypatch, capsys, old_warehouse, "history", "2020-Q2")
    versions = [line for line in history.splitlines() if re.match(r"  v\d+  ", line)]
    assert len(versions) == len(versions_listed(before_history)) + 1
    assert all("[không có trong kho dữ liệu có phiên bản" in line for line in versions[:-1])
    assert "[không có trong kho dữ liệu có phiên bản" not in versions[-1]
    shutil.rmtree(old_warehouse.parent / ".upgrade-duckdb")
