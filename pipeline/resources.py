"""Configuration from the environment: where the raw exports are, where the warehouse and outputs go."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

DEFAULT_RAW_DIR = "raw"
DEFAULT_WAREHOUSE_PATH = "warehouse/warehouse.duckdb"
WRITER_POOL = "duckdb_warehouse"  # one writing process per DuckDB file: the pool has size 1


class PipelinePaths(dg.ConfigurableResource):
    """The read-only raw landing zone and the outputs folder (beside the warehouse unless configured)."""

    raw_dir: str
    outputs_dir: str

    def quarter_dir(self, quarter: str) -> Path:
        return Path(self.raw_dir) / quarter

    def outputs_for(self, quarter: str) -> Path:
        path = Path(self.outputs_dir) / quarter
        path.mkdir(parents=True, exist_ok=True)
        return path


def warehouse_path() -> str:
    return os.environ.get("WAREHOUSE_PATH", DEFAULT_WAREHOUSE_PATH)


def resources_from_env() -> dict:
    database = warehouse_path()
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    outputs = os.environ.get("OUTPUTS_DIR") or str(Path(database).parent / "outputs")
    return {
        "paths": PipelinePaths(raw_dir=os.environ.get("RAW_DIR", DEFAULT_RAW_DIR), outputs_dir=outputs),
        "duckdb": DuckDBResource(database=database),
    }
