"""A source is staged again only when its files, the registry, the rules, the reader's limits or the quarter's
window changed; otherwise its staged rows, loads and findings are kept as the last staging left them (issue 28)."""

import datetime as dt

import duckdb
import pytest

import assets.ingest.assets as ingest
import assets.ingest.unchanged as unchanged
from pipeline.lib.tablespecs import SOURCES
from pipeline.sample.writers import Sheet, write_file
from tests.conftest import materialize_quarter, snapshot
from tests.constructed import REGISTRY, build_constructed

QUARTER = "2020-Q2"
WINDOW = (dt.date(2020, 4, 1), dt.date(2020, 6, 30))


@pytest.fixture()
def raw(tmp_path):
    build_constructed(tmp_path / "raw")
    return tmp_path / "raw"


@pytest.fixture()
def staged(monkeypatch):
    """The sources a run read and staged, in order."""
    calls, real = [], ingest.stage_source

    def recording(quarter_dir, source, *args, **kwargs):
        calls.append(source)
        return real(quarter_dir, source, *args, **kwargs)

    monkeypatch.setattr(ingest, "stage_source", recording)
    return calls


def reported(result) -> dict:
    """What a run reports of the staging tables: each materialization's metadata and each check's outcome."""
    found = {}
    for event in result.get_asset_materialization_events():
        key = event.asset_key.to_user_string()
        if key.startswith("stg_"):
            found[key] = {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}
    for evaluation in result.get_asset_check_evaluations():
        key = evaluation.asset_key.to_user_string()
        if key.startswith("stg_"):
            found[f"{key} check"] = (evaluation.passed, evaluation.severity,
                                     {k: getattr(v, "value", v) for k, v in evaluation.metadata.items()})
    return found


def test_a_run_with_no_file_changed_stages_no_source_and_reports_and_keeps_the_same(raw, tmp_path, staged):
    warehouse = tmp_path / "wh" / "w.duckdb"
    first = materialize_quarter(raw, warehouse, QUARTER)
    assert sorted(staged) == sorted(SOURCES)
    before = snapshot(warehouse, QUARTER)
    staged.clear()
    again = materialize_quarter(raw, warehouse, QUARTER)
    assert staged == []
    assert snapshot(warehouse, QUARTER) == before
    assert reported(again) == reported(first) and any(" check" in k for k in reported(first))


def test_a_changed_file_re_stages_only_its_source_and_gives_what_a_fresh_run_gives(raw, tmp_path, staged):
    warehouse = tmp_path / "wh" / "w.duckdb"
    materialize_quarter(raw, warehouse, QUARTER)
    (raw / QUARTER / "mail" / "thieu cot.xlsx").unlink()
    staged.clear()
    again = materialize_quarter(raw, warehouse, QUARTER)
    assert staged == ["mail"]
    fresh_warehouse = tmp_path / "fresh" / "w.duckdb"
    fresh = materialize_quarter(raw, fresh_warehouse, QUARTER)
    assert snapshot(warehouse, QUARTER) == snapshot(fresh_warehouse, QUARTER)
    assert reported(again) == reported(fresh)


def test_a_changed_registry_re_stages_every_source_that_names_agencies(raw, tmp_path, staged):
    warehouse = tmp_path / "wh" / "w.duckdb"
    materialize_quarter(raw, warehouse, QUARTER)
    registry = [row[:4] + (["Sở Y tế tỉnh"] if row[0] == "P1" else row[4:]) for row in REGISTRY]
    write_file(raw / QUARTER / "agencies" / "dm.xlsx", "xlsx",
               [Sheet("DM", ["Mã đơn vị", "Tên đơn vị", "Cấp", "Mã đơn vị cấp trên", "Tên khác"], registry)])
    staged.clear()
    materialize_quarter(raw, warehouse, QUARTER)
    assert sorted(staged) == sorted(["agencies"] + [s for s, specs in SOURCES.items() if any(t.agency_columns for t in specs)])


def test_a_file_whose_reading_a_limit_cut_short_is_read_again_on_the_next_run(raw, tmp_path, staged, monkeypatch):
    monkeypatch.setenv("READER_TIMEOUT_SECONDS", "0.000001")  # every reading child is stopped: not the file's doing
    warehouse = tmp_path / "wh" / "w.duckdb"
    materialize_quarter(raw, warehouse, QUARTER, raise_on_error=False)
    conn = duckdb.connect(str(warehouse), read_only=True)
    kept = {s for (s,) in conn.execute("SELECT source FROM source_stagings WHERE quarter = ?", [QUARTER]).fetchall()}
    cut_short = {s for (s,) in conn.execute("SELECT DISTINCT source FROM file_loads WHERE quarter = ? AND outcome = 'rejected'",
                                            [QUARTER]).fetchall()}
    conn.close()
    assert cut_short and not cut_short & kept
    staged.clear()
    materialize_quarter(raw, warehouse, QUARTER, raise_on_error=False)
    assert cut_short <= set(staged)


