"""Columns of cells held once per distinct value (`Distinct`): a column's cells are classified and converted to
the raw layer's cells one distinct value at a time, so no Python runs per cell on a large sheet."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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

    def __len__(self) -> int:
        return len(self.codes)

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

    def flags(self, predicate: Callable[[Any], bool], plain: bool | None = None) -> np.ndarray:
        """`predicate` of each row's value; `plain`, when given, is its value for plain text."""
        return self.per_unique(predicate, None if plain is None else (lambda _: plain), bool)[self.codes]

    def values(self) -> list[Any]:
        return self._uniques_array[self.codes].tolist()


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


def raw_cells(column: Distinct) -> pa.StructArray:
    """A column's cells as `CELL`s: each distinct value converted once (plain text is itself, and text),
    spread to the rows by Arrow's take."""
    texts = column.per_unique(cell_text, plain=lambda values: values)
    kinds = column.per_unique(cell_type, plain=lambda values: np.full(len(values), "s", dtype=object))
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
