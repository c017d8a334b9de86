"""Releasing what a crashed run left behind.

A run killed outright (SIGKILL, a lost machine) never reports its end: Dagster keeps it STARTED and keeps
the `duckdb_warehouse` pool slot it had claimed, so every later run would wait on that pool forever. Every
run calls `release_stale_runs` before its first step (`pipeline.orchestration.executor`); the daemon's run monitoring
(dagster_home/dagster.yaml) also catches runs it launched; `python -m pipeline release-stale-runs` does it
by hand. A run is released only when it ran on this host and its process is gone.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import dagster as dg
from dagster import DagsterRunStatus, RunsFilter

HOST_TAG, PID_TAG = "pipeline/host", "pipeline/pid"


@dataclass(frozen=True)
class ReleasedRun:
    run_id: str
    pids: str


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pids(instance: dg.DagsterInstance, run: dg.DagsterRun) -> set[int]:
    """The run's processes: the one its executor recorded, else every pid its events carry."""
    if run.tags.get(PID_TAG, "").isdigit():
        return {int(run.tags[PID_TAG])}
    return {e.dagster_event.pid for e in instance.all_logs(run.run_id) if e.dagster_event and e.dagster_event.pid}


def release_stale_runs(instance: dg.DagsterInstance) -> list[ReleasedRun]:
    """Mark this host's started runs whose process is gone as failed and free their pool slots."""
    released = []
    host = socket.gethostname()
    runs = instance.get_runs(filters=RunsFilter(statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING]))
    for run in runs:
        if run.tags.get(HOST_TAG, host) != host:  # another machine's run: its processes cannot be seen from here
            continue
        pids = _pids(instance, run)
        if not pids or any(_alive(pid) for pid in pids):
            continue
        shown = ", ".join(map(str, sorted(pids)))
        instance.report_run_failed(run, f"released: the run's process ({shown}) is gone (killed or crashed); "
                                        "its pool slots were freed")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        released.append(ReleasedRun(run.run_id, shown))
    return released
