"""A source is staged again only when something its staging depends on changed.

A source's staged rows, loads and findings are a function of four things: its files (by sha256), the quarter's
registry (agency names are matched against it), the rules (the SQL, the reading and staging code, DuckDB's
release, the reader's limits) and the quarter's window. Their hash, the source's fingerprint, is kept beside what
its staging reported (`source_stagings`). A run that finds the same fingerprint keeps the rows, loads and findings
already in the working file, and reports them again as they were; the new version of the warehouse carries them
over unchanged. A file whose reading ended early (a killed child, a limit: not a property of the file) leaves no
fingerprint, so the next run reads it again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb

from pipeline.lib import findings, isolation, parse_cache, raw_layer, wording
from pipeline.lib.isolation import ReaderLimits
from pipeline.lib.raw_layer import list_source_files
from pipeline.lib.reader import sha256_of
from pipeline.lib.tablespecs import TableSpec
from pipeline.lib.warehouse import replace_rows, table_exists

SOURCE_STAGINGS = "source_stagings"
SOURCE_STAGINGS_COLUMNS = {"quarter": "VARCHAR", "source": "VARCHAR", "fingerprint": "VARCHAR", "outcome": "VARCHAR"}
REGISTRY_TABLE = "stg_agencies"
_HERE = Path(__file__).parent
RULES_VERSION = hashlib.sha256(b"\0".join([
    parse_cache.READER_VERSION.encode(), duckdb.__version__.encode(),
    *(p.read_bytes() for p in sorted(_HERE.glob("*.py"))),
    *(p.read_bytes() for p in sorted((_HERE / "sql").glob("*.sql"))),
    *(Path(m.__file__).read_bytes() for m in (findings, isolation, raw_layer, wording)),
])).hexdigest()


def source_fingerprint(conn, quarter_dir: Path, source: str, specs: tuple[TableSpec, ...], quarter: str,
                       window: tuple[dt.date, dt.date], registry: bool) -> str | None:
    """The hash of what the source's staging depends on (None when a file cannot be read to hash it: the source
    is then staged, and staging says what is wrong with the file)."""
    limits = ReaderLimits.from_env()
    parts = [RULES_VERSION, source, quarter, window[0].isoformat(), window[1].isoformat(),
             f"{limits.memory_bytes} {limits.timeout_seconds}"]
    files, ignored = list_source_files(quarter_dir / source)
    try:
        parts += [f"{p.relative_to(quarter_dir).as_posix()} {sha256_of(p)}" for p in files]
        parts += [f"{p.relative_to(quarter_dir).as_posix()} ignored {p.stat().st_size}" for p in ignored]
    except OSError:
        return None
    if source != "agencies" and any(spec.agency_columns for spec in specs):
        parts.append(registry_hash(conn, quarter) if registry else "no registry")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def registry_hash(conn, quarter: str) -> str:
    """The quarter's registry as agency names are matched against it: every column of every row."""
    return conn.execute(
        f"SELECT sha256(coalesce(string_agg(CAST(a AS VARCHAR), chr(10) ORDER BY a.row_id), '')) "
        f"FROM (SELECT * EXCLUDE (quarter) FROM {REGISTRY_TABLE} WHERE quarter = ?) a", [quarter]).fetchone()[0]


def kept_outcome(conn, quarter: str, source: str, fingerprint: str | None, specs: tuple[TableSpec, ...]) -> dict | None:
    """What the source's last staging reported, if its fingerprint is `fingerprint` and its staged rows are still
    all there; else None (stage it)."""
    if fingerprint is None or not table_exists(conn, SOURCE_STAGINGS):
        return None
    found = conn.execute(f"SELECT outcome FROM {SOURCE_STAGINGS} WHERE quarter = ? AND source = ? AND fingerprint = ?",
                         [quarter, source, fingerprint]).fetchone()
    if found is None:
        return None
    outcome = json.loads(found[0])
    for spec in specs:
        kept = outcome["tables"].get(spec.name)
        if kept is None or not table_exists(conn, spec.staging_table) or kept["rows"] != conn.execute(
                f"SELECT count(*) FROM {spec.staging_table} WHERE quarter = ?", [quarter]).fetchone()[0]:
            return None
    return outcome


def keep_outcome(conn, quarter: str, source: str, fingerprint: str | None, outcome: dict) -> None:
    """Record the staging's fingerprint and report (inside the staging's transaction); no fingerprint: the next run
    stages the source again."""
    import pandas as pd

    rows = [] if fingerprint is None else [{"quarter": quarter, "source": source, "fingerprint": fingerprint,
                                            "outcome": json.dumps(outcome, ensure_ascii=False)}]
    replace_rows(conn, SOURCE_STAGINGS, SOURCE_STAGINGS_COLUMNS, pd.DataFrame(rows, columns=list(SOURCE_STAGINGS_COLUMNS)),
                 {"quarter": quarter, "source": source})
