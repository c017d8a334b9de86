"""Finding a table's header: the first row holding all its required labels (compared after normalization), a
header over two rows with merged parents, and the column-number row that may follow."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pipeline.lib.reader.sheets import HEADER_SEARCH_ROWS
from pipeline.lib.tablespecs import TableSpec
from pipeline.lib.text import text_key
from pipeline.lib.values import is_blank

_COLUMN_NUMBER = re.compile(r"^\(?(\d{1,3})\)?$")


def _label_key(value: Any) -> str:
    return "" if is_blank(value) else text_key(str(value))


def _header_labels(cells: list[list[Any]], index: int, header_rows: int) -> list[str]:
    """Normalized labels of the header starting at row `index`; a two-row header reads
    `parent / child` where a parent cell is merged over its children."""
    top = [_label_key(v) for v in cells[index]]
    if header_rows == 1:
        return top
    below = [_label_key(v) for v in cells[index + 1]] if index + 1 < len(cells) else []
    below += [""] * (len(top) - len(below))
    labels, parent = [], ""
    for c, label in enumerate(top):
        if label:
            parent = label
        child = below[c] if c < len(below) else ""
        if child and (label or parent) and not _COLUMN_NUMBER.match(child):
            labels.append(f"{label or parent} / {child}")
        else:
            labels.append(label)
            if not label:
                parent = ""
    return labels


@dataclass
class HeaderMatch:
    spec: TableSpec
    row_index: int
    columns: dict[str, int]  # column name -> cell index
    missing: tuple[str, ...] = ()


def _match_row(labels: list[str], spec: TableSpec) -> HeaderMatch:
    positions: dict[str, int] = {}
    for col in spec.columns:
        wanted = {text_key(label) for label in col.labels}
        for i, label in enumerate(labels):
            if label in wanted:
                positions[col.name] = i
                break
    missing = tuple(c.labels[0] for c in spec.required if c.name not in positions)
    return HeaderMatch(spec, -1, positions, missing)


def find_header(cells: list[list[Any]], specs: tuple[TableSpec, ...]) -> HeaderMatch | None:
    """The first row holding all required labels of one of `specs`; else the best partial match
    (some but not all required labels, with `missing` set); else None."""
    best_partial: HeaderMatch | None = None
    for index in range(min(len(cells), HEADER_SEARCH_ROWS)):
        for spec in specs:
            match = _match_row(_header_labels(cells, index, spec.header_rows), spec)
            match.row_index = index
            present = len(spec.required) - len(match.missing)
            if not match.missing:
                return match
            if present >= max(2, (len(spec.required) + 1) // 2) and (
                best_partial is None or len(match.missing) < len(best_partial.missing)
            ):
                best_partial = match
    return best_partial





def _is_column_number_row(row: list[Any]) -> bool:
    numbers = []
    for value in row:
        if is_blank(value):
            continue
        if isinstance(value, (int, float)) and float(value).is_integer():
            numbers.append(int(value))
            continue
        match = _COLUMN_NUMBER.match(str(value).strip())
        if not match:
            return False
        numbers.append(int(match[1]))
    return len(numbers) >= 2 and numbers == sorted(numbers) and numbers[0] == 1


