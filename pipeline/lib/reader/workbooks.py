""".xlsx and .xls sheets read straight into Arrow by fastexcel: no Python object per cell.

fastexcel parses a whole sheet at every `load_sheet` (asking for 18 rows costs as much as the whole sheet), so
the header cannot be searched through it. The head (the first rows, where the header is searched) is read by
calamine: for an .xlsx, from a copy of the workbook whose sheets stop after those rows (`head_workbook`: the same
values as the whole file would give, in milliseconds); an .xls holds at most 65,536 rows a sheet, and calamine
reads it whole. Once the header is found, fastexcel loads the rows below it with one type per column (`strict`).
Those columns become the reader's columns directly (`from_arrow`): text as Arrow strings, numbers, dates and
yes/no values as their distinct values.

Whatever this path cannot give exactly as calamine would, the sheet takes calamine's row path instead (the
one that keeps each cell's own type): a column mixing numbers and text (the spec's `74.019`-as-text rule
needs each cell's type there), types calamine reads differently (whole numbers as integers, times of day,
durations), any error of fastexcel's (calamine gives the finding's wording), or rows that do not line up with
the head's. The rows shared by the head and the loaded rows are compared cell by cell, which also finds the
first column of the loaded rows (fastexcel starts them at the sheet's first used column, wherever it is).
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
import zipfile
from pathlib import Path
from typing import Any, Callable, Iterator

import fastexcel
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.lib.reader.distinct import Distinct, TextColumn
from pipeline.lib.reader.sheets import HEAD_ROWS, MAX_COLUMNS, MAX_ROWS, RawSheet

_ROW_TAG = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?)row[\s>/]")
_ROW_NUMBER = re.compile(rb"""\sr\s*=\s*["'](\d+)["']""")
_HEAD_BYTES = 64 * 1024**2  # the head rows of a sheet beyond this are no export's
_EARLIEST = dt.datetime(1900, 1, 1)  # before it, a time of day: calamine reads it as a `time`
_TYPED = {"double", "bool", "string", "large_string", "null", "timestamp[ms]"}


def open_loader(path: Path) -> fastexcel.ExcelReader:
    """fastexcel's reader of the whole file, by its bytes (it picks the format by name, as calamine does)."""
    return fastexcel.read_excel(path.read_bytes())


def head_workbook(path: Path) -> bytes:
    """The workbook with each sheet cut after row `HEAD_ROWS` (stored, not compressed): what calamine needs to
    give the head rows exactly as it would from the whole file."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as copy:
        for info in source.infolist():
            cut = info.filename.endswith(".xml") and info.filename != "xl/sharedStrings.xml"
            copy.writestr(info.filename, _sheet_head(source, info) if cut else source.read(info))
    return out.getvalue()


def _sheet_head(source: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """The XML up to its first row below `HEAD_ROWS`, closed; the whole XML when it has no such row."""
    held, position, row = bytearray(), 0, 0
    with source.open(info) as stream:
        while True:
            chunk = stream.read(1 << 16)
            held += chunk
            while tag := _ROW_TAG.search(held, position):
                end = held.find(b">", tag.end() - 1)
                if end < 0:
                    break  # the tag goes on in the next chunk
                number = _ROW_NUMBER.search(held, tag.start(), end)
                row = int(number[1]) if number else row + 1
                position = end
                if row > HEAD_ROWS:
                    prefix = bytes(tag[1])
                    return bytes(held[:tag.start()]) + b"</" + prefix + b"sheetData></" + prefix + b"worksheet>"
            if not chunk:
                return bytes(held)
            if len(held) > _HEAD_BYTES:
                raise ValueError("the head rows of a sheet are too large")


class WorkbookSheet(RawSheet):
    """A workbook's sheet whose head calamine read (from `head_workbook` for an .xlsx) and whose rows below the
    header fastexcel loads typed whole; calamine's rows (`whole`) where it cannot."""

    def __init__(self, name: str, visible: bool, head: list[list[Any]], fonts, reader: fastexcel.ExcelReader,
                 whole: Callable[[], Iterator[list[Any]]]):
        super().__init__(name, visible, head, iter(()), fonts or {})
        self._reader = reader
        self._whole = whole

    def column_chunks(self, start: int, size: int) -> Iterator[tuple[int, int, list[TextColumn | Distinct]]]:
        typed = self._typed_below(start)
        if typed is None:
            self._read_whole()
            yield from super().column_chunks(start, size)
            return
        batch, first_column = typed
        self._whole = None  # read whole, by fastexcel
        # one chunk: the rows are in Arrow already, and a slice of them would carry (and pickle, back from the
        # reading child) the buffers of the whole batch
        pad = [TextColumn(pa.array([""] * batch.num_rows, pa.string()))] if first_column else []
        yield start, batch.num_rows, pad * first_column + [from_arrow(column) for column in batch.columns]

    def drain(self) -> None:
        """A sheet fastexcel did not load is parsed whole by calamine: one that breaks below its head refuses the
        file, as it would have from the whole file."""
        if self._whole is not None:
            self._read_whole()
        super().drain()

    def _read_whole(self) -> None:
        rows, self._whole = self._whole(), None
        self.head = list(itertools.islice(rows, HEAD_ROWS))
        self.rest = rows

    def _typed_below(self, start: int) -> tuple[pa.RecordBatch, int] | None:
        """The rows from 0-based row `start` on, one type per column, and the sheet column of the first; None
        when they cannot be read exactly as calamine reads them."""
        try:
            sheet = self._reader.load_sheet(self.name, header_row=None, skip_rows=start, schema_sample_rows=None,
                                            dtype_coercion="strict")
            if sheet.total_height > MAX_ROWS or sheet.width > MAX_COLUMNS:
                return None  # calamine words the limit
            batch = sheet.to_arrow()
            del sheet
        except Exception:  # noqa: BLE001 - a mixed column, or any error: calamine reads the sheet (and words it)
            return None
        if batch.num_rows == 0 or not all(_readable(column) for column in batch.columns):
            return None
        first_column = _first_column(self.head, start, batch)
        return None if first_column is None else (batch, first_column)


def _readable(column: pa.Array) -> bool:
    if str(column.type) not in _TYPED:
        return False
    if pa.types.is_timestamp(column.type):
        earliest = pc.min(column).as_py()
        return earliest is None or earliest >= _EARLIEST
    return True


def _first_column(head: list[list[Any]], start: int, batch: pa.RecordBatch) -> int | None:
    """The sheet column (0-based) of the batch's first column: the one offset at which the head's rows from
    `start` on hold the same cells as the batch's first rows, each of the same type. None when no head row
    overlaps the batch, or when no offset (or more than one) fits."""
    shared = head[start:start + batch.num_rows]
    if any(v != "" for row in head[start + batch.num_rows:] for v in row):
        return None  # the head holds rows the batch does not
    if not shared or not any(any(v != "" for v in row) for row in shared):
        return None
    loaded = [from_arrow(column.slice(0, len(shared))).values() for column in batch.columns]
    rows = [[column[r] for column in loaded] for r in range(len(shared))]
    fits = [offset for offset in range(0, max(len(row) for row in shared) + 1)
            if all(_same_row(row, loaded_row, offset) for row, loaded_row in zip(shared, rows))]
    return fits[0] if len(fits) == 1 else None


def _same_row(head_row: list[Any], loaded_row: list[Any], offset: int) -> bool:
    width = max(len(head_row), offset + len(loaded_row))
    for c in range(width):
        held = head_row[c] if c < len(head_row) else ""
        loaded = loaded_row[c - offset] if 0 <= c - offset < len(loaded_row) else ""
        if held.__class__ is not loaded.__class__ or held != loaded:
            return False
    return True


def from_arrow(column: pa.Array) -> TextColumn | Distinct:
    """A loaded column as the reader's column, as calamine's Python values would make it: an empty cell is `""`
    (text), a date at midnight a `date`, other dates a `datetime`; text stays an Arrow string column."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return TextColumn(pc.fill_null(column.cast(pa.string()), ""))
    if column.null_count == len(column):
        return TextColumn(pa.array([""] * len(column), pa.string()))
    encoded = pc.dictionary_encode(column, null_encoding="encode")
    dictionary = encoded.dictionary
    empty = pc.is_null(dictionary).to_numpy(zero_copy_only=False)
    # a NaN (no Excel writes one, a crafted file can) is no value: blank, of no type, as `cell_type` reads it
    nan = (pc.fill_null(pc.is_nan(dictionary), False).to_numpy(zero_copy_only=False) if pa.types.is_floating(column.type)
           else np.zeros(len(dictionary), dtype=bool))
    uniques = dictionary.to_pylist()
    if pa.types.is_timestamp(column.type):
        uniques = [None if v is None else v.date() if v.time() == dt.time() else v for v in uniques]
    kind = "n" if pa.types.is_floating(column.type) else "b" if pa.types.is_boolean(column.type) else "d"
    kinds = np.where(empty, "s", kind).astype(object)
    kinds[nan] = None
    return Distinct.from_codes(encoded.indices.to_numpy(zero_copy_only=False), ["" if v is None else v for v in uniques],
                               empty | nan, kinds)

