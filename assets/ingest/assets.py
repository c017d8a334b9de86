"""Ingest: one multi-asset per source folder of the landing zone, built from the table specs.

Each reads every file of `raw/<quarter>/<source>/` once into the raw layer (`raw_<table>`: each record's
cells as the file holds them, with the file, sha256, sheet and Excel row), stages it in SQL (`staging.py`,
`sql/`) into one staging table per export table of that folder (`stg_<table>`), and writes what it saw:
`file_loads` (every file and its outcome), `table_loads` (whether each table loaded) and its findings
(`stage_findings`). All of it in one transaction. A bad file is a finding, never a failed run: the other
files and sources of the quarter still load.
"""


import json
from pathlib import Path

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from assets.ingest.stage_in_sql import StagedTable, ensure_tables, stage_cells
from assets.ingest.unchanged import (
    REGISTRY_TABLE,
    SOURCE_STAGINGS,
    SOURCE_STAGINGS_COLUMNS,
    keep_outcome,
    kept_outcome,
    source_fingerprint,
)
from pipeline.lib.findings import FINDINGS_COLUMNS, STAGE_FINDINGS, STAGE_FINDINGS_COLUMNS, Finding
from pipeline.lib.isolation import LimitsError
from pipeline.lib.messages import say
from pipeline.lib.raw_layer import (
    LEGACY_TEXT_COLUMNS,
    LEGACY_TEXT_TABLE,
    SourceResult,
    stage_source,
    staging_columns,
    staging_descriptions,
)
from pipeline.lib.signoff import refuse_if_signed
from pipeline.lib.tablespecs import SOURCES, TableSpec
from pipeline.lib.warehouse import column_schema, ensure_table, replace_rows, table_exists, transaction
from pipeline.lib.wording import number
from pipeline.orchestration.partitions import partition_of, quarter_window, report_partitions
from pipeline.orchestration.resources import WRITER_POOL, PipelinePaths

FILE_LOADS_COLUMNS = {
    "quarter": "VARCHAR", "source": "VARCHAR", "path": "VARCHAR", "size": "BIGINT", "sha256": "VARCHAR",
    "format": "VARCHAR", "sheets": "VARCHAR", "rows_read": "BIGINT", "outcome": "VARCHAR", "reason": "VARCHAR",
}
TABLE_LOADS_COLUMNS = {
    "quarter": "VARCHAR", "table_name": "VARCHAR", "source": "VARCHAR", "sheets_loaded": "INTEGER",
    "rows": "BIGINT", "status": "VARCHAR", "reason": "VARCHAR",
}


# The finding kinds that fail a staging table's check: ERROR where a figure would be NULL or miss rows, WARN
# where the figure survives (rows set aside, agencies unmatched).
ERROR_KINDS = ("invalid_row", "missing_labels")
WARN_KINDS = ("duplicates_dropped", "duplicates_differ", "unmatched_agency", "outside_quarter")
TABLE_CHECK = "read_cleanly"
# The table loaded and nothing refused (ERROR), no duplicate, unmatched agency or row outside the quarter (WARN).
# One check per table: each check is two events a run in Dagster's storage.
TABLE_CHECK_DESCRIPTION = say("ui.check_table")


def _check_result(spec: TableSpec, report: dict) -> dg.AssetCheckResult:
    """The table's one check: its severity the worst kind found, its metadata a count per kind."""
    counts, loaded = report["counts"], report["status"] == "loaded"
    error = not loaded or any(counts[k] for k in ERROR_KINDS)
    return dg.AssetCheckResult(
        asset_key=spec.staging_table, check_name=TABLE_CHECK, passed=loaded and not any(counts.values()),
        severity=dg.AssetCheckSeverity.ERROR if error else dg.AssetCheckSeverity.WARN,
        metadata={"loaded": loaded, **counts,
                  "first_locations": dg.MetadataValue.md("\n".join(say("ui.item", text=line) for line in report["first"])
                                                         or say("ui.nothing"))},
    )


