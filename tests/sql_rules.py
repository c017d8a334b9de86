"""The staging rules of assets/ingest/sql/ called one value at a time, as staging applies them to a cell."""

from __future__ import annotations

from typing import Any

import duckdb

from assets.ingest import stage_in_sql as staging
from pipeline.lib.reader.distinct import cell_text, cell_type


def rules() -> duckdb.DuckDBPyConnection:
    conn = staging.memory_connection()
    staging.prepare(conn)
    return conn


# The macro that types each column type of the spec (a choice or languages rule also names its table and column).
RULES = {"text": "vi_text", "code": "vi_code", "integer": "vi_integer", "number": "vi_number", "date": "vi_date", "bool": "vi_bool",
         "level": "vi_level", "choice": "vi_choice", "languages": "vi_languages"}


def typed(conn, column_type: str, value: Any, rule: str | None = None) -> tuple[Any, str | None]:
    """(value, error) of `value` as a reader would hand it over, typed by the rule of `column_type`."""
    rule = rule or RULES[column_type]
    prepare = staging.PREPARED.get(column_type, "{cell}").format(cell="c")  # as the `cells` step prepares it
    row = conn.execute(
        f"SELECT {rule}(p) FROM (SELECT {prepare} AS p FROM (SELECT vi_cell({{'text': ?, 'type': ?}}) AS c))",
        [cell_text(value), cell_type(value)]).fetchone()[0]
    return row["value"], row["error"]


def agency_match(conn, registry: list[tuple[str, str, str | None]], written: str) -> tuple[str | None, list[str]]:
    """(the code, the codes holding its key) of a written name against a registry of (code, name, other names)."""
    conn.execute("CREATE OR REPLACE TABLE stg_agencies (quarter VARCHAR, code VARCHAR, name VARCHAR, aliases VARCHAR, level VARCHAR)")
    conn.executemany("INSERT INTO stg_agencies VALUES ('q', ?, ?, ?, NULL)", registry)
    conn.execute(staging.STEPS["agency_keys"], {"quarter": "q"})
    row = conn.execute("SELECT code, codes FROM agency_keys WHERE key = vi_agency_key(?)", [written]).fetchone()
    return (row[0], row[1]) if row else (None, [])
