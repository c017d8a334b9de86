"""The rows below a header: where the table ends (a total row, the signature block), which rows are records,
and each column typed by its spec's parser; a row a value of which fails is an `invalid_row` finding."""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from pipeline.lib.findings import Finding
from pipeline.lib.reader import sheets
from pipeline.lib.reader.distinct import Distinct, _parse_column, _raw_json
from pipeline.lib.reader.headers import HeaderMatch, _is_column_number_row, _label_key
from pipeline.lib.reader.sheets import RawSheet
from pipeline.lib.tablespecs import LANGUAGES, Column
from pipeline.lib.text import normalize_text
from pipeline.lib.values import PARSERS, choice_parser, is_blank
from pipeline.lib.wording import quoted

TOTAL_MARKERS = {"tổng cộng", "tổng", "cộng", "tổng số"}
SIGNATURE_MARKERS = ("người lập", "giám đốc", "thủ trưởng", "kt. ", "ngày ... tháng", "xác nhận")
_DATE_LINE = re.compile(r"^[^\d,]{2,40}, ngày\b")  # `Trà Vinh, ngày 03 tháng 7 năm 2020`, whatever the place
_LEVEL = re.compile(r"(\d)\s*$")


def _column_parser(col: Column) -> Callable[[Any], Any]:
    if col.type == "choice":
        return choice_parser(col.choices or {}, other=col.other)
    if col.type == "level":
        return _parse_service_level
    if col.type == "languages":
        return _parse_languages
    return PARSERS[col.type]


def _parse_service_level(value: Any) -> int | None:
    if is_blank(value):
        return None
    if isinstance(value, (int, float)) and float(value).is_integer():
        return int(value)
    match = _LEVEL.search(normalize_text(str(value)))
    if not match:
        raise ValueError(f"{quoted(value)} không phải là mức độ dịch vụ (2, 3, 4, “Mức độ 3”…)")
    return int(match[1])


_LANGUAGE_PARSER = choice_parser(LANGUAGES)


def _parse_languages(value: Any) -> str | None:
    if is_blank(value):
        return None
    codes = {_LANGUAGE_PARSER(part) for part in re.split(r"[,;]", str(value)) if part.strip()}
    order = list(LANGUAGES)
    return ",".join(sorted(codes, key=order.index)) or None



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
    (column index -> values, row order), each row's problems so far, and which row is the total row."""

    indices: list[int]
    cells: dict[int, Distinct]
    problems: dict[int, list[str]]  # by position in the block: only rows with a problem
    totals: list[bool]


def extract_rows(sheet: RawSheet, match: HeaderMatch, file_label: str) -> tuple[pd.DataFrame, list[Finding]]:
    """The typed records below a matched header, one column per field, each row with `_sheet`, `_row`
    (as Excel shows it) and `_raw` (the original cell values by label, as JSON).

    The sheet is read in chunks of rows; each chunk is turned into columns, classified column-wise
    (blank, total, signature, incomplete: each distinct cell value looked at once) and typed a column at
    a time, so a large sheet is never held whole in Python objects and no Python runs per cell.
    Consumes the sheet up to the end of the table."""
    spec = match.spec
    start = match.row_index + spec.header_rows
    if start < len(sheet.head) and _is_column_number_row(sheet.head[start]):
        start += 1
    frames, findings = [], []
    for first, rows in sheet.chunks(start, sheets.CHUNK_ROWS):
        block, stopped = _classify(first, rows, match)
        frame, found = _typed_block(sheet.name, match, file_label, block)
        frames.append(frame)
        findings.extend(found)
        if stopped:
            break
    if not frames:
        frames = [_typed_block(sheet.name, match, file_label, _Block([], {}, {}, []))[0]]  # columns, no rows
    return (frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)), findings


def _reads_total(value: Any) -> bool:
    # only short text starting with T or C can read `Tổng cộng`: skip normalizing every name and id
    return (isinstance(value, str) and len(value) <= _LONGEST_TOTAL_MARKER and value.lstrip()[:1] in ("T", "t", "C", "c")
            and _label_key(value) in TOTAL_MARKERS)


