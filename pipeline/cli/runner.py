"""What `make run` (`python -m pipeline run`) does: materialize quarters and tell a person what happened.

Without a quarter it runs every quarter folder under RAW_DIR that the warehouse has no figures for yet,
oldest first, then the latest (so the sample's two quarters both exist and the annex's comparison
column is filled). Each quarter is the contract command, its step-by-step Dagster output written to a
log file; what is printed is a short summary: figures computed and NULL, findings by severity with the
three most important, the figures that changed since the previous version, the annex, the time taken.
A failed run prints its errors in full, and the log's path.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from pipeline.cli.history import history
from pipeline.lib.messages import say, severity
from pipeline.lib.signoff import AMEND_TAG
from pipeline.lib.versions import ANNEX_NAME, DRAFT_NAME
from pipeline.lib.warehouse import table_exists
from pipeline.lib.wording import number
from pipeline.orchestration.partitions import parse_quarter, partition_key, partition_tags, quarters_with_exports

SEVERITY_ORDER = "CASE severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END"


def quarters_to_run(raw_dir: Path, warehouse: Path, latest_partition: str) -> list[str]:
    """Quarter folders under RAW_DIR with no figures in the warehouse, oldest first, then the latest."""
    folders = [q for q in quarters_with_exports(raw_dir) if parse_quarter(q) <= parse_quarter(latest_partition)]
    if not folders:
        return []
    done: set[str] = set()
    if warehouse.is_file():
        conn = duckdb.connect(str(warehouse), read_only=True)
        try:
            if table_exists(conn, "indicators"):
                done = {q for (q,) in conn.execute("SELECT DISTINCT quarter FROM indicators").fetchall()}
        finally:
            conn.close()
    return [q for q in folders[:-1] if q not in done] + folders[-1:]


def materialize(province: str, quarter: str, log_dir: Path, amend_reason: str | None = None) -> tuple[bool, Path, float]:
    """The contract command for one province's quarter, its output to a log file: (succeeded, log, seconds). An
    amendment runs the same assets as the job, which takes the run's tags (`amend_reason`)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"run-{quarter}-{dt.datetime.now():%Y%m%d-%H%M%S}.log"
    dagster = Path(sys.executable).with_name("dagster")
    key = partition_key(province, quarter)
    command = [str(dagster), "asset", "materialize", "-m", "pipeline.definitions", "--select", "*", "--partition", key]
    if amend_reason:
        command = [str(dagster), "job", "execute", "-m", "pipeline.definitions", "-j", "quarterly_report", "--tags",
                   json.dumps({"dagster/partition": key, **partition_tags(province, quarter), AMEND_TAG: amend_reason},
                              ensure_ascii=False)]
    started = time.perf_counter()
    with open(log, "w", encoding="utf-8") as handle:
        done = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT)
    return done.returncode == 0, log, time.perf_counter() - started


def failure_text(log: Path) -> str:
    """The errors of a failed run's log, in full: from the first ERROR line on, without DEBUG lines."""
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    first = next((n for n, line in enumerate(lines) if " - ERROR - " in line), max(0, len(lines) - 40))
    return "\n".join(line for line in lines[first:] if " - DEBUG - " not in line)


def summary(warehouse: str, outputs_dir: str, quarter: str, seconds: float, log: Path) -> str:
    conn = duckdb.connect(warehouse, read_only=True)
    try:
        figures, nulls = conn.execute("SELECT count(*), count(*) FILTER (WHERE value IS NULL) FROM indicators "
                                      "WHERE quarter = ?", [quarter]).fetchone()
        null_ids = [i for (i,) in conn.execute("SELECT indicator_id FROM indicators WHERE quarter = ? AND value IS NULL "
                                               "ORDER BY position LIMIT 6", [quarter]).fetchall()]
        counts = dict(conn.execute("SELECT severity, count(*) FROM findings WHERE quarter = ? GROUP BY 1", [quarter]).fetchall())
        top = conn.execute(f"SELECT severity, check_id, message FROM findings WHERE quarter = ? "
                           f"ORDER BY {SEVERITY_ORDER}, source, file, sheet, row LIMIT 3", [quarter]).fetchall()
    finally:
        conn.close()
    shown_nulls = f" ({', '.join(null_ids)}{', …' if nulls > 6 else ''})" if nulls else ""
    lines = [say("summary.done", quarter=quarter, seconds=number(round(seconds))),
             say("summary.figures", figures=number(figures), nulls=number(nulls), null_ids=shown_nulls),
             say("summary.findings", error=number(counts.get("error", 0)), warning=number(counts.get("warning", 0)),
                 info=number(counts.get("info", 0)))]
    for level, check_id, message in top:
        text = message if len(message) <= 150 else message[:149] + "…"
        lines.append(say("summary.top_finding", severity=severity(level), check_id=check_id, message=text))  # names its place
    changes = history(warehouse, outputs_dir, quarter, latest_only=True).splitlines()[1:]
    lines += [f"  {line.strip()}" for line in changes] or []
    lines.append(say("summary.annex", path=Path(outputs_dir) / quarter / ANNEX_NAME.format(quarter=quarter)))
    lines.append(say("summary.report", path=Path(outputs_dir) / quarter / DRAFT_NAME.format(quarter=quarter)))
    lines.append(say("summary.log", log=log))
    return "\n".join(lines)
