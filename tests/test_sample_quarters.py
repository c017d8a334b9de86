"""End to end on the sample quarters: every indicator, finding and lineage count, pinned."""

import math
import re
from pathlib import Path

import duckdb
import pytest

from assets.indicators.definitions import INDICATORS

SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec" / "indicators.md"


def published_q2() -> dict[str, float]:
    """The Q2 2020 column of the spec, where it gives a number (the first number of the cell)."""
    values = {}
    for line in SPEC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 5 and re.match(r"^[a-z]+\.", cells[1]):
            match = re.match(r"^(\d+(?:\.\d+)?)\b", cells[5])
            if match and not cells[5].startswith(">"):
                values[cells[1]] = float(match[1])
    return values


def test_spec_column_parsed():
    assert len(published_q2()) >= 50 if SPEC.exists() else pytest.skip("shared/spec not beside the repo")


def test_sample_truth_reproduces_the_published_q2_figures(truth):
    if not SPEC.exists():
        pytest.skip("shared/spec not beside the repo")
    got = truth["2020-Q2"]["indicators"]
    for indicator_id, value in published_q2().items():
        decimals = len(str(value).split(".")[1]) if "." in str(value) and value != int(value) else 0
        assert round(got[indicator_id], decimals) == pytest.approx(value), indicator_id
    assert got["ioffice.documents.electronic_rate"] > 90


@pytest.mark.parametrize("quarter", ["2020-Q1", "2020-Q2"])
def test_every_indicator_equals_the_ground_truth(db, truth, quarter):
    got = dict(db.execute("SELECT indicator_id, value FROM indicators WHERE quarter = ?", [quarter]).fetchall())
    assert set(got) == {i.id for i in INDICATORS}
    for indicator_id, expected in truth[quarter]["indicators"].items():
        assert got[indicator_id] is not None and math.isclose(got[indicator_id], expected, rel_tol=1e-12), indicator_id


def test_q2_indicators_equal_the_reference_report(db):
    if not SPEC.exists():
        pytest.skip("shared/spec not beside the repo")
    got = dict(db.execute("SELECT indicator_id, value FROM indicators WHERE quarter = '2020-Q2'").fetchall())
    assert got["dvc.dossiers.level4"] == 11357 and got["ca.active"] == 1626
    for indicator_id, value in published_q2().items():
        if value == int(value):
            assert got[indicator_id] == value, indicator_id


@pytest.mark.parametrize("quarter", ["2020-Q1", "2020-Q2"])
def test_findings_are_exactly_the_planted_defects(db, truth, quarter):
    found = db.execute(
        "SELECT check_id, file, row, cell FROM findings WHERE quarter = ? AND severity IN ('error', 'warning') ORDER BY ALL",
        [quarter]).fetchall()
    planted = sorted((p["check_id"], p["file"], p["row"], p["cell"]) for p in truth[quarter]["planted"])
    assert sorted(found) == planted


def test_summary_mismatch_names_the_typed_cell(db):
    message, cell = db.execute(
        "SELECT message, cell FROM findings WHERE quarter = '2020-Q2' AND check_id = 'summary_mismatch'").fetchone()
    assert "ghi 11.375" in message and "11.357" in message and cell.startswith("F")


@pytest.mark.parametrize("quarter", ["2020-Q1", "2020-Q2"])
def test_count_lineage_has_exactly_the_counted_rows(db, quarter):
    counts = dict(db.execute(
        "SELECT indicator_id, count(*) FROM indicator_lineage WHERE quarter = ? GROUP BY 1", [quarter]).fetchall())
    values = dict(db.execute("SELECT indicator_id, value FROM indicators WHERE quarter = ?", [quarter]).fetchall())
    for indicator in INDICATORS:
        if indicator.unit == "count":
            assert counts.get(indicator.id, 0) == values[indicator.id], indicator.id


def test_lineage_reaches_the_raw_row(db, sample_raw):
    import python_calamine

    file, sheet, row, address = db.execute(
        "SELECT t._file, t._sheet, t._row, r.address FROM indicator_lineage l JOIN stg_mailboxes t USING (quarter, row_id) "
        "JOIN raw_mailboxes r ON r.quarter = t.quarter AND r.raw_id = t.raw_id "
        "WHERE l.quarter = '2020-Q2' AND l.indicator_id = 'mail.created' ORDER BY t._row LIMIT 1").fetchone()
    assert file.startswith("mail/") and row > 1
    cells = python_calamine.CalamineWorkbook.from_path(str(sample_raw / "2020-Q2" / file)).get_sheet_by_name(sheet).to_python()
    assert address["type"] == "s" and address["text"] in cells[row - 1]


