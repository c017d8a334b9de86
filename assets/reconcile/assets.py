"""Reconcile: the checks of `checks.sql` over the quarter's staging tables, and the `findings` table.

`reconciliation` runs every named query of `checks.sql` (one query per check, next to this asset) and
keeps their findings; `exports_agree` shows each query's result as a Dagster check on the staging table it
guards; `findings` publishes every finding of the quarter (ingest, reconciliation, indicators) as the
contract table, replaced atomically when the quarter is re-materialized.
"""


from pathlib import Path

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from pipeline.lib.findings import FINDINGS_COLUMNS, STAGE_FINDINGS, STAGE_FINDINGS_COLUMNS
from pipeline.lib.messages import say
from pipeline.lib.signoff import refuse_if_signed
from pipeline.lib.sqlfile import guarded_tables, named_queries, run_named
from pipeline.lib.tablespecs import TABLES
from pipeline.lib.warehouse import column_schema, ensure_table, replace_partition
from pipeline.lib.wording import located, quarter_words
from pipeline.orchestration.partitions import partition_of, previous_quarter, quarter_window, report_partitions
from pipeline.orchestration.resources import WRITER_POOL

CHECKS_SQL = Path(__file__).with_name("checks.sql")
MACROS_SQL = Path(__file__).with_name("macros.sql")
STAGE = "reconcile"
FIRST_LOCATIONS = 10


CHECKS = named_queries(CHECKS_SQL)
GUARDS = guarded_tables(CHECKS_SQL)  # query -> the staging table it questions


def run_checks(conn, quarter: str) -> pd.DataFrame:
    start, end = quarter_window(quarter)
    previous = previous_quarter(quarter)
    params = {"quarter": quarter, "start": start, "end": end, "previous": previous,
              "previous_end": quarter_window(previous)[1],
              "quarter_words": quarter_words(quarter), "previous_words": quarter_words(previous),
              **{f"title_{t.name}": t.title for t in TABLES}}
    conn.execute(MACROS_SQL.read_text(encoding="utf-8"))
    frames = []
    columns = ["check_id", "severity", "source", "file", "sheet", "row", "cell", "message"]
    for name, query in CHECKS.items():
        rows = run_named(conn, query, params).fetchall()
        frames.append(pd.DataFrame(rows, columns=columns))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    frame["message"] = [located(r.message, r.file, r.sheet, r.row, r.cell) for r in frame.itertuples()]
    frame.insert(0, "quarter", quarter)
    return frame


@dg.asset(
    description=say("ui.asset_reconciliation"),
    partitions_def=report_partitions,
    group_name="reconcile",
    kinds={"duckdb", "sql"},
    pool=WRITER_POOL,
    deps=[t.staging_table for t in TABLES],
)
def reconciliation(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
    """Cross-checks between the quarter's exports (and the previous quarter's, when in the warehouse):
    unknown procedures, service levels, the iGate summary's totals against the dossiers, ISO levels,
    certificate and mailbox continuity. None of them changes a figure: each says what was done."""
    province, quarter = partition_of(context)
    refuse_if_signed(context, duckdb.database_for(province))
    with duckdb.connection(province) as conn:
        found = run_checks(conn, quarter)
        replace_partition(conn, [(STAGE_FINDINGS, STAGE_FINDINGS_COLUMNS, found.assign(stage=STAGE),
                                  {"quarter": quarter, "stage": STAGE})])
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(found),
        "by_check": {k: int(v) for k, v in found.check_id.value_counts().items()},
    })


@dg.multi_asset_check(
    name="exports_agree",
    specs=[dg.AssetCheckSpec(
        f"no_{name}", asset=table, additional_deps=["reconciliation"],
        description=say("ui.check_guard", name=name)) for name, table in GUARDS.items()],
    pool=WRITER_POOL,
)
def exports_agree(context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource):
    """Each cross-check of `checks.sql` as a check on the staging table whose rows it questions (the
    dossiers for unknown procedures, the iGate summary for its totals…), from the findings `reconciliation`
    kept: the checks cost no query of their own."""
    province, quarter = partition_of(context.op_execution_context)
    with duckdb.connection(province) as conn:
        found = conn.execute(f"SELECT check_id, message FROM {STAGE_FINDINGS} WHERE quarter = ? AND stage = ? "
                             "ORDER BY CASE severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, source, file, sheet, row",
                             [quarter, STAGE]).df()
    for name, table in GUARDS.items():
        rows = found[found.check_id == name]
        yield dg.AssetCheckResult(
            asset_key=table, check_name=f"no_{name}", passed=rows.empty, severity=dg.AssetCheckSeverity.WARN,
            metadata={"rows": len(rows), "first_locations": dg.MetadataValue.md(
                "\n".join(say("ui.item", text=m) for m in rows.message.head(FIRST_LOCATIONS)) or say("ui.nothing"))})


@dg.asset(
    description=say("ui.asset_findings"),
    partitions_def=report_partitions,
    group_name="reconcile",
    kinds={"duckdb"},
    pool=WRITER_POOL,
    deps=["raw_files", "reconciliation", "indicators"],
    check_specs=[dg.AssetCheckSpec("no_error_findings", asset="findings",
                                   description=say("ui.check_no_errors"))],
)
def findings(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
    """Every problem found in the quarter's exports (contract table of `shared/spec/indicators.md`):
    check_id, severity, source, file, sheet, row, message, plus the cell where one is at fault."""
    province, quarter = partition_of(context)
    refuse_if_signed(context, duckdb.database_for(province))
    with duckdb.connection(province) as conn:
        ensure_table(conn, STAGE_FINDINGS, STAGE_FINDINGS_COLUMNS)
        frame = conn.execute(
            f"SELECT {', '.join(FINDINGS_COLUMNS)} FROM {STAGE_FINDINGS} WHERE quarter = ? "
            "ORDER BY CASE severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, source, file, sheet, row",
            [quarter],
        ).df()
        version = replace_partition(conn, [("findings", FINDINGS_COLUMNS, frame, {"quarter": quarter})],
                                    versioned_run=context.run.run_id)["findings"]
    counts = frame.severity.value_counts().to_dict()
    errors = frame[frame.severity == "error"]
    yield dg.MaterializeResult(metadata={
        "dagster/row_count": len(frame),
        "dagster/column_schema": column_schema(FINDINGS_COLUMNS),
        "version": version,
        **{f"{s}s": int(counts.get(s, 0)) for s in ("error", "warning", "info")},
    })
    yield dg.AssetCheckResult(
        check_name="no_error_findings",
        passed=errors.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"errors": len(errors), "first": dg.MetadataValue.md(
            "\n".join(say("ui.item", text=m) for m in errors.message.head(FIRST_LOCATIONS)) or say("ui.nothing"))},
    )
