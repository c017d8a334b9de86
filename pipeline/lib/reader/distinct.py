"""Columns of cells held once per distinct value (`Distinct`): a column's cells are classified, parsed and
written as JSON one distinct value at a time, so no Python runs per cell on a large sheet."""

from __future__ import annotations

import copy
import json
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

    def map(self, fn: Callable[[Any], Any], plain_is_itself: bool = False) -> np.ndarray:
        """`fn` of each row's value (an object array), calling `fn` once per distinct value; with
        `plain_is_itself`, plain text is its own result without a call."""
        return self.per_unique(fn, (lambda values: values) if plain_is_itself else None)[self.codes]

    def arrow(self, fn: Callable[[Any], str], plain: Callable[[np.ndarray], Any] | None = None) -> pa.Array:
        """`fn` of each row's value as an Arrow string array, spread to the rows by Arrow's take."""
        return pa.array(self.per_unique(fn, plain), pa.string()).take(pa.array(self.codes))

    def values(self) -> list[Any]:
        return self._uniques_array[self.codes].tolist()


def _parse_column(parse: Callable[[Any], Any], column: Distinct, plain_is_itself: bool = False) -> tuple[list[Any], dict[int, str]]:
    """The column's values parsed, each distinct cell value once (dates, agency names, forms and statuses
    repeat thousands of times; text normalization is the costly part of reading), and the positions of
    the values that failed, with the parser's message. `plain_is_itself`: plain text parses to itself."""
    errors: dict[tuple[type, Any], str] = {}  # by type and value, as Distinct tells values apart

    def attempt(value: Any) -> Any:
        try:
            return parse(value)
        except ValueError as exc:
            errors[(value.__class__, value)] = str(exc)
            return None

    parsed = column.map(attempt, plain_is_itself).tolist()
    if not errors:
        return parsed, {}
    messages = [errors.get((u.__class__, u)) for u in column.uniques]
    failed = np.flatnonzero(np.fromiter((m is not None for m in messages), dtype=bool, count=len(messages))[column.codes])
    return parsed, {int(p): messages[column.codes[p]] for p in failed}


def _json_value(value: Any) -> str:
    """`json.dumps(value, ensure_ascii=False)` of a cell; plain text (the usual case) without the encoder."""
    if value.__class__ is str and value.isprintable() and '"' not in value and "\\" not in value and value.strip():
        return '"' + value + '"'
    return json.dumps(_jsonable(value), ensure_ascii=False, default=str)


def _raw_json(labels: list[str], columns: list[Distinct]) -> pa.Array:
    """Each row's original cells as a JSON object `{"label": value, …}`, as json.dumps writes it: each
    distinct value encoded once, the rows assembled by Arrow."""
    if not columns or not len(columns[0]):
        return pa.array([], pa.string())
    parts = [pc.binary_join_element_wise(json.dumps(label, ensure_ascii=False) + ": ",
                                         column.arrow(_json_value, plain=lambda values: '"' + values + '"'), "")
             for label, column in zip(labels, columns)]
    return pc.binary_join_element_wise("{", pc.binary_join_element_wise(*parts, ", "), "}", "")



def _jsonable(value: Any) -> Any:
    if is_blank(value):
        return None
    return value if isinstance(value, (str, int, float, bool)) else str(value)


