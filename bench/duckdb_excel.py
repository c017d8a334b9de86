"""DuckDB's own `read_xlsx` (the `excel` extension), for `bench/run.py`: run by a Python whose duckdb is the
release the extension was built for (duckdb-extension-excel on PyPI is locked to one DuckDB release, not the
pipeline's), so it is measured in a scratch virtualenv. Reads every sheet of each .xlsx whole, as VARCHAR
(`all_varchar`: a typed read guesses one type per column and fails on the title rows above the header).

    python bench/duckdb_excel.py FILE...      prints one JSON line: seconds, cells, files read
"""

import json
import re
import sys
import time
import zipfile
from pathlib import Path

import duckdb
import duckdb_extension_excel  # noqa: F401 - the package ships the extension binary

EXTENSION = next(Path(duckdb_extension_excel.__file__).parent.rglob("excel.duckdb_extension"))


def sheets(path: Path) -> list[tuple[str, str]]:
    """(name, used range) of each sheet: read_xlsx takes its columns from the first row (here a title over
    one cell) unless given a range, so each sheet is read over the range its XML declares."""
    with zipfile.ZipFile(path) as book:
        names = re.findall(r'<sheet [^>]*name="([^"]+)"', book.read("xl/workbook.xml").decode("utf-8"))
        ranges = [re.search(r'<dimension ref="([A-Z]+\d+:[A-Z]+\d+)"', book.read(f"xl/worksheets/sheet{i}.xml")[:2000].decode())
                  for i in range(1, len(names) + 1)]
    return [(name, found[1]) for name, found in zip(names, ranges) if found]


if __name__ == "__main__":
    files = [Path(p) for p in sys.argv[1:] if zipfile.is_zipfile(p)]  # xlsx only: no .xls, no HTML
    conn = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    conn.execute(f"LOAD '{EXTENSION}'")
    started, cells = time.perf_counter(), 0
    for path in files:
        for sheet, used in sheets(path):
            rows = conn.execute("SELECT * FROM read_xlsx(?, sheet = ?, header = false, all_varchar = true, range = ?, "
                                "stop_at_empty = false, ignore_errors = true)", [str(path), sheet, used]).fetchall()
            cells += sum(len(row) for row in rows)
    print(json.dumps({"seconds": time.perf_counter() - started, "cells": cells, "files": len(files)}))
