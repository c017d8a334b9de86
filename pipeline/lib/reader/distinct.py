"""A chunk's columns of cells, classified (blank, a total marker) and converted to the raw layer's cells with no Python
per cell: a column of text only (`TextColumn`: HTML tables, most columns of a workbook) by Arrow's string kernels,
any other column (`Distinct`) one distinct value at a time."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.lib.values import is_blank

_PLAIN_TEXT = r'^[!#-\[\]-~]( ?[!#-\[\]-~])*$'


class Distinct:
    """A column's cells as codes into its distinct values, so that work per value (blank test, parsing,
    JSON) runs once per distinct value and is spread back to the rows by numpy, never by a Python loop.
    Values of different types that compare equal (1, 1.0, True) stay apart, since they read differently."""

    def __init__(self, values: Sequence[Any]):
        if len(set(map(type, values)) - {type(None)}) <= 1:
            self.codes, uniques = pd.factorize(np.fromiter(values, dtype=object, count=len(values)),
                                               use_na_sentinel=False)
            uniques = np.asarray(uniques, dtype=object)
            uniques[pd.isna(uniques)] = None  # factorize reads None as NaN
        else:
            index: dict[tuple[type, Any], int] = {}
            self.codes = np.fromiter((index.setdefault((v.__class__, v), len(index)) for v in values),
                                     dtype=np.intp, count=len(values))
            uniques = np.empty(len(index), dtype=object)
            uniques[:] = [value for _, value in index]
        self.uniques: list[Any] = uniques.tolist()
        self._uniques_array = uniques
        self._plain: np.ndarray | None = None

    @classmethod
    def from_codes(cls, codes: np.ndarray, uniques: list[Any], blank: np.ndarray, kinds: np.ndarray) -> "Distinct":
        """From codes into values already distinct, none of them text but `""` (an Arrow column of numbers,
        dates or yes/no values, its empty cells `""`), with what is known of each: blank, its `cell_type`."""
        column = cls.__new__(cls)
        column.codes = np.asarray(codes, dtype=np.intp)
        column.uniques = uniques
        column._uniques_array = np.empty(len(uniques), dtype=object)
        column._uniques_array[:] = uniques
        column._plain = np.zeros(len(uniques), dtype=bool)
        column._blank, column._kinds = blank, kinds
        return column

    _blank: np.ndarray | None = None  # per distinct value, when known without looking at each
    _kinds: np.ndarray | None = None

    @property
    def holds_text(self) -> bool:
        """Whether any distinct value is text other than `""` (only those can be legacy text or a marker)."""
        return self._kinds is None

    def __len__(self) -> int:
        return len(self.codes)

    def value(self, position: int) -> Any:
        return self.uniques[self.codes[position]]

    def take(self, positions: np.ndarray) -> "Distinct":
        taken = copy.copy(self)  # the same distinct values (and what is known of them), fewer rows
        taken.codes = self.codes[positions]
        return taken

    @property
    def plain(self) -> np.ndarray:
        """Which distinct values are plain text: printable ASCII, no quote or backslash, no leading,
        trailing or repeated space. Such a value is its own normalized text and JSON string body, is not
        blank and reads no marker, so ids and codes (unique per row) skip every per-value call."""
        if self._plain is None:
            try:
                texts = pa.array(self.uniques, pa.string())
                self._plain = pc.fill_null(pc.match_substring_regex(texts, _PLAIN_TEXT), False).to_numpy(zero_copy_only=False)
            except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text: dates, numbers
                self._plain = np.zeros(len(self.uniques), dtype=bool)
        return self._plain

    def per_unique(self, fn: Callable[[Any], Any], plain: Callable[[np.ndarray], Any] | None = None,
                   dtype=object) -> np.ndarray:
        """`fn` of each distinct value, in the order of `uniques`. When `plain` is given, the plain-text
        values take `plain(values)` instead: a vectorized equivalent over an object array of them (ids
        and codes are unique per row, so a Python call each would cost as much as no factorizing)."""
        if plain is None or not self.plain.any():
            return np.fromiter(map(fn, self.uniques), dtype=dtype, count=len(self.uniques))
        result = np.empty(len(self.uniques), dtype=dtype)
        chosen, other = np.flatnonzero(self.plain), np.flatnonzero(~self.plain)
        result[chosen] = plain(self._uniques_array[chosen])
        result[other] = np.fromiter((fn(self.uniques[i]) for i in other.tolist()), dtype=dtype, count=len(other))
        return result

    def blank(self) -> np.ndarray:
        if self._blank is not None:
            return self._blank[self.codes]
        return self.flags(is_blank, plain=False)

    def flags_where(self, predicate: Callable[[Any], bool], candidates: str, longest: int) -> np.ndarray:
        """`predicate` of each row's value (once per distinct value; `TextColumn.flags_where`'s shortcut is
        for text columns). A column holding no text holds no marker."""
        if not self.holds_text:
            return np.zeros(len(self.codes), dtype=bool)
        return self.flags(predicate, plain=False)

    def flags(self, predicate: Callable[[Any], bool], plain: bool | None = None) -> np.ndarray:
        """`predicate` of each row's value; `plain`, when given, is its value for plain text."""
        return self.per_unique(predicate, None if plain is None else (lambda _: plain), bool)[self.codes]

    def values(self) -> list[Any]:
        return self._uniques_array[self.codes].tolist()


