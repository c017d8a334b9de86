"""The Dagster code location: every asset, check, resource and schedule, assembled in one place."""

from __future__ import annotations

import dagster as dg

from assets.indicators.assets import indicators
from assets.outputs.annex import annex
from assets.ingest.assets import ingest_assets
from assets.ingest.manifest import raw_files
from assets.reconcile.assets import findings, reconciliation
from pipeline.resources import resources_from_env

ALL_ASSETS = [*ingest_assets, raw_files, reconciliation, indicators, findings, annex]

# In-process: one quarter is a few dozen short steps; a process per step costs ~3.5 s each here (README).
defs = dg.Definitions(
    assets=ALL_ASSETS,
    resources=resources_from_env(),
    executor=dg.in_process_executor,
)
