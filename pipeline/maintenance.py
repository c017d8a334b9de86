"""Releasing what a crashed run left behind.

A run killed outright (SIGKILL, a lost machine) never reports its end: Dagster keeps it STARTED and keeps
the `duckdb_warehouse` pool slot it had claimed, so every later run waits on that pool forever. The UI's
daemon (run monitoring, enabled in dagster_home/dagster.yaml) catches runs it launched; for runs started
from the command line, `release_stale_runs` marks as failed every started run whose process is gone from
this machine and frees its slots. `make run` calls it before materializing
(`python -m pipeline release-stale-runs`).
"""

from __future__ import annotations

import os

import dagster as dg
from dagster import DagsterRunStatus, RunsFilter


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def release_stale_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark dead started runs as failed and free their pool slots; return their run ids."""
    released = []
    runs = instance.get_runs(filters=RunsFilter(statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING]))
    for run in runs:
        pids = {e.dagster_event.pid for e in instance.all_logs(run.run_id) if e.dagster_event and e.dagster_event.pid}
        if not pids or any(_alive(pid) for pid in pids):
            continue
        instance.report_run_failed(run, f"released: the run's process ({', '.join(map(str, sorted(pids)))}) is gone "
                                        "(killed or crashed); its pool slots were freed")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        released.append(run.run_id)
    return released