def _table_report(spec: TableSpec, findings: list[Finding], loads: pd.DataFrame, rows: int) -> dict:
    """What the run reports of one staging table (metadata, check, log), kept with the source's fingerprint so
    that a run which does not stage the source again reports the same."""
    status = loads.loc[loads.table_name == spec.staging_table].iloc[0]
    found = [f for f in findings if f.table == spec.name and f.check_id in ERROR_KINDS + WARN_KINDS]
    return {
        "rows": int(rows), "status": status.status, "reason": status.reason, "sheets_loaded": int(status.sheets_loaded),
        "findings": len([f for f in findings if f.table == spec.name]),
        "counts": {kind: sum(f.check_id == kind for f in found) for kind in ERROR_KINDS + WARN_KINDS},
        "first": [f.text for f in sorted(found, key=lambda f: f.check_id not in ERROR_KINDS)[:10]],
    }


def registry_loaded(conn, quarter: str) -> bool:
    """Whether the quarter's registry (`stg_agencies`) is there to match agency names against."""
    return table_exists(conn, REGISTRY_TABLE) and bool(
        conn.execute(f"SELECT count(*) FROM {REGISTRY_TABLE} WHERE quarter = ?", [quarter]).fetchone()[0])


def _file_loads(quarter: str, source: str, result: SourceResult) -> pd.DataFrame:
    return pd.DataFrame([
        {
            "quarter": quarter, "source": source, "path": f.path, "size": f.size, "sha256": f.sha256,
            "format": f.format, "sheets": json.dumps(f.sheets, ensure_ascii=False), "rows_read": f.rows_read,
            "outcome": f.outcome, "reason": f.reason,
        }
        for f in result.files
    ], columns=list(FILE_LOADS_COLUMNS))


def _table_loads(quarter: str, specs: tuple[TableSpec, ...], result: SourceResult, staged: dict[str, StagedTable]) -> pd.DataFrame:
    rows = []
    for spec in specs:
        sheets = result.loaded_sheets.get(spec.name, 0)
        reason = None
        if not sheets:
            errors = [f.text for f in result.findings if f.severity == "error" and f.file and f.table in (spec.name, None)]
            reason = (
                f"không nạp được trang tính nào của bảng “{spec.title}” từ raw/{quarter}/{spec.source}/"
                + (f" ({number(len(errors))} lỗi, lỗi đầu tiên: {errors[0]})" if errors else " (không tệp nào chứa bảng này)")
            )
        rows.append({
            "quarter": quarter, "table_name": spec.staging_table, "source": spec.source, "sheets_loaded": sheets,
            "rows": staged[spec.name].rows, "status": "loaded" if sheets else "missing", "reason": reason,
        })
    return pd.DataFrame(rows, columns=list(TABLE_LOADS_COLUMNS))


def build_source_asset(source: str, specs: tuple[TableSpec, ...]) -> dg.AssetsDefinition:
    deps = [] if source == "agencies" else [dg.AssetKey(REGISTRY_TABLE)]
    asset_specs = [
        dg.AssetSpec(
            spec.staging_table,
            description=say("ui.staging_table", title=spec.title, name=spec.name, source=source),
            group_name="staging",
            kinds={"duckdb", "excel"},
            deps=deps,
            metadata={"dagster/table_name": spec.staging_table},
        )
        for spec in specs
    ]

    @dg.multi_asset(
        name=f"ingest_{source}",
        specs=asset_specs,
        partitions_def=report_partitions,
        pool=WRITER_POOL,
        can_subset=False,
        check_specs=[dg.AssetCheckSpec(TABLE_CHECK, asset=spec.staging_table, description=TABLE_CHECK_DESCRIPTION)
                     for spec in specs],
    )
    def ingest(context: dg.AssetExecutionContext, paths: PipelinePaths, duckdb: DuckDBResource):
        province, quarter = partition_of(context)
        refuse_if_signed(context, duckdb.database_for(province))
        quarter_dir = paths.require_exports(province, quarter)
        window = quarter_window(quarter)
        with duckdb.connection(province) as conn:
            registry = source != "agencies" and registry_loaded(conn, quarter)
            try:
                fingerprint = source_fingerprint(conn, quarter_dir, source, specs, quarter, window, registry)
                report = kept_outcome(conn, quarter, source, fingerprint, specs)
                if report is None:
                    report = _stage(conn, quarter_dir, source, specs, quarter, window, registry, fingerprint,
                                    Path(paths.cache_dir) if paths.cache_dir else None)
                else:
                    report["log"] = [say("log.source_kept", source=source)]
            except LimitsError as exc:
                raise dg.Failure(description=str(exc), allow_retries=False) from None
        # one message for all files: each log line is an event written to the instance's storage
        if report["log"]:
            context.log.info("\n".join(report["log"]))
        files = dg.MetadataValue.md("\n".join(say("ui.file", path=path, outcome=say(f"outcome.{outcome}"), rows=number(rows))
                                              for path, outcome, rows in report["files"]) or say("ui.no_files"))
        for spec in specs:
            table = report["tables"][spec.name]
            if table["status"] == "missing":
                context.log.warning(table["reason"])
            yield dg.MaterializeResult(
                asset_key=spec.staging_table,
                metadata={
                    "dagster/row_count": table["rows"],
                    "raw_table": f"raw_{spec.name}",
                    "dagster/column_schema": column_schema(staging_columns(spec), staging_descriptions(spec)),
                    "status": table["status"],
                    "sheets_loaded": table["sheets_loaded"],
                    "files": files,
                    "findings": table["findings"],
                },
            )
            yield _check_result(spec, table)

    return ingest


