"""The run's executor: Dagster's in-process executor, which first releases what dead runs left behind.

A run killed outright (SIGKILL, the OOM killer, a closed terminal, a power cut) never reports its end:
Dagster keeps it STARTED, holding its `duckdb_warehouse` pool slot, and every later run waits on that pool
forever. Doing the release inside every run makes it hold for the plain contract command, the UI and the
schedule alike: before its first step, a run marks as failed each started run of this host whose process
is gone, frees its slots, and says so in its own log.
"""

from __future__ import annotations

import os
import socket

import dagster as dg
from dagster._core.events import DagsterEvent, EngineEventData

from pipeline.lib.messages import say
from pipeline.orchestration.maintenance import HOST_TAG, PID_TAG, release_stale_runs


class ReleasingExecutor(dg.Executor):
    """Delegates to the in-process executor after the release (its retries and step order unchanged)."""

    def __init__(self, inner: dg.Executor) -> None:
        self.inner = inner

    @property
    def retries(self):
        return self.inner.retries

    @property
    def step_dependency_config(self):
        return self.inner.step_dependency_config

    def execute(self, plan_context, execution_plan):
        instance, run_id = plan_context.instance, plan_context.run_id
        instance.add_run_tags(run_id, {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())})
        for released in release_stale_runs(instance):
            yield DagsterEvent.engine_event(
                plan_context,
                say("log.released", run_id=released.run_id, pids=released.pids),
                EngineEventData(),
            )
        yield from self.inner.execute(plan_context, execution_plan)


@dg.executor(name="in_process_releasing_dead_runs", config_schema=dg.in_process_executor.config_schema)
def in_process_releasing_dead_runs(init_context) -> ReleasingExecutor:
    """Dagster's in-process executor (all steps of a quarter in one process: a few dozen short steps,
    a process each would cost about 3.5 s apiece), preceded by the release of dead runs' pool slots."""
    return ReleasingExecutor(dg.in_process_executor.executor_creation_fn(init_context))
