"""The `raw_files` manifest: every file under `raw/<quarter>/`, with its size, sha256, detected format,
sheets, rows read and outcome (loaded / ignored / rejected with the reason).

The source assets report the files of their folders (`file_loads`); this asset adds every other file of
the quarter's tree, so that nothing dropped into the landing zone goes unseen: a file outside the eight
source folders is an error finding, never silently skipped.
"""

from pathlib import Path

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from assets.ingest.assets import FILE_LOADS_COLUMNS
from pipeline.lib.archive import ArchiveError, keep
from pipeline.lib.findings import STAGE_FINDINGS, STAGE_FINDINGS_COLUMNS, Finding
from pipeline.lib.messages import say
from pipeline.lib.reader import IGNORED_NAME_REASON, detect_format, is_ignored_name, sha256_of
from pipeline.lib.signoff import refuse_if_signed
from pipeline.lib.tablespecs import SOURCES, TABLES
from pipeline.lib.warehouse import column_schema, ensure_table, replace_partition
from pipeline.lib.wording import number, quarter_words
from pipeline.orchestration.partitions import partition_of, report_partitions
from pipeline.orchestration.resources import WRITER_POOL, PipelinePaths

RAW_FILES_COLUMNS = FILE_LOADS_COLUMNS
STAGE = "raw_files"


def build_manifest(quarter: str, quarter_dir: Path, loads: pd.DataFrame) -> tuple[pd.DataFrame, list[Finding]]:
    """The source assets' file records, completed with every other file of the quarter's tree."""
    findings: list[Finding] = []
    if not quarter_dir.is_dir():
        findings.append(Finding("quarter_folder_missing", "error", "raw",
                                f"thư mục {quarter_dir} không tồn tại: không nạp được tệp xuất nào của {quarter_words(quarter)}"))
        return loads, findings
    seen = set(loads.path)
    extra = []
    for path in sorted(p for p in quarter_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(quarter_dir).as_posix()
        if relative in seen:
            continue
        record = {"quarter": quarter, "source": None, "path": relative, "size": path.stat().st_size,
                  "sha256": sha256_of(path), "format": detect_format(path), "sheets": None, "rows_read": 0}
        if any(is_ignored_name(part) for part in Path(relative).parts):
            record.update(outcome="ignored", reason=IGNORED_NAME_REASON)
        else:
            reason = f"tệp không nằm trong thư mục nguồn nào ({', '.join(f'{s}/' for s in SOURCES)}): không được đọc"
            record.update(outcome="rejected", reason=reason)
            findings.append(Finding("unknown_location", "error", "raw", reason, relative))
        extra.append(record)
    manifest = pd.concat([loads, pd.DataFrame(extra, columns=list(RAW_FILES_COLUMNS))], ignore_index=True)
    missing_sha = manifest.sha256.isna() | (manifest.sha256 == "")
    manifest.loc[missing_sha, "sha256"] = [sha256_of(quarter_dir / p) for p in manifest.path[missing_sha]]
    return manifest.sort_values("path", ignore_index=True), findings


@dg.asset(
    description=say("ui.asset_raw_files"),
    partitions_def=report_partitions,
    group_name="ingest",
    kinds={"duckdb"},
    pool=WRITER_POOL,
    deps=[t.staging_table for t in TABLES],
)
def raw_files(context: dg.AssetExecutionContext, paths: PipelinePaths, duckdb: DuckDBResource):
    """Every file of raw/<quarter>/ with size, sha256, format, sheets, rows read and outcome: what an
    auditor checks first to know which exports a quarter's figures were computed from. Each file is kept in
    the warehouse's archive by its sha256 (`pipeline.lib.archive`), so it opens again after raw/ changed."""
    province, quarter = partition_of(context)
    refuse_if_signed(context, duckdb.database_for(province))
    with duckdb.connection(province) as conn:
        ensure_table(conn, "file_loads", FILE_LOADS_COLUMNS)
        loads = conn.execute("SELECT * FROM file_loads WHERE quarter = ?", [quarter]).df()
        quarter_dir = paths.require_exports(province, quarter)
        manifest, findings = build_manifest(quarter, quarter_dir, loads)
        try:
            for path, sha256 in zip(manifest.path, manifest.sha256):
                keep(duckdb.database_for(province), quarter_dir / path, sha256)
        except ArchiveError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        replace_partition(conn, [
            ("raw_files", RAW_FILES_COLUMNS, manifest, {"quarter": quarter}),
            (STAGE_FINDINGS, STAGE_FINDINGS_COLUMNS,
             pd.DataFrame([f.record(quarter) | {"stage": STAGE} for f in findings], columns=list(STAGE_FINDINGS_COLUMNS)),
             {"quarter": quarter, "stage": STAGE}),
        ])
    for finding in findings:
        context.log.warning(finding.text)
    outcomes = manifest.outcome.value_counts().to_dict()
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(manifest),
        "dagster/column_schema": column_schema(RAW_FILES_COLUMNS),
        **{outcome: int(outcomes.get(outcome, 0)) for outcome in ("loaded", "ignored", "rejected")},
        "files": dg.MetadataValue.md("\n".join(
            say("ui.manifest_file", path=r.path, outcome=say(f"outcome.{r.outcome}"), rows=number(r.rows_read), sha256=str(r.sha256)[:12],
                reason=f" ({r.reason})" if isinstance(r.reason, str) and r.reason else "")  # a NaN reason is none
            for r in manifest.itertuples()) or say("ui.no_files")),
    })
