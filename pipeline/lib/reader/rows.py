"""The rows below a header: where the table ends (a total row, the signature block), which rows are records,
and each record's cells as the file holds them (the raw layer). Typing the cells is staging's work, in SQL."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from pipeline.lib.reader import sheets
from pipeline.lib.reader.distinct import CELL, WHITESPACE, Distinct, TextColumn, raw_cells, raw_schema
from pipeline.lib.reader.headers import HeaderMatch, _is_column_number_row, _label_key
from pipeline.lib.reader.legacy_cells import LegacyCells
from pipeline.lib.reader.sheets import RawSheet

TOTAL_MARKERS = {"tổng cộng", "tổng", "cộng", "tổng số"}
SIGNATURE_MARKERS = ("người lập", "giám đốc", "thủ trưởng", "kt. ", "ngày ... tháng", "xác nhận")
_DATE_LINE = re.compile(r"^[^\d,]{2,40}, ngày\b")  # `Trà Vinh, ngày 03 tháng 7 năm 2020`, whatever the place


_LONGEST_TOTAL_MARKER = max(len(m) for m in TOTAL_MARKERS) + 10  # room for spaces and NFD marks


def _is_signature_row(row: list[Any]) -> bool:
    for value in row:
        key = _label_key(value)
        if key and (any(key.startswith(m) for m in SIGNATURE_MARKERS) or _DATE_LINE.match(key)):
            return True
    return False




@dataclass
class _Block:
    """Rows of one chunk that hold records: Excel row indices (0-based), the matched columns' cells
    (column index -> values, row order), and which row is the total row."""

    indices: list[int]
    cells: dict[int, Distinct | TextColumn]
    totals: list[bool]


def extract_rows(sheet: RawSheet, match: HeaderMatch, legacy: LegacyCells | None = None) -> pa.Table:
    """The records below a matched header as the raw layer holds them: for each column of the spec, each
    cell as `{text, type}` (`raw_cells`), and each row's `_sheet`, `_row` (as Excel shows it) and
    `_is_total`.

    The sheet is read in chunks of rows; each chunk is turned into columns and classified column-wise
    (blank, total, signature: each distinct cell value looked at once), so a large sheet is never held
    whole in Python objects and no Python runs per cell. Consumes the sheet up to the end of the table. Text in a
    legacy encoding is converted first (`legacy`), so totals, signatures and the raw layer read it as Unicode."""
    legacy = legacy or LegacyCells(sheet.name)
    spec = match.spec
    start = match.row_index + spec.header_rows
    if start < len(sheet.head) and _is_column_number_row(sheet.head[start]):
        start += 1
    blocks = []
    for first, count, held in sheet.column_chunks(start, sheets.CHUNK_ROWS):
        block, stopped = _classify(first, count, held, match, legacy)
        blocks.append(_raw_block(sheet.name, match, block))
        if stopped:
            break
    return pa.concat_tables(blocks) if blocks else _raw_block(sheet.name, match, _Block([], {}, []))


def _reads_total(value: Any) -> bool:
    # only short text starting with T or C can read `Tổng cộng`: skip normalizing every name and id
    return (isinstance(value, str) and len(value) <= _LONGEST_TOTAL_MARKER and value.lstrip()[:1] in ("T", "t", "C", "c")
            and _label_key(value) in TOTAL_MARKERS)


_TOTAL_CANDIDATE = f'^{WHITESPACE}*[TtCc]'  # what `_reads_total` looks at first, for Arrow


def _classify(first: int, count: int, held: list[TextColumn | Distinct], match: HeaderMatch,
              legacy: LegacyCells) -> tuple[_Block, bool]:
    """The rows (the first at 0-based index `first`) holding a record, and whether the table ended in
    them (at a total row, kept last by the tables that keep it, or at the signature block). Blank rows
    and lines holding no required value are skipped. A total marker in the first or a name cell ends
    the table whatever the row's other cells hold; otherwise a row with every required value is data,
    whatever its text says (only an incomplete row can be the signature block)."""
    spec = match.spec
    columns = legacy.rows_in_context([legacy.column(column, index, first) for index, column in enumerate(held)], first)
    width = len(columns)
    blank = [column.blank() for column in columns]
    nothing, everything = np.zeros(count, dtype=bool), np.ones(count, dtype=bool)
    live = ~np.logical_and.reduce(blank) if blank else nothing
    # a yes/no column's blank means no; a required column absent from the header is always empty
    required = [match.columns.get(c.name, width) for c in spec.required if c.type != "bool"]
    empty = [blank[i] if i < width else everything for i in required]
    any_empty = np.logical_or.reduce(empty) if empty else nothing
    holds_nothing = np.logical_and.reduce(empty) if empty else nothing
    # the spec's "first cell or the name cell": the first column, and every agency or free-text column
    first_cells = sorted({0, *(match.columns[c.name] for c in spec.columns
                               if (c.agency or c.type == "text") and c.name in match.columns)})
    total = nothing.copy()
    for i in first_cells:
        if i < width:
            total |= columns[i].flags_where(_reads_total, _TOTAL_CANDIDATE, _LONGEST_TOTAL_MARKER)
    total &= live
    stop = int(np.argmax(total)) if total.any() else count
    for p in np.flatnonzero(live & any_empty):  # only an incomplete row can be the signature block
        if p >= stop:
            break
        if _is_signature_row(legacy.rows([[column.value(int(p)) for column in held]], first + int(p), record=False)[0]):
            stop = int(p)
            break
    keep = live & ~holds_nothing
    keep[stop:] = False
    ends_at_total = stop < count and total[stop]
    if ends_at_total and spec.keep_total_row:
        keep[stop] = True
    positions = np.flatnonzero(keep)
    is_total = [ends_at_total and int(p) == stop for p in positions[-1:]]
    totals = [False] * (len(positions) - len(is_total)) + is_total
    every = len(positions) == count
    cells = {i: (columns[i] if every else columns[i].take(positions)) if i < width else Distinct([None] * len(positions))
             for i in set(match.columns.values())}
    return _Block((positions + first).tolist(), cells, totals), stop < count


def _raw_block(sheet_name: str, match: HeaderMatch, block: _Block) -> pa.Table:
    """A chunk's record rows in the raw layer's columns (`raw_schema`): every spec column, empty where the
    sheet lacks it."""
    spec = match.spec
    count = len(block.indices)
    data = {}
    for column in spec.columns:
        index = match.columns.get(column.name)
        cells = block.cells.get(index) if index is not None else None
        data[column.name] = raw_cells(cells) if cells is not None and count else pa.nulls(count, CELL)
    data["_sheet"] = pa.array([sheet_name] * count, pa.string())
    data["_row"] = pa.array(np.asarray(block.indices, dtype=np.int64) + 1, pa.int64())
    data["_is_total"] = pa.array(block.totals, pa.bool_())
    if spec.keep_total_row:  # reconciliation names the cell of a wrong total (a few rows: the iGate summary)
        data["_cells"] = pa.array([json.dumps({n: f"{column_letter(c)}{i + 1}" for n, c in match.columns.items()})
                                   for i in block.indices], pa.string())
    return pa.table(data, schema=raw_schema(spec))

def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


