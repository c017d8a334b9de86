"""Session fixtures: the sample exports are generated once, and both sample quarters are materialized
once in-process on a temporary warehouse; tests read the results.

The suite runs on two pytest-xdist workers (`--dist loadfile`, pyproject.toml): most of its time is Dagster
processes starting and waiting, which a second worker overlaps. Each module runs whole on one worker (its module
fixtures built once); the sample exports are generated once for both workers (`built_once`), while each worker
materializes its own warehouses (xdist's `loadgroup`, which could keep their readers on one worker, does not
group with pytest 9.2: it renames node ids through an attribute pytest no longer reads).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import duckdb
import pytest


def built_once(tmp_path_factory, name: str, build) -> Path:
    """A folder built by `build(folder)` once per test session, shared by the xdist workers (the first to need
    it builds it under a lock, the others wait for it). Tests only read it."""
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's folder, above each worker's own
    folder, done = base / name, base / f"{name}.built"
    with FileLock(base / f"{name}.lock"):
        if not done.exists():
            folder.mkdir(exist_ok=True)
            build(folder)
            done.touch()
    return folder


@pytest.fixture(scope="session")
def sample_raw(tmp_path_factory) -> Path:
    from pipeline.sample.generator import generate

    return built_once(tmp_path_factory, "sample-raw", generate)


SECOND_SEED = 2024  # a second province's sample: another world of agencies and records


@pytest.fixture(scope="session")
def second_sample_raw(tmp_path_factory) -> Path:
    """The sample generated with another seed: the second province of the province tests."""
    from pipeline.sample.generator import generate

    return built_once(tmp_path_factory, "sample-raw-second", lambda folder: generate(folder, SECOND_SEED))


@pytest.fixture(scope="session")
def truth(sample_raw) -> dict:
    return {q: json.loads((sample_raw / "sample-truth" / f"{q}.json").read_text(encoding="utf-8"))
            for q in ("2020-Q1", "2020-Q2")}


ROOT = Path(__file__).resolve().parents[1]


def isolated_env(tmp_path: Path, raw: Path) -> dict[str, str]:
    """Environment for a real `dagster` process: a private DAGSTER_HOME with the project's dagster.yaml,
    RAW_DIR, and a warehouse under tmp_path."""
    import os
    import shutil

    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", home)
    return {**os.environ, "DAGSTER_HOME": str(home), "RAW_DIR": str(raw),
            "WAREHOUSE_PATH": str(tmp_path / "wh" / "warehouse.duckdb")}


def materialize_quarter(raw: Path, warehouse: Path, quarter: str, raise_on_error: bool = True) -> dg.ExecuteInProcessResult:
    from pipeline.orchestration.definitions import ALL_ASSETS, ALL_CHECKS
    from pipeline.orchestration.resources import PipelinePaths, WarehouseResource

    return dg.materialize(
        [*ALL_ASSETS, *ALL_CHECKS],
        partition_key=quarter,
        resources={
            "paths": PipelinePaths(raw_dir=str(raw), outputs_dir=str(warehouse.parent / "outputs")),
            "duckdb": WarehouseResource(database=str(warehouse)),
        },
        raise_on_error=raise_on_error,
    )


@pytest.fixture(scope="session")
def sample_runs(sample_raw, tmp_path_factory) -> tuple[Path, dict[str, dg.ExecuteInProcessResult]]:
    """Both sample quarters materialized once: the warehouse path and each quarter's run result."""
    path = tmp_path_factory.mktemp("warehouse") / "warehouse.duckdb"
    runs = {}
    for quarter in ("2020-Q1", "2020-Q2"):
        runs[quarter] = materialize_quarter(sample_raw, path, quarter)
        assert runs[quarter].success
    return path, runs


@pytest.fixture(scope="session")
def warehouse(sample_runs) -> Path:
    return sample_runs[0]


def failed_checks(result: dg.ExecuteInProcessResult) -> set[tuple[str, str]]:
    """(asset, check) of every asset check that did not pass in a run."""
    return {
        (e.asset_key.to_user_string(), e.check_name)
        for e in result.get_asset_check_evaluations() if not e.passed
    }


@pytest.fixture()
def db(warehouse):
    conn = duckdb.connect(str(warehouse), read_only=True)
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def constructed_warehouse(tmp_path_factory) -> Path:
    """Both constructed quarters (tests/constructed.py) materialized once."""
    from tests.constructed import build_constructed

    root = tmp_path_factory.mktemp("constructed_raw")
    build_constructed(root)
    path = tmp_path_factory.mktemp("constructed_wh") / "w.duckdb"
    for quarter in ("2020-Q1", "2020-Q2"):
        assert materialize_quarter(root, path, quarter).success
    return path


@pytest.fixture()
def constructed(constructed_warehouse):
    conn = duckdb.connect(str(constructed_warehouse), read_only=True)
    yield conn
    conn.close()


# Tables several assets share, each asset replacing its own slice of the quarter.
SHARED = {"stage_findings": "stage", "file_loads": "source", "table_loads": "source"}


def snapshot(warehouse, quarter) -> dict[str, str]:
    """A digest of what each asset wrote for the quarter: per table, or per writer's slice of a shared
    table (opening the file at all proves it is readable); the version history is left out."""
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = [t for (t,) in conn.execute(
            "SELECT table_name FROM information_schema.columns WHERE column_name = 'quarter' ORDER BY 1").fetchall()
                  if not t.endswith("_history") and t != "versions"]  # these grow with every run, by design
        digests = {}
        for table in tables:
            part = SHARED.get(table, "'all'")
            for slice_, digest in conn.execute(
                    f"SELECT {part}, count(*) || ':' || md5(string_agg(CAST(t AS VARCHAR), chr(10) ORDER BY CAST(t AS VARCHAR))) "
                    f"FROM {table} t WHERE quarter = ? GROUP BY 1", [quarter]).fetchall():
                digests[f"{table}/{slice_}"] = digest
        return digests
    finally:
        conn.close()
