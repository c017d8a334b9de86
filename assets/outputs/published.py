"""What the output assets share: each reads the warehouse, writes one file of the quarter under
`outputs/<quarter>/` and says where; a profile or a template a person got wrong fails the step with its
plain reason, never a traceback."""

from pathlib import Path
from typing import Callable

import dagster as dg

from pipeline.lib.messages import say
from pipeline.lib.profile import profile_path
from pipeline.lib.signoff import amendment
from pipeline.lib.versions import current_version
from pipeline.orchestration.partitions import partition_of, report_partitions
from pipeline.orchestration.resources import WRITER_POOL

OUTPUT_ASSET = {"partitions_def": report_partitions, "group_name": "outputs", "pool": WRITER_POOL,
                "deps": ["indicators", "findings"]}


def write_output(context: dg.AssetExecutionContext, paths, duckdb, name: str, build: Callable,
                 errors: tuple[type[Exception], ...]) -> tuple[Path, dict]:
    """`build(conn, quarter, target, edition, profile)` for the province's quarter's file `name` (`{quarter}` filled
    in), `edition` the version it is made from and what that version amends, `profile` the province's."""
    province, quarter = partition_of(context)
    amends = amendment(context, duckdb.database_for(province))
    target = paths.outputs_for(province, quarter) / name.format(quarter=quarter)
    with duckdb.connection(province) as conn:
        try:
            summary = build(conn, quarter, target, edition=edition(conn, quarter, amends), profile=profile_path(province))
        except errors as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None
    context.log.info(say("log.written", name=target.name, folder=target.parent))
    return target, summary


def edition(conn, quarter: str, amends: dict | None = None) -> dict:
    """The version of the quarter the outputs are made from (the one its figures have now), and what it amends."""
    return {"version": current_version(conn, quarter), **(amends or {"amendment_of": None, "amend_reason": None})}


def output_result(target: Path, summary: dict) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(target.resolve())),
        "size_bytes": target.stat().st_size,
        **{k: (v if not isinstance(v, list) else ", ".join(v) or "none") for k, v in summary.items()},
    })
