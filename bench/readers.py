"""Reference readers for the benchmark, run in their own process (so their peak memory is their own).

    python bench/readers.py floor FILE...     fastest plain readers into Python values, nothing else:
                                              python-calamine for xlsx/xls, lxml for HTML tables
    python bench/readers.py baseline FILE...  what a team would write: pandas.read_excel, default engine
                                              (pandas.read_html for HTML saved as .xls), no cleaning
    python bench/readers.py reader FILE...    the pipeline's reader: each file into the raw layer's Arrow
                                              tables (header, title block, totals found; cells typed by kind)
    python bench/readers.py fastexcel FILE... fastexcel (Arrow out): each workbook sheet whole, a dtype per
                                              column guessed over all rows, `strict` so that a column mixing
                                              numbers and text is refused (then read again coerced: what a
                                              reader would need a slower path for); HTML through lxml
Prints one JSON line: seconds, cells (and for fastexcel the columns typed whole and the mixed ones).
"""

import json
import sys
import time
from pathlib import Path

from pipeline.lib.reader import detect_format


def floor(path: Path) -> int:
    fmt = detect_format(path)
    if fmt in ("xlsx", "xls"):
        import python_calamine

        book = python_calamine.CalamineWorkbook.from_path(str(path))
        # the row iterator: faster than to_python() (which builds every row before returning; 2.8 s
        # against 3.4-3.8 s for the largest 10x file), so the floor is the fastest way calamine offers
        return sum(len(row) for name in book.sheet_names for row in book.get_sheet_by_name(name).iter_rows())
    from lxml import etree  # plain etree: lxml.html's per-element class lookup doubles the time

    root = etree.fromstring(path.read_bytes(), etree.HTMLParser())
    # a leaf cell's text directly; the joined text of its descendants otherwise (as the pipeline reads it)
    return sum(1 for td in root.iter("td", "th")
               if ((td.text or "") if not len(td) else "".join(td.itertext())) is not None)


def baseline(path: Path) -> int:
    import pandas as pd

    if detect_format(path) == "html":
        return sum(frame.size for frame in pd.read_html(str(path)))
    return sum(frame.size for frame in pd.read_excel(path, sheet_name=None, header=None).values())


def reader(path: Path) -> int:
    from pipeline.lib.reader import read_file
    from pipeline.lib.tablespecs import SOURCES, TABLES

    source = path.parent.name
    result = read_file(path, f"{source}/{path.name}", source, SOURCES.get(source, TABLES))
    return sum(table.num_rows * table.num_columns for table in result.tables.values())


COLUMNS = {"typed": 0, "mixed": 0}


def fastexcel(path: Path) -> int:
    if detect_format(path) == "html":
        return floor(path)
    import fastexcel as fe

    book, cells = fe.read_excel(str(path)), 0
    for name in book.sheet_names:
        try:
            table = book.load_sheet(name, header_row=None, schema_sample_rows=None, dtype_coercion="strict").to_arrow()
            COLUMNS["typed"] += table.num_columns
        except Exception:  # noqa: BLE001 - a column mixing numbers and text: `strict` refuses the sheet
            table = book.load_sheet(name, header_row=None, schema_sample_rows=None).to_arrow()
            COLUMNS["mixed"] += table.num_columns
        cells += table.num_rows * table.num_columns
    return cells


if __name__ == "__main__":
    mode, files = sys.argv[1], [Path(p) for p in sys.argv[2:]]
    read = {"floor": floor, "baseline": baseline, "reader": reader, "fastexcel": fastexcel}[mode]
    started = time.perf_counter()
    cells = sum(read(p) for p in files)
    print(json.dumps({"seconds": time.perf_counter() - started, "cells": cells, **(COLUMNS if mode == "fastexcel" else {})}))
