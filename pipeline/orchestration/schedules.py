"""Automation: the quarterly schedule and the new-export sensor.

- `quarterly_report_schedule`: at 08:00 (Asia/Ho_Chi_Minh) on the 10th day after a quarter ends
  (10 January, April, July, October), materialize the quarter that ended, for every province.
- `raw_exports_sensor`: when a file under a province's `raw/…/<quarter>/` is new or its content changed
  (sha256, not mtime), request a run of that province's quarter, unless it is signed: then the tick names
  the files that changed since the signed version and skips it (`python -m pipeline sign`). The cursor
  (quarter, or `province/quarter` for a province other than the default one -> digest of its tree) is stored
  by Dagster, so it survives restarts; an unchanged tree requests nothing. A folder of the landing zone that
  holds quarters but is no configured province is named in the tick, never silently left unread.

Partition keys are computed when the code location loads (`pipeline.orchestration.partitions`). When the calendar or
the landing zone calls for a key the loaded location lacks (a `dagster dev` left running across the end
of a quarter, or exports for a quarter that just began), the sensor asks for the location to be reloaded
(`pipeline.orchestration.code_reload`) and requests the quarter's run on a tick after the reload: such a quarter is not
recorded in the cursor until it has been requested, so nothing is lost in between.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipeline.lib import lake
from pipeline.lib.lake import signoff_of
from pipeline.lib.messages import say
from pipeline.lib.provinces import default_province, province_names, quarter_label, unknown_folder_message
from pipeline.lib.reader import is_ignored_name, sha256_of
from pipeline.lib.signoff import signed_words
from pipeline.orchestration.code_reload import request_code_reload
from pipeline.orchestration.partitions import (
    TIMEZONE,
    loaded_quarters,
    parse_quarter,
    partition_key,
    previous_quarter,
    province_today,
    quarter_of,
    quarters_with_exports,
    unknown_province_folders,
    wanted_partition_keys,
)
from pipeline.orchestration.resources import PipelinePaths

RELOAD_COOLDOWN_SECONDS = 300  # a reload reaches the daemon within about a minute; do not ask again meanwhile
RELOAD_CURSOR_KEY = "reload_requested_at"
QUARTERLY_CRON = "0 8 10 1,4,7,10 *"

quarterly_report_job = dg.define_asset_job(
    "quarterly_report",
    selection=dg.AssetSelection.all(),
    description=say("ui.job"),
)


def _known(quarter: str) -> bool:
    return quarter in loaded_quarters()


@dg.schedule(job=quarterly_report_job, cron_schedule=QUARTERLY_CRON, execution_timezone=TIMEZONE,
             default_status=dg.DefaultScheduleStatus.RUNNING)
def quarterly_report_schedule(context: dg.ScheduleEvaluationContext, duckdb: DuckDBResource):
    """Materialize the quarter that ended in every province, ten days after its end (time for agencies to send
    exports), unless it is signed already there."""
    when = context.scheduled_execution_time.astimezone(ZoneInfo(TIMEZONE))
    quarter = previous_quarter(quarter_of(when.date()))
    if not _known(quarter):
        return dg.SkipReason(say("schedule.not_loaded", quarter=quarter))
    requests, skipped = [], []
    for province in province_names():
        signoff = signoff_of(duckdb.database_for(province), quarter)
        if signoff:
            skipped.append(say("schedule.signed", label=quarter_label(province, quarter), signed=signed_words(signoff)))
            continue
        requests.append(dg.RunRequest(partition_key=partition_key(province, quarter),
                                      run_key=f"schedule:{province}:{quarter}:{when:%Y%m%d}"))
    for reason in skipped:
        context.log.info(reason)
    return requests or dg.SkipReason("; ".join(skipped))



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


SENSOR_INTERVAL_ENV = "RAW_SENSOR_INTERVAL_SECONDS"


def sensor_interval(environ=os.environ) -> int:
    """How often the sensor looks at the landing zone: 60 s, or RAW_SENSOR_INTERVAL_SECONDS (the tests use a
    few seconds)."""
    text = environ.get(SENSOR_INTERVAL_ENV) or "60"
    if not text.isdigit() or int(text) < 1:
        raise ValueError(say("setting.not_an_interval", variable=SENSOR_INTERVAL_ENV, text=text))
    return int(text)


@dg.sensor(job=quarterly_report_job, minimum_interval_seconds=sensor_interval(),
           default_status=dg.DefaultSensorStatus.RUNNING)
def raw_exports_sensor(context: dg.SensorEvaluationContext, paths: PipelinePaths, duckdb: DuckDBResource):
    """A run of a province's quarter whenever its exports are new or changed (by content); a reload of the
    code location when a quarter is due that its partitions do not have yet. A signed quarter is skipped: the
    tick names the files that changed since the signed version."""
    seen = json.loads(context.cursor) if context.cursor else {}
    requests, unknown, locked = [], [], []
    for province in province_names():
        root = paths.place(province).raw_dir
        warehouse = duckdb.database_for(province)
        for quarter in quarters_with_exports(root):
            digest = tree_digest(root / quarter)
            seen_key = quarter if province == default_province() else f"{province}/{quarter}"
            if seen.get(seen_key) == digest:
                continue
            if not _known(quarter):
                unknown.append(quarter)
                continue
            seen[seen_key] = digest
            signoff = signoff_of(warehouse, quarter)
            if signoff:
                locked.append(_signed_and_changed(signoff, root / quarter, warehouse))
                context.log.warning(locked[-1])
                continue
            requests.append(dg.RunRequest(partition_key=partition_key(province, quarter),
                                          run_key=f"raw:{province}:{quarter}:{digest[:16]}",
                                          tags={"trigger": "new or changed exports"}))
    message = _reload_if_partitions_are_stale(seen, [paths.place(p).raw_dir for p in province_names()])
    context.update_cursor(json.dumps(seen, sort_keys=True))
    strays = [unknown_folder_message(folder) for folder in unknown_province_folders(Path(paths.raw_dir))]
    for stray in strays:
        context.log.warning(stray)
    if requests:
        return requests
    not_begun = [q for q in unknown if parse_quarter(q) > parse_quarter(quarter_of(province_today()))]
    reasons = ([message] if message else []) + locked + strays
    if not_begun:
        reasons.append(say("schedule.not_begun", quarters=", ".join(not_begun)))
    return dg.SkipReason("; ".join(reasons) or say("schedule.nothing_new"))


def _signed_and_changed(signoff: dict, folder: Path, warehouse: str) -> str:
    """Why a signed quarter whose files changed is not run, naming the files changed since the signed version."""
    quarter = signoff["quarter"]
    with lake.reading(warehouse, signoff["snapshot_id"]) as conn:
        signed = dict(conn.execute("SELECT path, sha256 FROM raw_files WHERE quarter = ?", [quarter]).fetchall())
    now = {p.relative_to(folder).as_posix(): sha256_of(p) for p in sorted(folder.rglob("*"))
           if p.is_file() and not any(is_ignored_name(part) for part in p.relative_to(folder).parts)}
    signed = {p: s for p, s in signed.items() if not any(is_ignored_name(part) for part in Path(p).parts)}
    changes = [say(f"schedule.file_{'added' if path not in signed else 'removed' if path not in now else 'replaced'}",
                   path=path) for path in sorted(set(signed) | set(now)) if signed.get(path) != now.get(path)]
    return say("schedule.signed_and_changed", quarter=quarter, signed=signed_words(signoff),
               changes=", ".join(changes) or say("schedule.as_signed"))


def _reload_if_partitions_are_stale(seen: dict, raw_dirs: list[Path]) -> str | None:
    missing = sorted(set(wanted_partition_keys(province_today(), *raw_dirs)) - set(loaded_quarters()),
                     key=parse_quarter)
    if not missing:
        seen.pop(RELOAD_CURSOR_KEY, None)
        return None
    reason = say("reload.missing", quarters=", ".join(missing))
    if time.time() - seen.get(RELOAD_CURSOR_KEY, 0) < RELOAD_COOLDOWN_SECONDS:
        return say("reload.waiting", reason=reason)
    seen[RELOAD_CURSOR_KEY] = time.time()
    return request_code_reload(reason)
