"""A sheet's text in a legacy 8-bit Vietnamese encoding (TCVN3, VNI), read as the Unicode it stands for before the
header is matched and the rows are classified (`pipeline.lib.legacy` holds the tables and the recognition).

Only cells whose every character is one Windows-1252 has can be legacy text; Arrow finds them in a column, and
Python looks at each such distinct value once. The cells converted are kept, with the text as the file held it,
for the raw layer (`raw_legacy_text`) and for the file's `info` finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.lib import legacy
from pipeline.lib.reader.distinct import Distinct, TextColumn

# every character of Windows-1252 (Latin-1's printable range, and the 27 it puts in 0x80-0x9F)
_CP1252 = (r"\x{00}-\x{ff}\x{152}\x{153}\x{160}\x{161}\x{178}\x{17d}\x{17e}\x{192}\x{2c6}\x{2dc}\x{2013}\x{2014}"
           r"\x{2018}-\x{201a}\x{201c}-\x{201e}\x{2020}-\x{2022}\x{2026}\x{2030}\x{2039}\x{203a}\x{20ac}\x{2122}")
_BEYOND_8_BIT = f"[^{_CP1252}]"  # found in a Unicode text's first few characters, mostly


@dataclass
class Converted:
    sheet: str
    row: int  # 0-based, as the sheet's rows are numbered
    column: int
    encoding: str
    held: str
    text: str


@dataclass
class LegacyCells:
    """The legacy text of one sheet: found by the cell's font where the file records it (`fonts`: (row, column) ->
    font name, 0-based), else by its characters."""

    sheet: str
    fonts: dict[tuple[int, int], str] = field(default_factory=dict)
    found: dict[tuple[int, int], Converted] = field(default_factory=dict)
    _memo: dict[tuple[str, str | None], tuple[str, str] | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._font_columns = {column for _, column in self.fonts}

    def _convert(self, text: str, font: str | None) -> tuple[str, str] | None:
        key = (text, font)
        if key not in self._memo:
            self._memo[key] = legacy.converted(text, font)
        return self._memo[key]

    def _record(self, row: int, column: int, held: str, result: tuple[str, str]) -> str:
        self.found[(row, column)] = Converted(self.sheet, row, column, result[1], held, result[0])
        return result[0]

    def rows(self, rows: list[list[Any]], first: int = 0, record: bool = True) -> list[list[Any]]:
        """A copy of `rows` (the first at 0-based row `first`) with legacy text converted (the header search; a
        possible signature line, not recorded: it is no cell of the table). A cell that reads as Vietnamese either
        way is read in the encoding of the rest of its row."""
        out = []
        for r, row in enumerate(rows, start=first):
            converted_row, encodings = list(row), set()
            for c, value in enumerate(row):
                if value.__class__ is str and not value.isascii():
                    result = self._convert(value, self.fonts.get((r, c)))
                    if result is not None:
                        converted_row[c] = self._record(r, c, value, result) if record else result[0]
                        encodings.add(result[1])
            if len(encodings) == 1:
                encoding = encodings.pop()
                for c, value in enumerate(row):
                    if converted_row[c] is value and value.__class__ is str and (text := legacy.read_in(value, encoding)):
                        converted_row[c] = self._record(r, c, value, (text, encoding)) if record else text
            out.append(converted_row)
        return out

    def rows_in_context(self, columns: list[TextColumn | Distinct], first: int) -> list[TextColumn | Distinct]:
        """After `column` converted a chunk's columns: in each row where one encoding was found, the cells that
        read as Vietnamese either way read in it too (`Cã` beside TCVN3 cells is `Có`)."""
        rows: dict[int, set[str]] = {}
        for (row, _), cell in self.found.items():
            if row >= first:
                rows.setdefault(row - first, set()).add(cell.encoding)
        rows = {r: encodings.pop() for r, encodings in rows.items() if len(encodings) == 1}
        if not rows:
            return columns
        out = []
        for index, column in enumerate(columns):
            values, changed = None, False
            for r, encoding in rows.items():
                if (r + first, index) in self.found:
                    continue
                values = values if values is not None else (
                    column.texts.to_pylist() if isinstance(column, TextColumn) else column.values())
                value = values[r]
                if value.__class__ is str and (text := legacy.read_in(value, encoding)):
                    values[r] = self._record(first + r, index, value, (text, encoding))
                    changed = True
            out.append((TextColumn(pa.array(values, pa.string())) if isinstance(column, TextColumn) else Distinct(values))
                       if changed else column)
        return out

    def column(self, column: TextColumn | Distinct, index: int, first: int) -> TextColumn | Distinct:
        """The column (its cells from 0-based row `first`) with its legacy text converted."""
        if isinstance(column, TextColumn):
            candidates = pc.fill_null(pc.and_not(pc.invert(pc.string_is_ascii(column.texts)),
                                                 pc.match_substring_regex(column.texts, _BEYOND_8_BIT)), False)
            positions = np.flatnonzero(candidates.to_numpy(zero_copy_only=False))
            if not len(positions):
                return column
            if index not in self._font_columns:  # each distinct value looked at once ("Có" on every row: once)
                held = column.texts.take(pa.array(positions))
                results = {v: r for v in pc.unique(held).to_pylist() if (r := self._convert(v, None)) is not None}
                if not results:
                    return column
                positions = positions[pc.fill_null(pc.is_in(held, pa.array(list(results), pa.string())), False)
                                      .to_numpy(zero_copy_only=False)]
            texts = column.texts.to_numpy(zero_copy_only=False).copy()
            changed = False
            for p in positions.tolist():
                held = texts[p]
                result = self._convert(held, self.fonts.get((first + p, index)))
                if result is not None:
                    texts[p] = self._record(first + p, index, held, result)
                    changed = True
            return TextColumn(pa.array(texts, pa.string())) if changed else column
        if not column.holds_text or not any(u.__class__ is str and not u.isascii() for u in column.uniques):
            return column  # numbers, dates, ASCII text: nothing to convert
        values, changed = column.values(), False  # mixed cells (numbers, dates): few of them are text
        for p, value in enumerate(values):
            if value.__class__ is str and not value.isascii():
                result = self._convert(value, self.fonts.get((first + p, index)))
                if result is not None:
                    values[p] = self._record(first + p, index, value, result)
                    changed = True
        return Distinct(values) if changed else column
