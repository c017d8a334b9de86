"""`python -m pipeline sql [--quarter Q --version N|signed] ["QUERY"]`: the auditors' read-only window.

The query runs on the versioned warehouse (the lake), attached read-only, as the catalog `lake` and the
default: `SELECT * FROM indicators WHERE quarter = '2020-Q2'`. With `--version` the lake is attached at that
version's snapshot. Only reading statements are run; anything that writes (INSERT, COPY … TO, ATTACH, SET, …)
is refused in one line. The result is printed as CSV. Without a query, a shell reads statements one by one.
A reader never holds the working file, so runs go on while auditors read (`pipeline.lib.lake`).
"""

from __future__ import annotations

import csv
import sys
from typing import TextIO

import duckdb

from pipeline.lib import lake
from pipeline.lib.messages import say

READING = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}
BATCH = 10_000


class SqlError(Exception):
    """A query refused or failed, for the user."""


def _connect(warehouse: str, quarter: str | None, version: str | None) -> duckdb.DuckDBPyConnection:
    snapshot = lake.resolve_version(warehouse, quarter, version)["snapshot_id"] if version else None
    return lake.open_lake(warehouse, snapshot)


def reading_statements(query: str) -> list:
    """The query's statements, when every one of them only reads; else a plain refusal."""
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        raise SqlError(say("sql.does_not_parse", reason=_reason(exc))) from None
    if not statements:
        raise SqlError(say("sql.empty"))
    for statement in statements:
        if statement.type not in READING:
            raise SqlError(say("sql.refused", statement=statement.type.name))
    return statements


def _reason(exc: duckdb.Error) -> str:
    return str(exc).splitlines()[0]


def run_query(warehouse: str, query: str, out: TextIO, quarter: str | None = None, version: str | None = None,
              conn: duckdb.DuckDBPyConnection | None = None) -> None:
    """Run the reading `query` and write its result (of the last statement) as CSV to `out`."""
    statements = reading_statements(query)
    own = conn is None
    conn = conn or _connect(warehouse, quarter, version)
    try:
        for statement in statements:
            try:
                cursor = conn.execute(statement)
            except duckdb.Error as exc:
                raise SqlError(say("sql.failed", reason=_reason(exc))) from None
        writer = csv.writer(out)
        writer.writerow([d[0] for d in cursor.description])
        while rows := cursor.fetchmany(BATCH):
            writer.writerows(rows)
    finally:
        if own:
            conn.close()


def interactive(warehouse: str, quarter: str | None, version: str | None) -> int:
    """A read-only shell: each statement ended by `;` (the last one by the end of the input), its result as CSV."""
    conn = _connect(warehouse, quarter, version)
    where = say("sql.shell_version", version=version, quarter=quarter) if version else say("sql.shell_latest")
    tables = ", ".join(t for (t,) in conn.execute("SELECT table_name FROM information_schema.tables "
                                                  "WHERE table_catalog = 'lake' ORDER BY 1").fetchall())
    print(say("sql.shell", lake=lake.location(warehouse), where=where, tables=tables), file=sys.stderr)
    pending = ""
    try:
        while True:
            try:
                line = input(("sql> " if not pending else "...> ") if sys.stdin.isatty() else "")
            except EOFError:
                line = None
            pending = f"{pending}\n{line or ''}".strip()
            if pending and (line is None or pending.endswith(";")):
                try:
                    run_query(warehouse, pending, sys.stdout, conn=conn)
                except SqlError as exc:
                    print(say("sql.shell_error", reason=exc), file=sys.stderr)
                pending = ""
            if line is None:
                return 0
    finally:
        conn.close()
