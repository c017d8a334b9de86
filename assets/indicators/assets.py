"""The `indicators` asset: every figure of the report for the quarter, with figure-level lineage.

For each definition in `definitions.py` it records the value (NULL when a table it reads did not load,
with an error finding saying which), the SQL and its hash, and the exact staging rows it counted
(`indicator_lineage`), which carry the raw file, sha256, sheet and Excel row.
"""


import hashlib
import json

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from assets.indicators.definitions import INDICATORS, INDICATORS_BY_ID, SECTIONS, Indicator, source_tables
from pipeline.lib.findings import STAGE_FINDINGS, STAGE_FINDINGS_COLUMNS, Finding
from pipeline.lib.messages import say
from pipeline.lib.signoff import refuse_if_signed
from pipeline.lib.sqlfile import run_named
from pipeline.lib.tablespecs import TABLES
from pipeline.lib.versions import append_version, change_share, figure_changes, keep_unversioned, shown_value
from pipeline.lib.warehouse import column_schema, ensure_table, insert_frame, table_exists
from pipeline.orchestration.partitions import partition_of, quarter_window, report_partitions
from pipeline.orchestration.resources import WRITER_POOL

INDICATOR_COLUMNS = {
    "quarter": "VARCHAR", "indicator_id": "VARCHAR", "value": "DOUBLE", "unit": "VARCHAR",
    "label": "VARCHAR", "section": "VARCHAR", "position": "INTEGER",
}
DEFINITION_COLUMNS = {
    "quarter": "VARCHAR", "indicator_id": "VARCHAR", "definition": "VARCHAR", "definition_sha256": "VARCHAR",
    "numerator": "VARCHAR", "denominator": "VARCHAR", "tables": "VARCHAR", "files": "VARCHAR", "missing": "VARCHAR",
}
LINEAGE_COLUMNS = {
    "quarter": "VARCHAR", "indicator_id": "VARCHAR", "table_name": "VARCHAR", "row_id": "BIGINT", "detail": "VARCHAR",
}
STAGE = "indicators"


def definition_text(indicator: Indicator) -> str:
    if indicator.rows is not None:
        return indicator.rows
    return f"100 * [{indicator.numerator}] / [{indicator.denominator}]"


def missing_tables(conn, quarter: str) -> dict[str, str]:
    """Staging tables that did not load this quarter -> the reason."""
    missing = {t.staging_table: f"bảng “{t.title}” chưa được nạp cho quý này" for t in TABLES}
    if table_exists(conn, "table_loads"):
        for table, status, reason in conn.execute(
            "SELECT table_name, status, reason FROM table_loads WHERE quarter = ?", [quarter]
        ).fetchall():
            if status == "loaded":
                missing.pop(table, None)
            else:
                missing[table] = reason
    return missing


