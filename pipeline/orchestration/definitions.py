"""The Dagster code location: every asset, check, resource and schedule, assembled in one place."""

from __future__ import annotations

import dagster as dg

from assets.indicators.assets import indicators
from assets.ingest.assets import ingest_assets
from assets.ingest.manifest import raw_files
from assets.outputs.annex import annex
from assets.outputs.report import report_draft
from assets.reconcile.assets import exports_agree, findings, reconciliation
from assets.versions.assets import warehouse_version
from pipeline.orchestration.executor import in_process_releasing_dead_runs
from pipeline.orchestration.resources import resources_from_env
from pipeline.orchestration.schedules import quarterly_report_job, quarterly_report_schedule, raw_exports_sensor

ALL_ASSETS = [*ingest_assets, raw_files, reconciliation, indicators, findings, annex, report_draft, warehouse_version]
ALL_CHECKS = [exports_agree]  # the checks not yielded by their asset's own step

defs = dg.Definitions(
    assets=ALL_ASSETS,
    asset_checks=ALL_CHECKS,
    jobs=[quarterly_report_job],
    schedules=[quarterly_report_schedule],
    sensors=[raw_exports_sensor],
    resources=resources_from_env(),
    executor=in_process_releasing_dead_runs,
)
