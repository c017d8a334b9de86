"""Four provinces at 1×: each one's 2020-Q2 materialized one after another, then all four at once (issue 27).

Each province is the sample generated with its own seed, with its own profile; each has its own working DuckDB
file and lake catalog, so the four runs at once share nothing but the Dagster instance (SQLite, no pool limit:
the production profile's queue allows four runs, one per province). Both modes start from empty warehouses and
parse caches, in the same bench run, so their ratio holds on a noisy machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PROVINCES = {"tra-vinh": None, "ben-tre": 2024, "vinh-long": 2025, "soc-trang": 2026}
QUARTER = "2020-Q2"
INSTANCE = """storage:
  custom:
    module: pipeline.orchestration.instance_storage
    class: LockedSqliteStorage
    config: {}
telemetry:
  enabled: false
"""


def landing_zone(work: Path) -> tuple[Path, Path]:
    """raw/ with the four provinces' samples, and the folder of their profiles."""
    from pipeline.sample.generator import SEED, generate

    raw, profiles = work / "raw-provinces", work / "profiles-provinces"
    if not (raw / ".built").exists():
        shutil.rmtree(raw, ignore_errors=True)
        for name, seed in PROVINCES.items():
            generate(raw if seed is None else raw / name, SEED if seed is None else seed)
        (raw / ".built").touch()
    profiles.mkdir(parents=True, exist_ok=True)
    text = (ROOT / "pipeline" / "profile" / "tra-vinh.toml").read_text(encoding="utf-8")
    for name in PROVINCES:
        place = name.replace("-", " ").title()
        (profiles / f"{name}.toml").write_text(text.replace("TRÀ VINH", place.upper()).replace("Trà Vinh", place),
                                               encoding="utf-8")
    return raw, profiles


def environment(work: Path, mode: str, raw: Path, profiles: Path) -> dict:
    home, warehouse = work / f"home-{mode}", work / f"warehouse-{mode}"
    for path in (home, warehouse):
        shutil.rmtree(path, ignore_errors=True)
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(INSTANCE, encoding="utf-8")
    return {**os.environ, "DAGSTER_HOME": str(home), "RAW_DIR": str(raw), "ORGANIZATION_PROFILE": str(profiles),
            "WAREHOUSE_PATH": str(warehouse / "warehouse.duckdb")}


def command(province: str) -> list[str]:
    return [str(BIN / "dagster"), "asset", "materialize", "-m", "pipeline.definitions", "--select", "*",
            "--partition", f"{province}|{QUARTER}"]


def one_after_another(env: dict) -> float:
    started = time.perf_counter()
    for province in PROVINCES:
        subprocess.run(command(province), cwd=ROOT, env=env, capture_output=True, check=True)
    return time.perf_counter() - started


def at_once(env: dict) -> float:
    started = time.perf_counter()
    runs = [subprocess.Popen(command(p), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for p in PROVINCES]
    for run in runs:
        _, errors = run.communicate()
        if run.returncode != 0:
            raise RuntimeError(f"a run failed: {errors.decode(errors='replace')[-2000:]}")
    return time.perf_counter() - started


def bench_provinces(work: Path) -> dict:
    raw, profiles = landing_zone(work)
    sequential = one_after_another(environment(work, "one-after-another", raw, profiles))
    parallel = at_once(environment(work, "at-once", raw, profiles))
    return {"provinces": len(PROVINCES), "one_after_another": sequential, "at_once": parallel,
            "ratio": sequential / parallel}


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "warehouse" / "bench")
    target.mkdir(parents=True, exist_ok=True)
    print(json.dumps(bench_provinces(target)))