def _stage(conn, quarter_dir: Path, source: str, specs: tuple[TableSpec, ...], quarter: str, window, registry: bool,
           fingerprint: str | None, cache_dir: Path | None) -> dict:
    """Read the source's files and stage them, in one transaction with its loads, findings and fingerprint; the
    report of the staging (what `ingest` yields and logs)."""
    result = stage_source(quarter_dir, source, specs, cache_dir)
    if source != "agencies" and not registry and any(s.agency_columns for s in specs):
        result.findings.append(Finding(
            "registry_missing", "error", source,
            f"danh mục cơ quan (agencies/) của quý không nạp được nên tên cơ quan trong các tệp của "
            f"thư mục {source}/ không được đối chiếu: các số liệu theo cơ quan và theo cấp không tính được",
        ))
    ensure_tables(conn, specs, staging_columns)
    for table, columns in ((STAGE_FINDINGS, STAGE_FINDINGS_COLUMNS), ("file_loads", FILE_LOADS_COLUMNS),
                           ("table_loads", TABLE_LOADS_COLUMNS), (LEGACY_TEXT_TABLE, LEGACY_TEXT_COLUMNS),
                           (SOURCE_STAGINGS, SOURCE_STAGINGS_COLUMNS)):
        ensure_table(conn, table, columns)
    with transaction(conn):
        staged = stage_cells(conn, specs, quarter, window, result.cells, registry, staging_columns)
        del result.cells  # the raw layer is in the warehouse now
        result.findings += [f for table in staged.values() for f in table.findings]
        for file in result.files:  # the rows staging accepted: a row whose cells do not type is refused
            file.rows_read = sum(table.valid_rows_by_file.get(file.path, 0) for table in staged.values())
        findings = pd.DataFrame([f.record(quarter) for f in result.findings], columns=list(FINDINGS_COLUMNS))
        loads = _table_loads(quarter, specs, result, staged)
        replace_rows(conn, STAGE_FINDINGS, STAGE_FINDINGS_COLUMNS, findings.assign(stage=f"ingest_{source}"),
                     {"quarter": quarter, "stage": f"ingest_{source}"})
        replace_rows(conn, "file_loads", FILE_LOADS_COLUMNS, _file_loads(quarter, source, result),
                     {"quarter": quarter, "source": source})
        replace_rows(conn, "table_loads", TABLE_LOADS_COLUMNS, loads, {"quarter": quarter, "source": source})
        replace_rows(conn, LEGACY_TEXT_TABLE, LEGACY_TEXT_COLUMNS,
                     pd.DataFrame(result.legacy, columns=list(LEGACY_TEXT_COLUMNS)[2:]).assign(quarter=quarter, source=source),
                     {"quarter": quarter, "source": source})
        report = {"files": [[f.path, f.outcome, f.rows_read] for f in result.files],
                  "tables": {spec.name: _table_report(spec, result.findings, loads, staged[spec.name].rows) for spec in specs}}
        keep_outcome(conn, quarter, source, None if result.cut_short else fingerprint, report)
    lines = [say("log.file_reused", source=source, file=relative) for relative in result.reused]
    lines += [say("log.file_read", source=source, file=f.path, outcome=say(f"outcome.{f.outcome}"), rows=number(f.rows_read),
                  reason=say("log.file_reason", reason=f.reason) if f.reason else "") for f in result.files]
    return report | {"log": lines}


ingest_assets = [build_source_asset(source, specs) for source, specs in SOURCES.items()]