def test_the_raw_layer_keeps_each_cells_own_type_so_staging_reads_text_and_numbers_apart(db):
    # exports.md: a text `74.019` is 74019 and a number 74.019 stays 74.019; the raw layer keeps which is which
    rows = db.execute(
        "SELECT r.received, s.received FROM raw_dossier_summary r JOIN stg_dossier_summary s USING (quarter, raw_id) "
        "WHERE r.quarter = '2020-Q2' AND r.received.text IS NOT NULL").fetchall()
    assert rows and {cell["type"] for cell, _ in rows} <= {"n", "s"}
    for cell, typed in rows:
        expected = float(cell["text"]) if cell["type"] == "n" else float(cell["text"].replace(".", "").replace(",", "."))
        assert typed == expected


def test_each_staging_row_comes_from_one_raw_row_of_its_file(db):
    for table in ("mailboxes", "dossiers", "documents", "dossier_summary"):
        unmatched = db.execute(
            f"SELECT count(*) FROM stg_{table} s LEFT JOIN raw_{table} r USING (quarter, raw_id) "
            "WHERE r.raw_id IS NULL OR r._file <> s._file OR r._sheet <> s._sheet OR r._row <> s._row OR r._sha256 <> s._sha256"
        ).fetchone()[0]
        assert unmatched == 0, table


@pytest.mark.parametrize("quarter", ["2020-Q1", "2020-Q2"])
def test_each_cross_check_shows_on_the_staging_table_it_guards(sample_runs, db, quarter):
    from assets.reconcile.assets import GUARDS

    evaluations = {(e.asset_key.to_user_string(), e.check_name): e for e in sample_runs[1][quarter].get_asset_check_evaluations()}
    assert ("reconciliation", "exports_agree") not in evaluations
    for name, table in GUARDS.items():
        found = db.execute("SELECT count(*) FROM findings WHERE quarter = ? AND check_id = ?", [quarter, name]).fetchone()[0]
        evaluation = evaluations[(table, f"no_{name}")]
        assert (evaluation.passed, evaluation.metadata["rows"].value) == (found == 0, found)
    assert {t for t in GUARDS.values()} == {"stg_dossiers", "stg_procedures", "stg_dossier_summary", "stg_iso", "stg_certificates",
                                             "stg_mailboxes"}


def test_rerun_of_a_quarter_leaves_identical_tables_and_other_quarters_untouched(sample_raw, warehouse):
    from tests.conftest import materialize_quarter, snapshot

    before = {q: snapshot(warehouse, q) for q in ("2020-Q1", "2020-Q2")}
    assert len(before["2020-Q2"]) > 20
    assert materialize_quarter(sample_raw, warehouse, "2020-Q2").success
    assert {q: snapshot(warehouse, q) for q in ("2020-Q1", "2020-Q2")} == before
    conn = duckdb.connect(str(warehouse), read_only=True)
    for table in ("indicators", "findings"):  # the re-run is one more version, the same rows as the one before
        versions = [v for (v,) in conn.execute("SELECT version FROM versions WHERE quarter = '2020-Q2' AND table_name = ? "
                                              "ORDER BY version", [table]).fetchall()]
        assert versions == list(range(1, len(versions) + 1)) and len(versions) >= 2
        last, previous = (conn.execute(f"SELECT * EXCLUDE (version) FROM {table}_history WHERE quarter = '2020-Q2' "
                                       "AND version = ? ORDER BY ALL", [v]).fetchall() for v in versions[-1:-3:-1])
        assert last == previous and len(last) > 0
    conn.close()


def test_same_seed_gives_the_same_bytes(sample_raw, tmp_path):
    import hashlib

    from pipeline.sample.generator import generate

    generate(tmp_path)

    def digests(root):
        return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(root.rglob("*")) if p.is_file()}

    assert digests(tmp_path) == digests(sample_raw)


def test_the_sample_quarters_unicode_text_is_never_read_as_a_legacy_encoding(db):
    """Issue 29: NFD, both tone placements, non-breaking spaces, Latin names: nothing of the sample is converted."""
    assert db.execute("SELECT count(*) FROM raw_legacy_text").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM findings WHERE check_id = 'legacy_encoding'").fetchone()[0] == 0
