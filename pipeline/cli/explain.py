"""`python -m pipeline explain QUARTER INDICATOR_ID [--rows FILE.xlsx|FILE.csv]`: how a figure was made.

Prints the value, label, definition (SQL and its sha256), the raw files with their sha256 (whether the file
in RAW_DIR still has that hash, and its copy in the archive), and the contributing rows per file; `--rows` writes every
contributing row with its location (file, sheet, Excel row) and its original cell values, so an auditor
can open the source file at that row and find the record. `--version N|signed` reads all of it from that
published version of the versioned warehouse (`pipeline.lib.lake`), whatever ran since.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.lib import lake
from pipeline.lib.archive import archived
from pipeline.lib.messages import say
from pipeline.lib.reader import sha256_of
from pipeline.lib.tablespecs import TABLES
from pipeline.lib.wording import number
from pipeline.orchestration.partitions import parse_quarter
from pipeline.orchestration.resources import open_for_reading


class ExplainError(Exception):
    """A message for the user (unknown quarter or indicator, no warehouse)."""


def _open(warehouse: str) -> duckdb.DuckDBPyConnection:
    return open_for_reading(warehouse, ExplainError)


def contributing_rows(conn, quarter: str, indicator_id: str) -> pd.DataFrame:
    """One row per counted record: location, sha256, detail and the cells as the file holds them (from the raw
    layer, `raw_<table>`), one column per label of the spec."""
    tables = [t for (t,) in conn.execute(
        "SELECT DISTINCT table_name FROM indicator_lineage WHERE quarter = ? AND indicator_id = ? ORDER BY 1",
        [quarter, indicator_id]).fetchall()]
    frames = []
    for table in tables:
        spec = next(s for s in TABLES if s.staging_table == table)
        cells = "".join(f", r.{c.name}.text AS \"{c.labels[0]}\"" for c in spec.columns)
        frames.append(conn.execute(
            f"SELECT l.table_name AS staging_table, t._file AS file, t._sheet AS sheet, t._row AS row, "
            f"t._sha256 AS sha256, l.detail{cells} FROM indicator_lineage l JOIN {table} t "
            "ON t.quarter = l.quarter AND t.row_id = l.row_id "
            f"JOIN raw_{spec.name} r ON r.quarter = t.quarter AND r.raw_id = t.raw_id "
            "WHERE l.quarter = ? AND l.indicator_id = ? AND l.table_name = ? ORDER BY t._file, t._sheet, t._row",
            [quarter, indicator_id, table]).df())
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["staging_table", "file", "sheet", "row", "sha256", "detail"])


def _open_version(warehouse: str, quarter: str, wanted: str) -> tuple[duckdb.DuckDBPyConnection, dict]:
    """The lake as the version `wanted` (a number or `signed`) of the quarter left it, and that version."""
    try:
        version = lake.resolve_version(warehouse, quarter, wanted)
        return lake.open_lake(warehouse, version["snapshot_id"]), version
    except lake.LakeError as exc:
        raise ExplainError(str(exc)) from None


def _version_line(quarter: str, version: dict) -> str:
    signoff = version.get("signoff")
    return say("explain.version", version=version["version"], quarter=quarter, snapshot=version["snapshot_id"],
               signed=say("explain.version_signed", signed_by=signoff["signed_by"], signed_at=signoff["signed_at"])
               if signoff else "",
               amendment=say("explain.version_amendment", amendment_of=version["amendment_of"],
                             reason=version["amend_reason"]) if version["amendment_of"] else "")


def _file_state(warehouse: str, raw_dir: str, quarter: str, file: dict) -> str:
    """Whether the file in RAW_DIR still has the sha256 the figure counted, and where its archived copy is."""
    current = Path(raw_dir) / quarter / file["file"]
    state = say("explain.file_unchanged" if current.exists() and sha256_of(current) == file["sha256"]
                else "explain.file_changed" if current.exists() else "explain.file_not_found")
    copy = archived(warehouse, file["sha256"])
    return say("explain.archived", state=state, copy=copy) if copy else say("explain.not_archived", state=state)


def explain(warehouse: str, raw_dir: str, quarter: str, indicator_id: str,
            version: str | None = None) -> tuple[str, pd.DataFrame]:
    """The figure as the working warehouse has it now, or as the published `version` (a number or `signed`)."""
    try:
        parse_quarter(quarter)
    except ValueError as exc:
        raise ExplainError(str(exc)) from None
    conn, published = _open_version(warehouse, quarter, version) if version else (_open(warehouse), None)
    try:
        quarters = [q for (q,) in conn.execute("SELECT DISTINCT quarter FROM indicators ORDER BY 1").fetchall()]
        if quarter not in quarters:
            raise ExplainError(say("explain.quarter_missing", quarter=quarter,
                                   quarters=", ".join(quarters) or say("explain.no_quarter")))
        row = conn.execute(
            "SELECT i.value, i.unit, i.label, i.section, d.definition, d.definition_sha256, d.numerator, d.denominator, "
            "d.files, d.missing FROM indicators i JOIN indicator_definitions d USING (quarter, indicator_id) "
            "WHERE i.quarter = ? AND i.indicator_id = ?", [quarter, indicator_id]).fetchone()
        if row is None:
            ids = [i for (i,) in conn.execute(
                "SELECT indicator_id FROM indicators WHERE quarter = ? ORDER BY position", [quarter]).fetchall()]
            raise ExplainError(say("explain.unknown_indicator", indicator=indicator_id, quarter=quarter, indicators=", ".join(ids)))
        value, unit, label, section, definition, sha, numerator, denominator, files, missing = row
        shown = say("explain.value_null") if value is None else (
            f"{value:.4f} %".replace(".", ",") if unit == "percent" else number(round(value)))
        lines = [say("explain.title", indicator=indicator_id, label=label), say("explain.section", section=section),
                 say("explain.quarter", quarter=quarter)]
        if published:
            lines.append(_version_line(quarter, published))
        lines += [say("explain.value", value=shown), say("explain.definition", sha256=sha[:16])]
        lines += [f"    {line}" for line in definition.splitlines()]
        if missing:
            lines.append(say("explain.missing_sources"))
            lines += [f"    {t}: {why}" for t, why in json.loads(missing).items()]
        if numerator:
            for part in (numerator, denominator):
                v = conn.execute("SELECT value FROM indicators WHERE quarter = ? AND indicator_id = ?", [quarter, part]).fetchone()[0]
                lines.append(say("explain.numerator" if part == numerator else "explain.denominator", part=part,
                                 value="NULL" if v is None else number(round(v)), quarter=quarter))
        rows = contributing_rows(conn, quarter, indicator_id)
        if files and json.loads(files):
            lines.append(say("explain.source_files"))
            for f in json.loads(files):
                lines.append(say("explain.source_file", file=f["file"], sha256=f["sha256"], rows=number(f["rows"]),
                                 state=_file_state(warehouse, raw_dir, quarter, f)))
        return "\n".join(lines), rows
    finally:
        conn.close()


def write_rows(rows: pd.DataFrame, target: Path) -> None:
    """CSV, or xlsx with every value as text (values come from the exports: never formulas)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix.lower() == ".csv":
        rows.to_csv(target, index=False, encoding="utf-8-sig")
        return
    import xlsxwriter

    book = xlsxwriter.Workbook(str(target), {"strings_to_formulas": False, "strings_to_urls": False})
    sheet = book.add_worksheet("Dòng đóng góp")
    bold = book.add_format({"bold": True})
    for c, name in enumerate(rows.columns):
        sheet.write_string(0, c, str(name), bold)
    for r, record in enumerate(rows.itertuples(index=False), start=1):
        for c, value in enumerate(record):
            if value is None or (isinstance(value, float) and value != value):
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                sheet.write_number(r, c, value)
            else:
                sheet.write_string(r, c, str(value))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, len(rows), max(len(rows.columns) - 1, 0))
    book.close()
