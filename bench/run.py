"""`make bench`: the cost of a quarter at 1x and 10x against the floor and the hand-written baseline.

For each scale: generate the sample exports, then measure on 2020-Q2's files (each in its own process,
with its peak RSS from wait4): the floor (bench/readers.py floor), the baseline (bench/readers.py
baseline), reading in process against the isolated children (bench/isolation.py), the one Python UDF of
staging (bench/udf.py), one Dagster process start, the pipeline's first materialization (per-stage wall time
from the run's step events), and a second materialization with unchanged files (parsed rows reused). Prints ratios
measured in the same run; writes the table to warehouse/bench/results.md. Figures are never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from pipeline.lib.messages import say
from pipeline.lib.tablespecs import SOURCES

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CODE_LOCATION = "pipeline.definitions"
QUARTER = "2020-Q2"
BEFORE_VERSIONS = "67f9c20"  # main before issue 26 (sign-off, archive, DuckLake): the baseline of its costs
SOURCE_NAMES = tuple(SOURCES)
# what the run's log says of a file not parsed again and of a source whose staged rows are kept (the catalog's words)
REUSED = say("log.file_reused", source="", file="").removeprefix(": ").strip()
KEPT = say("log.source_kept", source="").removeprefix(": ")
STAGES = {"ingest": ("ingest_", "raw_files"), "reconcile": ("reconciliation", "findings"),
          "indicators": ("indicators",), "annex": ("annex",), "publish a version": ("warehouse_version",)}


def measured(cmd: list[str], env: dict) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, output) of a child process."""
    seconds, rss, _, output = measured_with_cpu(cmd, env)
    return seconds, rss, output


def measured_with_cpu(cmd: list[str], env: dict) -> tuple[float, float, float, str]:
    """(wall seconds, peak RSS in MB, CPU seconds (user + system, its waited-for children included), output)."""
    started = time.perf_counter()
    process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{output[-3000:]}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, output


def stage_times(home: Path) -> dict[str, float]:
    """Wall time per stage of the latest run, from its step events; under `events`, how many events the run
    wrote to the instance's storage."""
    os.environ["DAGSTER_HOME"] = str(home)
    import dagster as dg

    instance = dg.DagsterInstance.get()
    run = instance.get_runs(limit=1)[0]
    starts, seconds = {}, {}
    records = instance.all_logs(run.run_id)
    for record in records:
        event = record.dagster_event
        if event is None or not event.step_key:
            continue
        if event.event_type_value == "STEP_START":
            starts[event.step_key] = record.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            seconds[event.step_key] = record.timestamp - starts[event.step_key]
    instance.dispose()
    times = {stage: sum(s for step, s in seconds.items() if step.startswith(prefixes)) for stage, prefixes in STAGES.items()}
    return times | {"events": len(records)}


def duckdb_excel_python(work: Path) -> Path | None:
    """A scratch virtualenv with the DuckDB release duckdb-extension-excel is built for (not the pipeline's)."""
    venv = work / "duckdb-excel-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        done = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True)
        done = done.returncode == 0 and subprocess.run([str(python), "-m", "pip", "install", "--quiet", "duckdb-extension-excel"],
                                                       capture_output=True)
        if not done or done.returncode:
            shutil.rmtree(venv, ignore_errors=True)
            return None
    return python


def before_versions_python(work: Path) -> tuple[Path, Path] | None:
    """(python, source folder) of the code at BEFORE_VERSIONS, installed in a scratch virtualenv (its own DuckDB)."""
    source, venv = work / f"code-{BEFORE_VERSIONS}", work / f"code-{BEFORE_VERSIONS}-venv"
    python = venv / "bin" / "python"
    if python.exists():
        return python, source
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", BEFORE_VERSIONS], cwd=ROOT, capture_output=True)
    if archive.returncode or subprocess.run(["tar", "-x", "-C", str(source)], input=archive.stdout).returncode:
        return None
    if subprocess.run([sys.executable, "-m", "venv", str(venv)]).returncode or subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "-e", str(source)], capture_output=True).returncode:
        shutil.rmtree(venv, ignore_errors=True)
        return None
    return python, source


