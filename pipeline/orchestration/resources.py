"""Configuration from the environment: where the raw exports are, where the warehouse and outputs go."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from pipeline.lib.messages import say
from pipeline.lib.provinces import (
    Place,
    default_province,
    landing_zone,
    outputs_dir,
    place,
    quarter_label,
    warehouse_path,
)
from pipeline.lib.wording import number

WRITER_POOL = "duckdb_warehouse"  # one writing process per DuckDB file: the pool has size 1


class PipelinePaths(dg.ConfigurableResource):
    """The read-only raw landing zone and the outputs folder (beside the warehouse unless configured), each
    with a folder per province but the default one (`pipeline.lib.provinces`)."""

    raw_dir: str
    outputs_dir: str
    cache_dir: str | None = None  # parsed files by content hash; None parses every file every run

    def place(self, province: str) -> Place:
        return place(province, raw_root=self.raw_dir, outputs=self.outputs_dir)

    def quarter_dir(self, province: str, quarter: str) -> Path:
        return self.place(province).raw_dir / quarter

    def require_exports(self, province: str, quarter: str) -> Path:
        """The quarter's folder, when it holds at least one file. Otherwise the step fails before it
        writes anything: a landing zone that is not mounted, a typo in RAW_DIR or an emptied folder must
        never replace a quarter's published figures with NULLs."""
        problem = exports_problem(self.place(province).raw_dir, quarter)
        if problem:
            raise dg.Failure(description=say("warehouse.unchanged", problem=problem, label=quarter_label(province, quarter)),
                             allow_retries=False)
        return self.quarter_dir(province, quarter)

    def outputs_for(self, province: str, quarter: str) -> Path:
        path = self.place(province).outputs_dir / quarter
        path.mkdir(parents=True, exist_ok=True)
        return path


def exports_problem(raw_dir: Path, quarter: str) -> str | None:
    """Why the quarter cannot be read from the landing zone (missing, not mounted, empty), or None."""
    folder = raw_dir / quarter
    if not raw_dir.is_dir():
        return say("warehouse.no_landing_zone", raw_dir=raw_dir)
    if not folder.is_dir():
        present = ", ".join(p.name for p in sorted(raw_dir.iterdir()) if p.is_dir()) or say("warehouse.no_folders")
        return say("warehouse.no_quarter_folder", folder=folder, raw_dir=raw_dir, present=present)
    if not any(p.is_file() for p in folder.rglob("*")):
        return say("warehouse.empty_quarter", folder=folder)
    return None


class WarehouseResource(DuckDBResource):
    """dagster-duckdb's DuckDBResource, waiting politely for the file lock.

    DuckDB lets one process hold a database file for writing. When another process holds it (a notebook,
    a second run outside the pool), the step waits and retries with a log line naming the holder, and
    fails with a plain message after `lock_timeout_seconds`, instead of a lock traceback.
    """

    lock_timeout_seconds: float = 600.0

    def database_for(self, province: str) -> str:
        """The province's working file: `database` for the default province, a file of its own for the others."""
        return str(place(province, warehouse=self.database).warehouse)

    @contextmanager
    def get_connection(self):
        with self.connection(default_province()) as conn:
            yield conn

    @contextmanager
    def connection(self, province: str):
        database = self.database_for(province)
        log = dg.get_dagster_logger()
        deadline, delay = time.monotonic() + self.lock_timeout_seconds, 0.5
        try:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise dg.Failure(description=say("warehouse.cannot_create_folder", folder=Path(database).parent,
                                             path=self.database, reason=exc.strerror or exc), allow_retries=False) from None
        while True:
            try:
                conn = duckdb.connect(database, read_only=False, config=dict(self.connection_config))
                break
            except (duckdb.IOException, duckdb.InvalidInputException, duckdb.SerializationException) as exc:
                if "lock" not in str(exc).lower():
                    raise dg.Failure(description=say("warehouse.cannot_open", warehouse=database,
                                                     reason=warehouse_problem(exc)), allow_retries=False) from None
                if time.monotonic() + delay > deadline:
                    raise dg.Failure(description=say("warehouse.stayed_locked", warehouse=database,
                                                     seconds=number(round(self.lock_timeout_seconds)), reason=exc)) from None
                log.warning(say("warehouse.locked_retrying", warehouse=database, seconds=number(round(delay)), reason=exc))
                time.sleep(delay)
                delay = min(delay * 2, 15)
        try:
            yield conn
        finally:
            conn.close()


def warehouse_problem(exc: Exception) -> str:
    """DuckDB's reason, in the words a data team needs."""
    text = str(exc)
    if "not a valid DuckDB database file" in text:
        return say("warehouse.not_duckdb")
    if "newer version of DuckDB" in text:
        return say("warehouse.newer_duckdb")
    if "Permission denied" in text or "Read-only file system" in text:
        return say("warehouse.no_permission")
    return text.removeprefix("IO Error: ")


def open_for_reading(warehouse: str, error: type[Exception]) -> duckdb.DuckDBPyConnection:
    """The warehouse opened read-only (explain, history), or `error` with a plain reason."""
    if not Path(warehouse).is_file():
        raise error(say("warehouse.missing", warehouse=warehouse))
    try:
        return duckdb.connect(warehouse, read_only=True)
    except duckdb.Error as exc:
        raise error(say("warehouse.cannot_open", warehouse=warehouse, reason=warehouse_problem(exc))) from None


def resources_from_env() -> dict:
    database = warehouse_path()
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    outputs = outputs_dir()
    return {
        "paths": PipelinePaths(raw_dir=str(landing_zone()), outputs_dir=outputs,
                               cache_dir=str(Path(database).parent / "cache" / "parsed")),
        # DuckDB may otherwise take most of the machine's memory for a quarter's inserts; with a cap it
        # writes them through to the file. It fills what the cap allows: at 10x the province the run's peak
        # was 1.51 GB with 1GB, 1.32 GB with 768MB, in no more time (make bench)
        "duckdb": WarehouseResource(database=database,
                                    connection_config={"memory_limit": os.environ.get("DUCKDB_MEMORY_LIMIT", "768MB")}),
    }