def compute_indicators(conn, quarter: str, run_id: str) -> tuple[pd.DataFrame, list[Finding], int]:
    """Replace the quarter's indicators, definitions and lineage in one transaction, keeping the figures
    replaced and recording the new ones as a version of `run_id`; return the values, the findings and
    the version."""
    start, end = quarter_window(quarter)
    params = {"quarter": quarter, "start": start, "end": end}
    missing = missing_tables(conn, quarter)
    for table, columns in (("indicators", INDICATOR_COLUMNS), ("indicator_definitions", DEFINITION_COLUMNS),
                           ("indicator_lineage", LINEAGE_COLUMNS)):
        ensure_table(conn, table, columns)
    values: dict[str, float | None] = {}
    definitions, findings = [], []
    conn.execute("BEGIN TRANSACTION")
    try:
        keep_unversioned(conn, "indicators", INDICATOR_COLUMNS, quarter)
        for table in ("indicators", "indicator_definitions", "indicator_lineage"):
            conn.execute(f"DELETE FROM {table} WHERE quarter = ?", [quarter])
        for indicator in INDICATORS:  # each counted row, in one insert per indicator
            if indicator.rows is not None and not any(t in missing for t in source_tables(indicator)):
                run_named(conn, f"INSERT INTO indicator_lineage SELECT $quarter, '{indicator.id}', table_name, "
                                f"row_id, CAST(detail AS VARCHAR) FROM ({indicator.rows})", params)
        counted = dict(conn.execute("SELECT indicator_id, count(*) FROM indicator_lineage WHERE quarter = ? GROUP BY 1",
                                    [quarter]).fetchall())
        lineage_files = _lineage_files(conn, quarter)
        for indicator in INDICATORS:
            tables = source_tables(indicator)
            absent = [t for t in tables if t in missing]
            text = definition_text(indicator)
            files: list = []
            if absent:
                values[indicator.id] = None
                findings.append(Finding(
                    "indicator_unavailable", "error", indicator.section,
                    f"chỉ tiêu {indicator.id} ({indicator.label}) để trống (NULL, “Chưa có số liệu”) vì thiếu nguồn: "
                    + "; ".join(missing[t] for t in absent),
                ))
            elif indicator.rows is not None:
                values[indicator.id] = float(counted.get(indicator.id, 0))
                files = [f for table in sorted(lineage_files.get(indicator.id, {})) for f in lineage_files[indicator.id][table]]
            else:
                numerator, denominator = values[indicator.numerator], values[indicator.denominator]
                values[indicator.id] = (
                    None if numerator is None or denominator is None
                    else (100.0 * numerator / denominator if denominator else None)
                )
                if numerator is not None and not denominator:
                    findings.append(Finding(
                        "rate_undefined", "warning", indicator.section,
                        f"chỉ tiêu {indicator.id} ({indicator.label}): mẫu số {indicator.denominator} bằng 0, "
                        "tỷ lệ để trống (NULL)",
                    ))
            definitions.append({
                "quarter": quarter, "indicator_id": indicator.id, "definition": text,
                "definition_sha256": hashlib.sha256(text.encode()).hexdigest(),
                "numerator": indicator.numerator, "denominator": indicator.denominator,
                "tables": json.dumps(list(tables)), "files": json.dumps(files, ensure_ascii=False),
                "missing": json.dumps({t: missing[t] for t in absent}, ensure_ascii=False) if absent else None,
            })
        frame = pd.DataFrame([
            {"quarter": quarter, "indicator_id": i.id, "value": values[i.id], "unit": i.unit, "label": i.label,
             "section": SECTIONS[i.section], "position": n}
            for n, i in enumerate(INDICATORS, start=1)
        ])
        insert_frame(conn, "indicators", frame, INDICATOR_COLUMNS)
        version = append_version(conn, "indicators", INDICATOR_COLUMNS, quarter, run_id)
        insert_frame(conn, "indicator_definitions", pd.DataFrame(definitions), DEFINITION_COLUMNS)
        ensure_table(conn, STAGE_FINDINGS, STAGE_FINDINGS_COLUMNS)
        conn.execute(f"DELETE FROM {STAGE_FINDINGS} WHERE quarter = ? AND stage = ?", [quarter, STAGE])
        insert_frame(conn, STAGE_FINDINGS, pd.DataFrame(
            [f.record(quarter) | {"stage": STAGE} for f in findings], columns=list(STAGE_FINDINGS_COLUMNS)
        ), STAGE_FINDINGS_COLUMNS)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return frame, findings, version


def _lineage_files(conn, quarter: str) -> dict[str, dict[str, list[dict]]]:
    """indicator -> table -> the raw files (with sha256) of the rows it counted there, by file: one query per table
    counted from, not one per indicator and table (each query is planned, about 10 ms)."""
    files: dict[str, dict[str, list[dict]]] = {}
    tables = [t for (t,) in conn.execute("SELECT DISTINCT table_name FROM indicator_lineage WHERE quarter = ? ORDER BY 1",
                                         [quarter]).fetchall()]
    for table in tables:
        for indicator_id, f, s, n in conn.execute(
                f"SELECT l.indicator_id, t._file, t._sha256, count(*) FROM indicator_lineage l JOIN {table} t "
                "ON t.quarter = l.quarter AND t.row_id = l.row_id "
                "WHERE l.quarter = ? AND l.table_name = ? GROUP BY 1, 2, 3 ORDER BY 1, 2", [quarter, table]).fetchall():
            files.setdefault(indicator_id, {}).setdefault(table, []).append({"table": table, "file": f, "sha256": s, "rows": n})
    return files