def _classify(first: int, rows: list[list[Any]], match: HeaderMatch) -> tuple[_Block, bool]:
    """The rows (the first at 0-based index `first`) holding a record, and whether the table ended in
    them (at a total row, kept last by the tables that keep it, or at the signature block). Blank rows
    and lines holding no required value are skipped. A total marker in the first or a name cell ends
    the table whatever the row's other cells hold; otherwise a row with every required value is data,
    whatever its text says (only an incomplete row can be the signature block)."""
    spec = match.spec
    count = len(rows)
    columns = [Distinct(column) for column in itertools.zip_longest(*rows)]  # short rows end in None
    width = len(columns)
    blank = [column.flags(is_blank, plain=False) for column in columns]
    nothing, everything = np.zeros(count, dtype=bool), np.ones(count, dtype=bool)
    live = ~np.logical_and.reduce(blank) if blank else nothing
    # a yes/no column's blank means no; a required column absent from the header is always empty
    labels = {name: spec.column(name).labels[0] for name in match.columns}
    required = [(labels.get(c.name, c.labels[0]), match.columns.get(c.name, width)) for c in spec.required if c.type != "bool"]
    empty = [blank[i] if i < width else everything for _, i in required]
    any_empty = np.logical_or.reduce(empty) if empty else nothing
    holds_nothing = np.logical_and.reduce(empty) if empty else nothing
    # the spec's "first cell or the name cell": the first column, and every agency or free-text column
    first_cells = sorted({0, *(match.columns[c.name] for c in spec.columns
                               if (c.agency or c.type == "text") and c.name in match.columns)})
    total = nothing.copy()
    for i in first_cells:
        if i < width:
            total |= columns[i].flags(_reads_total, plain=False)  # the markers are not ASCII
    total &= live
    stop = int(np.argmax(total)) if total.any() else count
    for p in np.flatnonzero(live & any_empty):  # only an incomplete row can be the signature block
        if p >= stop:
            break
        if _is_signature_row(rows[p]):
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
    problems = {}
    for r in np.flatnonzero(any_empty[positions] & ~np.array(totals, dtype=bool)).tolist() if len(positions) else []:
        problems[r] = [f"cột bắt buộc “{label}” để trống" for (label, _), mask in zip(required, empty) if mask[positions[r]]]
    every = len(positions) == count
    cells = {i: (columns[i] if every else columns[i].take(positions)) if i < width else Distinct([None] * len(positions))
             for i in set(match.columns.values())}
    return _Block((positions + first).tolist(), cells, problems, totals), stop < count


def _typed_block(sheet_name: str, match: HeaderMatch, file_label: str, block: _Block) -> tuple[pd.DataFrame, list[Finding]]:
    """A chunk's record rows typed into columns; rows a value of which fails are findings."""
    spec = match.spec
    kept, problems, totals = block.indices, block.problems, block.totals
    data: dict[str, list[Any]] = {}
    labels, originals = [], []
    for name, i in match.columns.items():
        column = spec.column(name)
        label = column.labels[0]
        cells = block.cells.get(i) or Distinct([])
        values = cells
        if column.agency and totals and totals[-1]:
            values = Distinct(cells.values()[:-1] + [None])  # the label `Tổng cộng` is not an agency
        parsed, errors = _parse_column(_column_parser(column), values, plain_is_itself=column.type in ("text", "code"))
        for position, error in errors.items():
            problems.setdefault(position, []).append(f"cột “{label}”: {error}")
        data[name] = parsed
        labels.append(label)
        originals.append(cells)
    data["_raw"] = pd.array(_raw_json(labels, originals), dtype="str")
    data["_sheet"] = [sheet_name] * len(kept)
    data["_row"] = (np.asarray(kept, dtype=np.int64) + 1).tolist()
    data["_is_total"] = totals
    if spec.keep_total_row:  # reconciliation names the cell of a wrong total
        data["_cells"] = [json.dumps({n: f"{column_letter(c)}{i + 1}" for n, c in match.columns.items()}) for i in kept]
    findings = [
        Finding("invalid_row", "error", spec.source, f"bảng “{spec.title}”: {'; '.join(found)}. Dòng bị loại, không tính vào số liệu",
                file_label, sheet_name, kept[position] + 1, table=spec.name)
        for position, found in sorted(problems.items())
    ]
    if findings:
        good = np.ones(len(kept), dtype=bool)
        good[list(problems)] = False
        data = {column: np.asarray(values, dtype=object)[good].tolist() if isinstance(values, list) else values[good]
                for column, values in data.items()}
    return pd.DataFrame(data), findings


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