# Whitespace as Python's `str.strip()` reads it, for Arrow's RE2 regexes (its \s is ASCII only, so the others are
# listed; staging's `vi_blank_text` macro uses the same class)
WHITESPACE = r'[\s\x{0b}\x{1c}-\x{1f}\x{85}\p{Z}]'
_BLANK_TEXT = f'^{WHITESPACE}*$'  # `is_blank` for text


def chunk_column(values: Sequence[Any]) -> "TextColumn | Distinct":
    """A column of a chunk: a `TextColumn` when every cell is text or empty, else a `Distinct`."""
    try:
        return TextColumn(pa.array(values, pa.string()))
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeError):  # a number, date or yes/no cell (or a lone surrogate)
        return Distinct(values)


class TextColumn:
    """A column whose cells are all text or empty, as one Arrow array: classified by Arrow's string kernels."""

    def __init__(self, texts: pa.StringArray):
        self.texts = texts

    def __len__(self) -> int:
        return len(self.texts)

    def value(self, position: int) -> Any:
        return self.texts[position].as_py()

    def values(self) -> list[Any]:
        return self.texts.to_pylist()

    def take(self, positions: np.ndarray) -> "TextColumn":
        return TextColumn(self.texts.take(pa.array(positions)))

    def blank(self) -> np.ndarray:
        """`is_blank` of each cell: empty, or nothing but whitespace."""
        return pc.fill_null(pc.match_substring_regex(self.texts, _BLANK_TEXT), True).to_numpy(zero_copy_only=False)

    def flags_where(self, predicate: Callable[[Any], bool], candidates: str, longest: int) -> np.ndarray:
        """`predicate` of each cell, called only on the cells of at most `longest` characters that match the
        regex `candidates` (those it can hold for): the others are False."""
        near = pc.and_(pc.less_equal(pc.utf8_length(self.texts), longest), pc.match_substring_regex(self.texts, candidates))
        flags = np.zeros(len(self.texts), dtype=bool)
        positions = np.flatnonzero(pc.fill_null(near, False).to_numpy(zero_copy_only=False))
        if len(positions):
            flags[positions] = [predicate(value) for value in self.texts.take(pa.array(positions)).to_pylist()]
        return flags

    def raw_cells(self) -> pa.StructArray:
        kinds = pc.if_else(pc.is_null(self.texts), pa.scalar(None, pa.string()), pa.scalar("s"))
        return pa.StructArray.from_arrays([self.texts, kinds], fields=list(CELL))


# A cell of the raw layer: its value as text as the file holds it, and its own type, so that staging can apply the
# spec's number-versus-text rule (a number cell 74.019 is 74.019, the text `74.019` is 74019).
CELL = pa.struct([("text", pa.string()), ("type", pa.string())])
CELL_TYPES = {"n": "a number", "s": "text", "d": "a date or date and time", "b": "yes/no (TRUE/FALSE)"}


def cell_type(value: Any) -> str | None:
    """A cell's own type as a reader gives it (None: an empty cell; a blank text cell stays text)."""
    if value is None or (value.__class__ is float and value != value):
        return None
    if isinstance(value, bool):
        return "b"
    if isinstance(value, (int, float)):
        return "n"
    if isinstance(value, (dt.datetime, dt.date)):
        return "d"
    return "s"


def cell_text(value: Any) -> str | None:
    """A cell as text: numbers as Python writes them (`74.019`, `1626.0`), dates in ISO form, TRUE/FALSE as
    `True`/`False`, anything else (times, durations) as its text."""
    if value is None or (value.__class__ is float and value != value):
        return None
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value if value.__class__ is str else str(value)


def raw_cells(column: "Distinct | TextColumn") -> pa.StructArray:
    """A column's cells as `CELL`s: text as it is; otherwise each distinct value converted once (plain text is
    itself, and text), spread to the rows by Arrow's take."""
    if isinstance(column, TextColumn):
        return column.raw_cells()
    texts = column.per_unique(cell_text, plain=lambda values: values)
    kinds = column._kinds if column._kinds is not None else column.per_unique(
        cell_type, plain=lambda values: np.full(len(values), "s", dtype=object))
    codes = pa.array(column.codes)
    return pa.StructArray.from_arrays([pa.array(texts, pa.string()).take(codes), pa.array(kinds, pa.string()).take(codes)],
                                      fields=list(CELL))


def raw_schema(spec) -> pa.Schema:
    """The raw layer's columns for one table of the spec, as the reader writes them."""
    fields = [pa.field(column.name, CELL) for column in spec.columns]
    fields += [pa.field("_sheet", pa.string()), pa.field("_row", pa.int64()), pa.field("_is_total", pa.bool_())]
    if spec.keep_total_row:
        fields.append(pa.field("_cells", pa.string()))
    return pa.schema(fields)