def fingerprint(conn, raw, registry=False, window=WINDOW, source="mail"):
    return unchanged.source_fingerprint(conn, raw / QUARTER, source, SOURCES[source], QUARTER, window, registry)


def test_the_fingerprint_changes_with_each_thing_staging_depends_on_and_only_with_those(raw, monkeypatch):
    conn = duckdb.connect()
    conn.execute("CREATE TABLE stg_agencies AS SELECT '2020-Q2' AS quarter, 1 AS row_id, 'P1' AS code, 'Sở Y tế' AS name")
    base = fingerprint(conn, raw, registry=True)
    assert fingerprint(conn, raw, registry=True) == base
    assert fingerprint(conn, raw, registry=False) != base
    assert fingerprint(conn, raw, registry=True, window=(WINDOW[0], dt.date(2020, 6, 29))) != base
    conn.execute("UPDATE stg_agencies SET name = 'Sở Y Tế'")
    assert fingerprint(conn, raw, registry=True) != base
    conn.execute("UPDATE stg_agencies SET name = 'Sở Y tế'")
    monkeypatch.setenv("READER_MEMORY_LIMIT", "3GB")
    assert fingerprint(conn, raw, registry=True) != base
    monkeypatch.delenv("READER_MEMORY_LIMIT")
    monkeypatch.setattr(unchanged, "RULES_VERSION", "another")
    assert fingerprint(conn, raw, registry=True) != base
    monkeypatch.undo()
    assert fingerprint(conn, raw, registry=True) == base
    (raw / QUARTER / "iso" / "iso.xlsx").unlink()  # another source's file: not this one's business
    assert fingerprint(conn, raw, registry=True) == base
    with open(raw / QUARTER / "mail" / "mail.xlsx", "ab") as handle:
        handle.write(b"\0")
    changed = fingerprint(conn, raw, registry=True)
    assert changed != base
    (raw / QUARTER / "mail" / "~$mail.xlsx").write_bytes(b"lock")  # ignored, but listed in file_loads
    assert fingerprint(conn, raw, registry=True) != changed


def _table_digests(conn, catalog: str, quarter: str) -> dict[str, str]:
    from pipeline.lib.lake import LAKE_OWN_TABLES, versioned_tables

    return {table: conn.execute(
        f"SELECT sha256(coalesce(string_agg(CAST(t AS VARCHAR), chr(10) ORDER BY CAST(t AS VARCHAR)), '')) "
        f'FROM {catalog}.main."{table}" t WHERE quarter = ?', [quarter]).fetchone()[0]
        for table in versioned_tables(conn, catalog) if table not in LAKE_OWN_TABLES}


def test_a_version_writes_only_the_tables_that_changed_and_reads_whole_at_every_version(raw, tmp_path):
    from pipeline.lib.lake import open_lake, published_versions

    warehouse = tmp_path / "wh" / "w.duckdb"
    materialize_quarter(raw, warehouse, QUARTER)
    working = duckdb.connect(str(warehouse), read_only=True)
    first = _table_digests(working, "w", QUARTER)
    working.close()
    materialize_quarter(raw, warehouse, QUARTER)  # nothing changed
    (raw / QUARTER / "mail" / "thieu cot.xlsx").unlink()
    materialize_quarter(raw, warehouse, QUARTER)
    working = duckdb.connect(str(warehouse), read_only=True)
    third = _table_digests(working, "w", QUARTER)
    working.close()
    lake = open_lake(warehouse)
    versions = published_versions(lake, QUARTER)
    changes = {s: c for s, c in lake.execute("SELECT snapshot_id, changes FROM ducklake_snapshots('lake')").fetchall()}
    lake.close()
    assert [v["version"] for v in versions] == [1, 2, 3] and first != third
    written = [len(changes[v["snapshot_id"]].get("tables_inserted_into", [])) for v in versions]
    assert written[1] == 1 and written[2] > 1  # version 2: its own row of `published_versions` only
    for version, expected in zip(versions, (first, first, third)):
        at = open_lake(warehouse, version["snapshot_id"])
        assert _table_digests(at, "lake", QUARTER) == expected, version
        at.close()