def warehouse_sizes(warehouse: Path) -> dict[str, float]:
    """MB on disk of the working file, the versioned warehouse (lake) and the inputs' archive."""
    def size(path: Path) -> float:
        files = [path] if path.is_file() else list(path.rglob("*")) if path.is_dir() else []
        return sum(f.stat().st_size for f in files if f.is_file()) / 1024**2
    parts = {"working": size(warehouse), "lake": size(warehouse.parent / "lake"), "archive": size(warehouse.parent / "archive")}
    return parts | {"total": sum(parts.values())}


def three_versions(command: list[str], env: dict, home: Path, warehouse: Path, cwd: Path = ROOT) -> dict:
    """Three materializations of the quarter (files unchanged after the first): times, and sizes after 1 and 3."""
    result = {}
    for run in ("first", "again", "third"):
        started = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"failed: {' '.join(command)}\n{done.stdout[-3000:]}")
        result[f"{run}_e2e"] = time.perf_counter() - started
        result[f"{run}_stages"] = stage_times(home)
        if run in ("first", "third"):
            result[f"{run}_size"] = warehouse_sizes(warehouse)
    return result


def bench_versions(scale: int, work: Path, raw: Path, result: dict) -> None:
    """The versioned warehouse's cost: this code's three runs against the code before it, on the same files."""
    print(f"[{scale}x] versions: this code, a third run", flush=True)
    ours = result["versions"] = {"first_e2e": result["first_e2e"], "again_e2e": result["again_e2e"],
                                 "first_size": result.pop("first_size")}
    home, warehouse = work / f"home-{scale}x", work / f"warehouse-{scale}x" / "warehouse.duckdb"
    env = {**os.environ, "DAGSTER_HOME": str(home), "RAW_DIR": str(raw), "WAREHOUSE_PATH": str(warehouse)}
    started = time.perf_counter()
    subprocess.run([str(BIN / "dagster"), "asset", "materialize", "-m", CODE_LOCATION, "--select", "*",
                    "--partition", QUARTER], cwd=ROOT, env=env, capture_output=True, check=True)
    ours["third_e2e"], ours["third_size"] = time.perf_counter() - started, warehouse_sizes(warehouse)
    before = before_versions_python(work)
    if before is None:
        print(f"[{scale}x] versions: the code at {BEFORE_VERSIONS} could not be installed; not compared", flush=True)
        return
    python, source = before
    print(f"[{scale}x] versions: the code at {BEFORE_VERSIONS}, three runs", flush=True)
    home, warehouse = work / f"home-{scale}x-before", work / f"warehouse-{scale}x-before" / "warehouse.duckdb"
    for path in (home, warehouse.parent):
        shutil.rmtree(path, ignore_errors=True)
    home.mkdir(parents=True)
    # Dagster's own SQLite storage (the old code's yaml names its storage class by a module path this code moved,
    # and this process reads the runs' step events): the same files, without the old code's creation lock
    (home / "dagster.yaml").write_text(f"storage:\n  sqlite:\n    base_dir: {home / 'storage'}\n"
                                       "concurrency:\n  pools:\n    default_limit: 1\ntelemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "RAW_DIR": str(raw), "WAREHOUSE_PATH": str(warehouse)}
    command = [str(python.with_name("dagster")), "asset", "materialize", "-m", "pipeline.definitions", "--select", "*",
               "--partition", QUARTER]
    result["before_versions"] = three_versions(command, env, home, warehouse, cwd=source)


def bench_scale(scale: int, work: Path) -> dict:
    raw, home = work / f"raw-{scale}x", work / f"home-{scale}x"
    warehouse = work / f"warehouse-{scale}x" / "warehouse.duckdb"
    for path in (raw, home, warehouse.parent):
        shutil.rmtree(path, ignore_errors=True)
    home.mkdir(parents=True)
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", home)
    env = {**os.environ, "DAGSTER_HOME": str(home), "RAW_DIR": str(raw), "WAREHOUSE_PATH": str(warehouse)}
    result = {"scale": scale}
    print(f"[{scale}x] generating sample exports", flush=True)
    result["generate"], _, _ = measured([str(BIN / "python"), "-c",
        f"from pathlib import Path; from pipeline.sample.generator import generate; generate(Path({str(raw)!r}), scale={scale})"], env)
    files = [str(p) for p in sorted((raw / QUARTER).rglob("*")) if p.is_file() and not p.name.startswith("~$")]
    result["files"], result["mb"] = len(files), sum(Path(f).stat().st_size for f in files) / 1024**2
    for mode in ("floor", "baseline", "reader", "fastexcel"):
        print(f"[{scale}x] {mode} readers", flush=True)
        seconds, rss, output = measured([str(BIN / "python"), "bench/readers.py", mode, *files], env)
        measure = json.loads(output.strip().splitlines()[-1])
        result[mode], result[f"{mode}_rss"], result[f"{mode}_detail"] = measure["seconds"], rss, measure
    python = duckdb_excel_python(work)
    if python:
        print(f"[{scale}x] DuckDB read_xlsx", flush=True)
        xlsx = [f for f in files if f.lower().endswith(".xlsx")]
        _, _, output = measured([str(python), "bench/duckdb_excel.py", *xlsx], env)
        _, _, floor_output = measured([str(BIN / "python"), "bench/readers.py", "floor", *xlsx], env)
        result["duckdb_excel"] = json.loads(output.strip().splitlines()[-1])
        result["floor_xlsx"] = json.loads(floor_output.strip().splitlines()[-1])
    print(f"[{scale}x] reading in process vs in isolated children", flush=True)
    _, _, output = measured([str(BIN / "python"), "bench/isolation.py", *files], env)
    result["isolation"] = json.loads(output.strip().splitlines()[-1])
    print(f"[{scale}x] vi_quoted, the one Python rule of staging", flush=True)
    _, _, output = measured([str(BIN / "python"), "bench/udf.py", str(10_000 * scale)], env)
    result["udf"] = json.loads(output.strip().splitlines()[-1])
    print(f"[{scale}x] one Dagster process start", flush=True)
    result["dagster_start"], _, _ = measured([str(BIN / "dagster"), "definitions", "validate", "-m", CODE_LOCATION], env)
    command = [str(BIN / "dagster"), "asset", "materialize", "-m", CODE_LOCATION, "--select", "*", "--partition", QUARTER]
    for run in ("first", "again"):
        print(f"[{scale}x] pipeline, {run} run", flush=True)
        seconds, rss, cpu, output = measured_with_cpu(command, env)
        result[f"{run}_e2e"], result[f"{run}_rss"], result[f"{run}_cpu"] = seconds, rss, cpu
        result[f"{run}_stages"] = stage_times(home)
        result[f"{run}_reused"] = output.count(REUSED)
        result[f"{run}_kept"] = output.count(KEPT)
        if run == "first":
            result["first_size"] = warehouse_sizes(warehouse)
    bench_versions(scale, work, raw, result)
    bench_resent(scale, raw, env, command, home, result)
    if scale >= 10:
        print(f"[{scale}x] staging pass by pass, outside Dagster", flush=True)
        _, _, output = measured([str(BIN / "python"), "bench/passes.py", str(raw / QUARTER), str(work)], env)
        result["passes"] = json.loads(output.strip().splitlines()[-1])
    return result


def bench_resent(scale: int, raw: Path, env: dict, command: list[str], home: Path, result: dict) -> None:
    """A re-run after one file of the source with the largest table was sent again under another name: only that
    source is read and staged again (issue 28), the others keep their staged rows."""
    print(f"[{scale}x] pipeline, a re-run after one ioffice file was sent again", flush=True)
    resent = sorted((raw / QUARTER / "ioffice").glob("*.xlsx"))[0]
    resent.rename(resent.with_name(f"{resent.stem} (gui lai){resent.suffix}"))
    seconds, _, output = measured(command, env)
    result["resent_e2e"], result["resent_stages"] = seconds, stage_times(home)
    result["resent_kept"] = output.count(KEPT)


def versions() -> str:
    names = ("dagster", "duckdb", "pandas", "python-calamine", "lxml", "openpyxl", "xlsxwriter", "xlrd", "fastexcel")
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join([f"Python {platform.python_version()}", *found])


def report(results: list[dict]) -> str:
    cores, memory = os.cpu_count(), os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    lines = [f"Machine: {platform.machine()}, {cores} cores, {memory:.0f} GiB; {versions()}.", "",
             "| measure | " + " | ".join(f"{r['scale']}x" for r in results) + " |",
             "|---|" + "---|" * len(results)]

    def row(label, values):
        lines.append(f"| {label} | " + " | ".join(values) + " |")

    row("2020-Q2 files (MB)", [f"{r['files']} ({r['mb']:.0f} MB)" for r in results])
    row("generate both quarters (s)", [f"{r['generate']:.1f}" for r in results])
    row("floor: calamine / lxml (s)", [f"{r['floor']:.1f}" for r in results])
    row("baseline: pandas.read_excel default engine (s)", [f"{r['baseline']:.1f}" for r in results])
    for stage in STAGES:
        row(f"pipeline {stage} (s)", [f"{r['first_stages'][stage]:.1f}" for r in results])
    row("one Dagster process start (s)", [f"{r['dagster_start']:.1f}" for r in results])
    row("pipeline end to end, CLI (s)", [f"{r['first_e2e']:.1f}" for r in results])
    row("peak RSS: pipeline / floor / baseline (MB)",
        [f"{r['first_rss']:.0f} / {r['floor_rss']:.0f} / {r['baseline_rss']:.0f}" for r in results])
    row("pipeline CPU, user + system, every process of the run (s) / cores used on average",
        [f"{r['first_cpu']:.1f} / {r['first_cpu'] / r['first_e2e']:.2f}" for r in results])
    row("ratio ingest / floor", [f"{r['first_stages']['ingest'] / r['floor']:.2f}" for r in results])
    row("ratio baseline / ingest", [f"{r['baseline'] / r['first_stages']['ingest']:.2f}" for r in results])
    row("ratio end to end / (floor + Dagster start)", [f"{r['first_e2e'] / (r['floor'] + r['dagster_start']):.2f}" for r in results])
    row("reading every file: in process / isolated, 1 child / 2 children (s)",
        [f"{r['isolation']['in_process']:.1f} / {r['isolation']['isolated_1']:.1f} / {r['isolation']['isolated_2']:.1f}" for r in results])
    row("ratio isolated (1 child) / in process; (2 children) / in process",
        [f"{r['isolation']['isolated_1'] / r['isolation']['in_process']:.2f}; "
         f"{r['isolation']['isolated_2'] / r['isolation']['in_process']:.2f}" for r in results])
    row("re-run, files unchanged: ingest (s) / files not re-parsed",
        [f"{r['again_stages']['ingest']:.1f} / {r['again_reused']}" for r in results])
    row("re-run, files unchanged: end to end (s), the fixed cost of a run", [f"{r['again_e2e']:.1f}" for r in results])
    row("Dagster events written per run", [f"{r['first_stages']['events']}" for r in results])
    row("readers, every file (s): floor / the pipeline's reader (raw layer) / fastexcel",
        [f"{r['floor']:.1f} / {r['reader']:.1f} / {r['fastexcel']:.1f}" for r in results])
    row("fastexcel, strict dtypes over all rows: sheets' columns typed whole / in sheets mixing numbers and text",
        [f"{r['fastexcel_detail']['typed']} / {r['fastexcel_detail']['mixed']}" for r in results])
    row("vi_quoted (Python UDF) on 10k × scale failing cells (ms): text / numbers / plain SQL quoting",
        [f"{r['udf']['text'] * 1000:.0f} / {r['udf']['number'] * 1000:.0f} / {r['udf']['sql'] * 1000:.0f}" for r in results])
    row("xlsx files only (s): floor (calamine) / DuckDB read_xlsx, all VARCHAR",
        [f"{r['floor_xlsx']['seconds']:.1f} / {r['duckdb_excel']['seconds']:.1f}" if "duckdb_excel" in r else "not measured"
         for r in results])
    lines += ["", "Issue 28's targets, same run:", "", "| measure (target) | " + " | ".join(f"{r['scale']}x" for r in results) + " |",
              "|---|" + "---|" * len(results)]
    row("ingest / floor (≤ 2.0 at 10x)", [f"{r['first_stages']['ingest'] / r['floor']:.2f}" for r in results])
    row("end to end / (floor + one Dagster start) (≤ 2.5 at 10x)",
        [f"{r['first_e2e'] / (r['floor'] + r['dagster_start']):.2f}" for r in results])
    row("re-run, no file changed: ingest / first run's ingest (≤ 10% at 10x)",
        [f"{r['again_stages']['ingest'] / r['first_stages']['ingest']:.0%} ({r['again_stages']['ingest']:.1f} s; "
         f"{r['again_kept']} of {len(SOURCE_NAMES)} sources kept)" for r in results])
    row("re-run, no file changed: end to end / one Dagster start (≤ 2 at 1x)",
        [f"{r['again_e2e'] / r['dagster_start']:.2f} ({r['again_e2e']:.1f} s)" for r in results])
    row("peak RSS of the run, MiB (< 1.5 GB at 10x)", [f"{r['first_rss']:.0f}" for r in results])
    row("re-run after one ioffice file was sent again: sources staged again / ingest (s) / end to end (s)",
        [f"{len(SOURCE_NAMES) - r['resent_kept']} / {r['resent_stages']['ingest']:.1f} / {r['resent_e2e']:.1f}" for r in results])
    with_passes = [r for r in results if "passes" in r]
    for r in with_passes:
        lines += ["", f"Staging pass by pass at {r['scale']}x (bench/passes.py: every source read and staged outside Dagster, "
                  "each statement timed, summed over the sources):", "", "| pass | s |", "|---|---|"]
        lines += [f"| {name} | {seconds:.1f} |" for name, seconds in r["passes"].items() if seconds >= 0.05]
    compared = [r for r in results if "before_versions" in r]
    if compared:
        lines += ["", f"Versioned warehouse (this code) against the code before it ({BEFORE_VERSIONS}), same files, same run:", "",
                  "| measure | " + " | ".join(f"{r['scale']}x" for r in compared) + " |", "|---|" + "---|" * len(compared)]
        for label, key in (("first run, end to end (s): before / now / ratio", "first_e2e"),
                           ("re-run, files unchanged (s): before / now / ratio", "again_e2e")):
            row(label, [f"{r['before_versions'][key]:.1f} / {r['versions'][key]:.1f} / "
                        f"{r['versions'][key] / r['before_versions'][key]:.2f}" for r in compared])
        for label, key in (("warehouse after 1 version (MB): before / now (working + lake + archive)", "first_size"),
                           ("warehouse after 3 versions (MB): before / now (working + lake + archive)", "third_size")):
            row(label, [f"{r['before_versions'][key]['total']:.0f} / {r['versions'][key]['total']:.0f} "
                        f"({r['versions'][key]['working']:.0f} + {r['versions'][key]['lake']:.0f} + "
                        f"{r['versions'][key]['archive']:.0f})" for r in compared])
    if len(results) == 2:
        small, big = results
        lines += ["", "| 10x / 1x | " + " | ".join(list(STAGES) + ["end to end", "floor"]) + " |", "|---|" + "---|" * (len(STAGES) + 2)]
        ratios = [big["first_stages"][s] / small["first_stages"][s] if small["first_stages"][s] else float("nan") for s in STAGES]
        ratios += [big["first_e2e"] / small["first_e2e"], big["floor"] / small["floor"]]
        lines.append("| time | " + " | ".join(f"{x:.1f}" for x in ratios) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", default="1,10")
    parser.add_argument("--work", default=str(ROOT / "warehouse" / "bench"))
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results = [bench_scale(int(s), work) for s in args.scales.split(",")]
    text = report(results)
    print("[1x] four provinces: one after another, then at once", flush=True)
    output = subprocess.run([str(BIN / "python"), str(ROOT / "bench" / "provinces.py"), str(work)], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    provinces = json.loads(output.strip().splitlines()[-1])
    text += ("\n\n| four provinces at 1x, 2020-Q2 each | one after another (s) | at once (s) | ratio |\n|---|---|---|---|\n"
             f"| {provinces['provinces']} runs, the contract command | {provinces['one_after_another']:.1f} | "
             f"{provinces['at_once']:.1f} | {provinces['ratio']:.2f} |")
    results.append({"provinces": provinces})
    (work / "results.md").write_text(text + "\n", encoding="utf-8")
    (work / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print("\n" + text + f"\n\n(written to {work / 'results.md'})")


if __name__ == "__main__":
    main()
