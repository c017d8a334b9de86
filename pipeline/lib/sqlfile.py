"""SQL files of named queries (`-- name: <id>` blocks), kept next to the assets that run them."""

from __future__ import annotations

import re
from pathlib import Path


def named_queries(path: Path) -> dict[str, str]:
    """name -> query, in file order."""
    blocks = re.split(r"^-- name: (\w+)\s*$", path.read_text(encoding="utf-8"), flags=re.M)
    return {name: query.strip().rstrip(";") for name, query in zip(blocks[1::2], blocks[2::2])}


def guarded_tables(path: Path) -> dict[str, str]:
    """name -> the table a named query guards (its `-- guards: <table>` line), for the queries that have one."""
    return dict(re.findall(r"^-- name: (\w+)\s*\n-- guards: (\w+)", path.read_text(encoding="utf-8"), flags=re.M))


def run_named(conn, query: str, params: dict):
    """Execute with only the parameters the query uses (DuckDB refuses unused named parameters)."""
    return conn.execute(query, {k: v for k, v in params.items() if f"${k}" in query})
