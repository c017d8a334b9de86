"""Where ingest's time goes, pass by pass: every source of a quarter read and staged outside Dagster.

    python bench/passes.py QUARTER_DIR [WORK_DIR] [--keep] [--by-table]

Reads each source's files as a run does (isolated children, no parse cache), then stages them into a scratch
DuckDB file as a run does (`stage_cells`), timing each statement the staging runs and naming it after its step
(`assets/ingest/sql/staging.sql`, the tables' own `stg_<table>.sql`, the raw layer's insert). Prints one JSON line:
seconds per pass summed over the sources, reading included.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import duckdb

from assets.ingest.stage_in_sql import STEPS, ensure_tables, stage_cells
from pipeline.lib.raw_layer import stage_source, staging_columns
from pipeline.lib.tablespecs import SOURCES
from pipeline.orchestration.partitions import quarter_window

FIRST_LINES = {name: query.strip().splitlines()[0] for name, query in STEPS.items()}


def pass_name(query: str) -> str:
    name = step_name(query)
    table = re.search(r"FROM (?:raw_(\w+) WHERE quarter|_arrow_(\w+))", query)
    return f"{name} ({table.group(1) or table.group(2)})" if "--by-table" in sys.argv and table else name


def step_name(query: str) -> str:
    text = query.strip()
    for name, first in FIRST_LINES.items():
        if text.startswith(first) and "<<" not in first:
            return name
    for pattern, name in ((r"CREATE OR REPLACE TEMP TABLE (\w+)", "{}"), (r"INSERT INTO raw_", "write the raw layer"),
                          (r"INSERT INTO stg_\w+", "insert_staged"), (r"DELETE FROM", "delete the quarter's rows"),
                          (r"--|CREATE (OR REPLACE )?(TEMP )?MACRO", "macros (prepare)"), (r"INSERT INTO spec_choices", "macros (prepare)"),
                          (r"DROP TABLE", "drop temporary tables")):
        found = re.match(pattern, text)
        if found:
            return name.format(found.group(1)) if "{}" in name else name
    return "other: " + text.split()[0].lower()


class TimedConnection:
    """A DuckDB connection whose `execute` adds its time to the pass it runs."""

    def __init__(self, conn, times: dict[str, float]) -> None:
        self._conn, self._times = conn, times

    def execute(self, query, *args, **kwargs):
        started = time.perf_counter()
        try:
            return self._conn.execute(query, *args, **kwargs)
        finally:
            self._times[pass_name(query)] += time.perf_counter() - started

    def __getattr__(self, name):
        return getattr(self._conn, name)


def main() -> None:
    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    quarter_dir = Path(arguments[0])
    work = Path(arguments[1]) if len(arguments) > 1 else Path(tempfile.mkdtemp())
    quarter = quarter_dir.name
    times: dict[str, float] = defaultdict(float)
    database = work / "passes.duckdb"
    database.unlink(missing_ok=True)
    conn = duckdb.connect(str(database), config={"memory_limit": os.environ.get("DUCKDB_MEMORY_LIMIT", "768MB")})
    for source, specs in SOURCES.items():  # agencies first: the others match agency names against it
        started = time.perf_counter()
        result = stage_source(quarter_dir, source, specs, None)
        times["reading (isolated children)"] += time.perf_counter() - started
        ensure_tables(conn, specs, staging_columns)
        registry = source != "agencies"
        conn.execute("BEGIN TRANSACTION")
        started = time.perf_counter()
        stage_cells(TimedConnection(conn, times), specs, quarter, quarter_window(quarter), result.cells, registry,
                    staging_columns)
        times["staging, all passes"] += time.perf_counter() - started
        started = time.perf_counter()
        conn.execute("COMMIT")
        times["commit"] += time.perf_counter() - started
    conn.close()
    if "--keep" not in sys.argv:
        database.unlink(missing_ok=True)
    print(json.dumps({name: round(seconds, 3) for name, seconds in sorted(times.items(), key=lambda kv: -kv[1])}))


if __name__ == "__main__":
    main()
