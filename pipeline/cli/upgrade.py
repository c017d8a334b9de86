"""`python -m pipeline upgrade-warehouse`: a working file written by DuckDB 2.x, rewritten for the DuckDB this
pipeline pins, every table and version kept.

The pipeline before the versioned warehouse ran on DuckDB 2.0, whose files DuckDB 1.5.5 cannot open ("a database
file with version number 999"). DuckLake's extension packages exist for 1.5.5 only, so the pipeline pins it, and a
warehouse of the earlier code is upgraded once: a scratch virtualenv with DuckDB 2.0 (from the package registry)
copies every table into a new file in 1.5's storage format (`COPY FROM DATABASE`), the row counts of every table are
compared, and the new file takes the warehouse's name; the old one is kept beside it as `<name>.before-upgrade`.
Versions kept by the earlier code (`indicators_history`, `findings_history`, `versions`) come along unchanged; the
versioned warehouse (`lake/`) starts with the next run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb

from pipeline.lib.messages import say
from pipeline.lib.wording import number

NEWER_DUCKDB = "duckdb>=2.0,<2.1"
COPY = """
import json, sys
import duckdb
conn = duckdb.connect()
conn.execute(f"ATTACH '{sys.argv[1]}' AS old (READ_ONLY)")
conn.execute(f"ATTACH '{sys.argv[2]}' AS new (STORAGE_VERSION 'v1.5.0')")
conn.execute("COPY FROM DATABASE old TO new")
tables = [t for (t,) in conn.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'old'").fetchall()]
print(json.dumps({t: conn.execute(f'SELECT count(*) FROM old."{t}"').fetchone()[0] for t in tables}))
"""


class UpgradeError(Exception):
    """The warehouse cannot be upgraded as it is, for the user."""


def written_by_newer_duckdb(path: Path) -> bool:
    try:
        duckdb.connect(str(path), read_only=True).close()
    except duckdb.IOException as exc:
        return "version number" in str(exc) and "newer version of DuckDB" in str(exc)
    return False


def newer_duckdb_python(folder: Path) -> Path:
    """A scratch virtualenv with DuckDB 2.0, made once under `folder`."""
    python = folder / "bin" / "python"
    if not python.exists():
        steps = ([sys.executable, "-m", "venv", str(folder)], [str(python), "-m", "pip", "install", "--quiet", NEWER_DUCKDB])
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True)
            if done.returncode:
                raise UpgradeError(say("upgrade.cannot_prepare", step=" ".join(step[2:4]),
                                       reason=" ".join((done.stderr or done.stdout).strip().splitlines()[-1:])))
    return python


def upgrade(warehouse: Path) -> str:
    """Rewrite `warehouse` for this pipeline's DuckDB; the lines to print."""
    if not warehouse.is_file():
        raise UpgradeError(say("upgrade.no_warehouse", warehouse=warehouse))
    if not written_by_newer_duckdb(warehouse):
        return say("upgrade.nothing_to_do", warehouse=warehouse, duckdb=duckdb.__version__)
    python = newer_duckdb_python(warehouse.parent / ".upgrade-duckdb")
    new = warehouse.with_name(f".{warehouse.name}.upgrading")
    new.unlink(missing_ok=True)
    done = subprocess.run([str(python), "-c", COPY, str(warehouse), str(new)], capture_output=True, text=True)
    if done.returncode:
        new.unlink(missing_ok=True)
        raise UpgradeError(say("upgrade.cannot_copy", warehouse=warehouse,
                               reason=done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode))
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    conn = duckdb.connect(str(new), read_only=True)
    try:
        copied = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in counts}
    finally:
        conn.close()
    if copied != counts:
        new.unlink(missing_ok=True)
        raise UpgradeError(say("upgrade.rows_differ", warehouse=warehouse))
    kept = warehouse.with_name(f"{warehouse.name}.before-upgrade")
    os.replace(warehouse, kept)
    os.replace(new, warehouse)
    return say("upgrade.upgraded", warehouse=warehouse, duckdb=duckdb.__version__, tables=len(counts),
               rows=number(sum(counts.values())), kept=kept)
