"""What `vi_quoted`, the one staging rule written in Python (an Arrow UDF), costs per failing cell:

    python bench/udf.py CELLS

It words a failing cell for its finding (`wording.quoted`: a number as Vietnamese writes it, text with its
control characters shown), so it runs only on cells that do not type: none on a clean export. Times it on
CELLS distinct text cells and CELLS number cells against plain SQL quoting of the same cells (median of five,
on a connection with the rules prepared). Prints one JSON line of seconds.
"""

import json
import statistics
import sys
import time

import duckdb

from assets.ingest.stage_in_sql import prepare

QUERIES = {
    "text": "SELECT max(length(vi_quoted(text, 's'))) FROM cells",
    "number": "SELECT max(length(vi_quoted(number, 'n'))) FROM cells",
    "sql": "SELECT max(length('“' || text || '”')) FROM cells",
}


def main(cells: int) -> None:
    conn = duckdb.connect()
    prepare(conn)
    conn.execute(f"CREATE TABLE cells AS SELECT 'ngày ' || i || '/13/2020' AS text, CAST(i * 1.5 AS VARCHAR) AS number "
                 f"FROM range({cells}) r(i)")
    result = {"cells": cells}
    for name, query in QUERIES.items():
        times = []
        for _ in range(5):
            started = time.perf_counter()
            conn.execute(query).fetchall()
            times.append(time.perf_counter() - started)
        result[name] = statistics.median(times)
    print(json.dumps(result))


if __name__ == "__main__":
    main(int(sys.argv[1]))
