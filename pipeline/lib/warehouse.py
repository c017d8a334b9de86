"""Writing a quarter into the DuckDB warehouse: each asset replaces exactly its own rows, atomically."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable

import dagster as dg
import pandas as pd
import pyarrow as pa


def ensure_table(conn, table: str, columns: dict[str, str]) -> None:
    """Create the table, or add columns a newer pipeline version introduced (other quarters stay)."""
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(f'{c} {t}' for c, t in columns.items())})"
    )
    existing = {r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
    ).fetchall()}
    for column, sql_type in columns.items():
        if column not in existing:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")


ARROW_TYPES = {"VARCHAR": pa.string(), "DATE": pa.date32(), "BOOLEAN": pa.bool_(), "BIGINT": pa.int64(),
               "INTEGER": pa.int32(), "DOUBLE": pa.float64()}


def _as_arrow(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Python-object columns (dates, codes with gaps) as Arrow columns of their SQL type: DuckDB then scans
    them vectorized instead of converting one Python object at a time. A frame holding Arrow columns is
    scanned through Arrow as a whole, so unless every object column converts, the frame is left as it is
    (and DuckDB converts it value by value, as it can any frame)."""
    converted = {}
    for column in frame.columns:
        if frame[column].dtype == object:
            if columns.get(column) not in ARROW_TYPES:
                return frame
            try:
                values = pa.array(frame[column].to_numpy(), ARROW_TYPES[columns[column]], from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
                return frame
            converted[column] = pd.array(values, dtype=pd.ArrowDtype(values.type))
    return frame.assign(**converted) if converted else frame


def insert_frame(conn, table: str, frame: pd.DataFrame, columns: dict[str, str]) -> None:
    """Insert `frame` (columns as in `columns`, cast to their SQL types) into `table`."""
    if frame.empty:
        return
    conn.register("_frame", _as_arrow(frame, columns))
    try:
        select = ", ".join(f"CAST(_frame.{c} AS {t})" for c, t in columns.items())
        conn.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select} FROM _frame")
    finally:
        conn.unregister("_frame")


def replace_partition(conn, writes: Iterable[tuple[str, dict[str, str], pd.DataFrame, dict]],
                      versioned_run: str | None = None) -> dict[str, int]:
    """In one transaction, for each (table, columns, frame, where): delete the rows matching `where`
    (e.g. {"quarter": "2020-Q2"}) and insert `frame`. A crash leaves the previous state whole.
    With `versioned_run`, each table is a published one whose partition is the quarter: what it held is
    kept, and what is written recorded as a new version of that run (`pipeline.lib.versions`); returns
    table -> version."""
    from pipeline.lib.versions import append_version, keep_unversioned

    writes = list(writes)
    versions = {}
    for table, columns, _, _ in writes:
        ensure_table(conn, table, columns)
    with transaction(conn):
        for table, columns, frame, where in writes:
            if versioned_run:
                keep_unversioned(conn, table, columns, where["quarter"])
            replace_rows(conn, table, columns, frame, where)
            if versioned_run:
                versions[table] = append_version(conn, table, columns, where["quarter"], versioned_run)
    return versions


def replace_rows(conn, table: str, columns: dict[str, str], frame: pd.DataFrame, where: dict) -> None:
    """Delete the rows matching `where` and insert `frame` (inside the caller's transaction)."""
    conditions = " AND ".join(f"{c} = ?" for c in where)
    conn.execute(f"DELETE FROM {table} WHERE {conditions}", list(where.values()))
    insert_frame(conn, table, frame, columns)


@contextmanager
def transaction(conn):
    """One transaction: committed whole, or rolled back whole (a crash leaves the previous state)."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def column_schema(columns: dict[str, str], descriptions: dict[str, str] | None = None) -> dg.TableSchema:
    descriptions = descriptions or {}
    return dg.TableSchema(columns=[dg.TableColumn(name, sql_type, description=descriptions.get(name))
                                   for name, sql_type in columns.items()])


def table_exists(conn, table: str) -> bool:
    return bool(conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
    ).fetchone()[0])
