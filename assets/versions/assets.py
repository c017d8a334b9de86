"""Versions: the quarter as this run left it, published as one snapshot of the versioned warehouse (DuckLake).

The last step of a run. Every table's slice of the quarter (raw layer, staging, loads, findings, reconciliation,
indicators, definitions, lineage) goes into the lake in one transaction (`pipeline.lib.lake`), numbered with
the version the `indicators` step gave the figures; the snapshot records the run, the amendment it makes (of
which signed version, and why) and the sha256 of the annex and the draft made from it, which `sign` checks
before it keeps them. The run's input files are in the archive by then (`raw_files`).
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipeline.lib.lake import publish_version
from pipeline.lib.messages import say
from pipeline.lib.reader import sha256_of
from pipeline.lib.signoff import amendment
from pipeline.lib.versions import ANNEX_NAME, DRAFT_NAME, current_version
from pipeline.orchestration.partitions import partition_of, report_partitions
from pipeline.orchestration.resources import WRITER_POOL, PipelinePaths


@dg.asset(
    description=say("ui.asset_warehouse_version"),
    partitions_def=report_partitions,
    group_name="versions",
    kinds={"ducklake", "parquet"},
    pool=WRITER_POOL,
    deps=["annex", "report_draft", "raw_files"],
)
def warehouse_version(context: dg.AssetExecutionContext, paths: PipelinePaths, duckdb: DuckDBResource):
    """The quarter's new version in the versioned warehouse: every table's rows as this run computed them, kept
    for good (`python -m pipeline explain QUARTER ID --version N`, `history --diff`, `sql --version N`)."""
    province, quarter = partition_of(context)
    amends = amendment(context, duckdb.database_for(province))
    folder = paths.outputs_for(province, quarter)
    outputs = {}
    for kind, name in (("annex", ANNEX_NAME), ("draft", DRAFT_NAME)):
        path = folder / name.format(quarter=quarter)
        outputs[f"{kind}_file"] = path.name
        outputs[f"{kind}_sha256"] = sha256_of(path) if path.is_file() else None
    with duckdb.connection(province) as conn:
        version = current_version(conn, quarter)
        if version is None:
            raise dg.Failure(description=say("log.nothing_to_publish", quarter=quarter), allow_retries=False)
        info = {"version": version, "province": province, "run_id": context.run.run_id, **amends, **outputs}
        snapshot = publish_version(conn, duckdb.database_for(province), quarter, info)
    amended = say("log.published_amendment", amendment_of=amends["amendment_of"], reason=amends["amend_reason"]) \
        if amends["amendment_of"] else ""
    context.log.info(say("log.published", version=version, quarter=quarter, amendment=amended, snapshot=snapshot))
    return dg.MaterializeResult(metadata={
        "version": version, "snapshot_id": snapshot,
        "amendment_of": amends["amendment_of"] or "none", "amend_reason": amends["amend_reason"] or "none",
        "annex_sha256": outputs["annex_sha256"] or "none", "draft_sha256": outputs["draft_sha256"] or "none",
    })
