"""Versions: what a materialization replaces is kept, never overwritten without a trace.

The published tables (`indicators`, `findings`) hold the current version of each quarter, as the contract
says. Each materialization also appends what it wrote to `<table>_history`, numbered per quarter, with
its run id and time; a quarter materialized before history existed has its rows kept as version 0 the
first time they are replaced. The annex keeps its earlier files under `versions/` with their date.
`python -m pipeline history QUARTER` lists the versions and the figures that changed between them.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pandas as pd

from pipeline.lib.messages import say
from pipeline.lib.warehouse import ensure_table, table_exists

VERSIONS_TABLE = "versions"
VERSIONS_COLUMNS = {"quarter": "VARCHAR", "table_name": "VARCHAR", "version": "INTEGER", "run_id": "VARCHAR",
                    "materialized_at": "TIMESTAMP", "row_count": "BIGINT"}
ANNEX_NAME = "phu-luc-{quarter}.xlsx"  # the outputs of a quarter, under outputs/<quarter>/
DRAFT_NAME = "bao-cao-{quarter}.docx"
CHANGE_SHARE_ENV = "FIGURE_CHANGE_ALERT"
DEFAULT_CHANGE_SHARE = 0.5  # a figure moving by more than half of its previous value is worth a look


def history_table(table: str) -> str:
    return f"{table}_history"


def _record(conn, table: str, columns: dict[str, str], quarter: str, version: int, run_id: str | None,
            at: dt.datetime | None) -> None:
    listed = ", ".join(columns)
    conn.execute(f"INSERT INTO {history_table(table)} ({listed}, version) SELECT {listed}, ? FROM {table} "
                 "WHERE quarter = ?", [version, quarter])
    count = conn.execute(f"SELECT count(*) FROM {table} WHERE quarter = ?", [quarter]).fetchone()[0]
    conn.execute(f"INSERT INTO {VERSIONS_TABLE} VALUES (?, ?, ?, ?, ?, ?)", [quarter, table, version, run_id, at, count])


def keep_unversioned(conn, table: str, columns: dict[str, str], quarter: str) -> None:
    """Inside the caller's transaction, before it deletes the quarter's rows: rows written before history
    existed become version 0, so the first replacement under this code loses nothing either."""
    ensure_table(conn, history_table(table), columns | {"version": "INTEGER"})
    ensure_table(conn, VERSIONS_TABLE, VERSIONS_COLUMNS)
    if not table_exists(conn, table) or conn.execute(
            f"SELECT count(*) FROM {VERSIONS_TABLE} WHERE quarter = ? AND table_name = ?", [quarter, table]).fetchone()[0]:
        return
    if conn.execute(f"SELECT count(*) FROM {table} WHERE quarter = ?", [quarter]).fetchone()[0]:
        _record(conn, table, columns, quarter, 0, None, None)


def append_version(conn, table: str, columns: dict[str, str], quarter: str, run_id: str) -> int:
    """Inside the caller's transaction, after it inserted the quarter's new rows: record them as the next
    version of the quarter's table; return its number."""
    version = conn.execute(f"SELECT coalesce(max(version), 0) + 1 FROM {VERSIONS_TABLE} WHERE quarter = ? "
                           "AND table_name = ?", [quarter, table]).fetchone()[0]
    _record(conn, table, columns, quarter, version, run_id, dt.datetime.now().replace(microsecond=0))
    return version


def current_version(conn, quarter: str) -> int | None:
    """The quarter's current version: the latest its figures were given (None before any)."""
    if not table_exists(conn, VERSIONS_TABLE):
        return None
    return conn.execute(f"SELECT max(version) FROM {VERSIONS_TABLE} WHERE quarter = ? AND table_name = 'indicators'",
                        [quarter]).fetchone()[0]


def change_share() -> float:
    raw = os.environ.get(CHANGE_SHARE_ENV)
    if not raw:
        return DEFAULT_CHANGE_SHARE
    try:
        share = float(raw)
        assert share > 0
    except (ValueError, AssertionError):
        raise ValueError(say("setting.not_a_share", variable=CHANGE_SHARE_ENV, text=raw)) from None
    return share


def shown_value(value) -> str:
    """A figure as a change line shows it, written the Vietnamese way: NULL, a whole count (80.500), or a rate to two
    decimals (73,85)."""
    if value is None or value != value:
        return "NULL"
    shown = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    return shown.translate(VIETNAMESE_SEPARATORS)


VIETNAMESE_SEPARATORS = str.maketrans(",.", ".,")


def figure_changes(conn, quarter: str, version: int, share: float) -> pd.DataFrame:
    """The figures of `version` against the version before it: every difference, with `kind` one of
    `became NULL`, `now has a value`, `moved` (by more than `share` of the earlier value) or `changed`."""
    history = history_table("indicators")
    return conn.execute(f"""
        WITH earlier AS (SELECT max(version) AS version FROM {VERSIONS_TABLE}
                         WHERE quarter = $quarter AND table_name = 'indicators' AND version < $version),
        before AS (SELECT h.* FROM {history} h, earlier WHERE h.quarter = $quarter AND h.version = earlier.version),
        after AS (SELECT * FROM {history} WHERE quarter = $quarter AND version = $version)
        SELECT coalesce(a.indicator_id, b.indicator_id) AS indicator_id, coalesce(a.label, b.label) AS label,
               b.value AS before, a.value AS after, b.version AS from_version,
               CASE WHEN b.value IS NOT NULL AND a.value IS NULL THEN 'became NULL'
                    WHEN b.value IS NULL AND a.value IS NOT NULL THEN 'now has a value'
                    WHEN abs(a.value - b.value) > $share * abs(b.value) THEN 'moved'
                    ELSE 'changed' END AS kind
        FROM after a FULL JOIN before b USING (indicator_id)
        WHERE (SELECT version FROM earlier) IS NOT NULL AND a.value IS DISTINCT FROM b.value
        ORDER BY coalesce(a.position, b.position)
    """, {"quarter": quarter, "version": version, "share": share}).df()


def publish_file(partial: Path, target: Path, content=Path.read_bytes) -> Path | None:
    """Rename a finished output over `target` (atomic), the earlier file, when its `content` differs, kept
    under `versions/`; return where that went."""
    kept = keep_previous_file(target, partial, content)
    os.replace(partial, target)
    return kept


def keep_previous_file(target: Path, replacement: Path, content=Path.read_bytes) -> Path | None:
    """Before `replacement` is renamed over `target`: move the earlier file, when its `content` differs, to
    `versions/<stem>-<its date>.<ext>` beside it; return where it went."""
    if not target.exists() or content(target) == content(replacement):
        return None
    stamp = dt.datetime.fromtimestamp(target.stat().st_mtime).strftime("%Y%m%d-%H%M%S")
    folder = target.parent / "versions"
    folder.mkdir(exist_ok=True)
    kept = folder / f"{target.stem}-{stamp}{target.suffix}"
    counter = 1
    while kept.exists():
        counter += 1
        kept = folder / f"{target.stem}-{stamp}-{counter}{target.suffix}"
    shutil.move(str(target), kept)
    return kept