FIGURE_TABLES = [t.staging_table for t in TABLES if t.figures]


@dg.asset(
    description=say("ui.asset_indicators"),
    partitions_def=report_partitions,
    group_name="indicators",
    kinds={"duckdb", "sql"},
    pool=WRITER_POOL,
    deps=[*FIGURE_TABLES, "reconciliation"],
    check_specs=[
        dg.AssetCheckSpec("all_indicators_present", asset="indicators", blocking=True,
                          description=say("ui.check_all_present")),
        dg.AssetCheckSpec("figures_kept_since_last_version", asset="indicators",
                          description=say("ui.check_figures_kept")),
    ],
)
def indicators(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
    """Every figure of the report for the quarter (contract of `shared/spec/indicators.md`), computed by
    the definitions in `assets/indicators/definitions.py`; lineage in `indicator_lineage`. The figures it
    replaces stay in `indicators_history` (`pipeline.lib.versions`)."""
    province, quarter = partition_of(context)
    refuse_if_signed(context, duckdb.database_for(province))
    try:
        share = change_share()
    except ValueError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    with duckdb.connection(province) as conn:
        frame, findings, version = compute_indicators(conn, quarter, context.run.run_id)
        present = {r[0] for r in conn.execute(
            "SELECT indicator_id FROM indicators WHERE quarter = ?", [quarter]).fetchall()}
        changes = figure_changes(conn, quarter, version, share)
    for finding in findings:
        context.log.warning(finding.text)
    alarming = changes[changes.kind.isin(["became NULL", "moved"])]
    if len(alarming):
        context.log.warning(say("log.figures_alarm", count=len(alarming), quarter=quarter, share=share,
                                previous=int(alarming.from_version.iloc[0]),
                                changes="; ".join(_change_text(c) for c in alarming.itertuples())))
    expected = set(INDICATORS_BY_ID)
    shown = frame.assign(value=frame["value"].map(lambda v: None if pd.isna(v) else round(v, 4)))
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(frame),
            "dagster/column_schema": column_schema(INDICATOR_COLUMNS),
            "dagster/column_lineage": dg.TableColumnLineage(deps_by_column={
                "value": [dg.TableColumnDep(asset_key=dg.AssetKey(t), column_name="row_id") for t in FIGURE_TABLES],
            }),
            "values": dg.MetadataValue.table(
                records=[dg.TableRecord(r) for r in shown[["indicator_id", "label", "value", "unit"]].to_dict("records")],
                schema=dg.TableSchema(columns=[dg.TableColumn("indicator_id"), dg.TableColumn("label"),
                                               dg.TableColumn("value", "float"), dg.TableColumn("unit")]),
            ),
            "null_indicators": [i for i, v in zip(frame.indicator_id, frame.value) if pd.isna(v)],
            "version": version,
            "changed_since_previous_version": len(changes),
        }
    )
    yield dg.AssetCheckResult(
        check_name="all_indicators_present",
        passed=present == expected,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"missing": sorted(expected - present), "present": len(present)},
    )
    became_null = changes[changes.kind == "became NULL"]
    yield dg.AssetCheckResult(
        check_name="figures_kept_since_last_version",
        passed=alarming.empty,
        severity=dg.AssetCheckSeverity.ERROR if len(became_null) else dg.AssetCheckSeverity.WARN,
        metadata={
            "version": version,
            "became_null": len(became_null),
            "moved": int((changes.kind == "moved").sum()),
            "limit": f"{share:.0%}",
            "changes": dg.MetadataValue.md("\n".join(say("ui.item", text=_change_text(c)) for c in alarming.itertuples())
                                           or say("ui.nothing")),
        },
    )


def _change_text(change) -> str:
    return say("log.figure_change", indicator=change.indicator_id, before=shown_value(change.before),
               after=shown_value(change.after), kind=say(f"history.kind.{change.kind}"))
