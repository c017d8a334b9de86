"""What Python still knows of cell values: which cells are blank (the reader's row classification: blank rows,
incomplete rows, the signature block) and the DuckDB type of each column type of the spec.

Typing the cells (Vietnamese numbers, dates, yes/no, fixed values) is staging's work, in SQL:
`assets/ingest/sql/macros.sql`.
"""

from __future__ import annotations

from typing import Any


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value != value


DUCKDB_TYPES = {
    "text": "VARCHAR",
    "code": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "date": "DATE",
    "bool": "BOOLEAN",
    "choice": "VARCHAR",
}
