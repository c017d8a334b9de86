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
