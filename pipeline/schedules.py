"""Automation: the quarterly schedule and the new-export sensor.

- `quarterly_report_schedule`: at 08:00 (Asia/Ho_Chi_Minh) on the 10th day after a quarter ends
  (10 January, April, July, October), materialize the quarter that ended.
- `raw_exports_sensor`: when a file under `raw/<quarter>/` is new or its content changed (sha256, not
  mtime), request a run of that quarter. The cursor (quarter -> digest of its tree) is stored by Dagster,
  so it survives restarts; an unchanged tree requests nothing.

Partition keys are static up to the last finished quarter as of when the code location loaded: a quarter
that is not a key yet (the code location predates its end) is skipped with a reason saying to reload it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

from pipeline.lib.reader import is_ignored_name, sha256_of
from pipeline.partitions import parse_quarter, previous_quarter, quarter_of, quarterly_partitions
from pipeline.resources import PipelinePaths

TIMEZONE = "Asia/Ho_Chi_Minh"
QUARTERLY_CRON = "0 8 10 1,4,7,10 *"

quarterly_report_job = dg.define_asset_job(
    "quarterly_report",
    selection=dg.AssetSelection.all(),
    description="Every asset of the report for one quarter: ingest, staging, reconcile, indicators, annex.",
)


def _known(quarter: str) -> bool:
    return quarter in quarterly_partitions.get_partition_keys()


@dg.schedule(job=quarterly_report_job, cron_schedule=QUARTERLY_CRON, execution_timezone=TIMEZONE,
             default_status=dg.DefaultScheduleStatus.RUNNING)
def quarterly_report_schedule(context: dg.ScheduleEvaluationContext):
    """Materialize the quarter that ended, ten days after its end (time for agencies to send exports)."""
    when = context.scheduled_execution_time.astimezone(ZoneInfo(TIMEZONE))
    quarter = previous_quarter(quarter_of(when.date()))
    if not _known(quarter):
        return dg.SkipReason(f"{quarter} is not a partition of the loaded code location yet: reload it")
    return dg.RunRequest(partition_key=quarter, run_key=f"schedule:{quarter}:{when:%Y%m%d}")


def tree_digest(folder: Path) -> str:
    """sha256 over (relative path, file sha256) of every export file under `folder` (lock and hidden
    files excluded: someone opening a file in Excel changes nothing)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder)
        if any(is_ignored_name(part) for part in relative.parts):
            continue
        digest.update(f"{relative.as_posix()}\0{sha256_of(path)}\n".encode())
    return digest.hexdigest()


@dg.sensor(job=quarterly_report_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def raw_exports_sensor(context: dg.SensorEvaluationContext, paths: PipelinePaths):
    """A run of a quarter whenever its exports under raw/<quarter>/ are new or changed (by content)."""
    seen = json.loads(context.cursor) if context.cursor else {}
    root = Path(paths.raw_dir)
    requests, skipped = [], []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        try:
            parse_quarter(folder.name)
        except ValueError:
            continue
        digest = tree_digest(folder)
        if seen.get(folder.name) == digest:
            continue
        if not _known(folder.name):
            skipped.append(folder.name)
            continue
        seen[folder.name] = digest
        requests.append(dg.RunRequest(partition_key=folder.name, run_key=f"raw:{folder.name}:{digest[:16]}",
                                      tags={"trigger": "new or changed exports"}))
    context.update_cursor(json.dumps(seen, sort_keys=True))
    if requests:
        return requests
    if skipped:
        return dg.SkipReason(f"exports for {', '.join(skipped)}: not a finished quarter of the loaded code location")
    return dg.SkipReason("no new or changed export")
