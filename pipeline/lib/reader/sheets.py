"""A sheet as the reader sees it, whatever the file's format: its first rows, where the header is searched,
then the rest as they are iterated; and the limits no export exceeds."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from pipeline.lib.reader.distinct import Distinct, TextColumn, chunk_column
from pipeline.lib.wording import quoted

MAX_ROWS = 1_048_576
MAX_COLUMNS = 200
HEADER_SEARCH_ROWS = 15  # title block of up to 10 rows, plus slack
CHUNK_ROWS = 50_000  # rows classified and typed at a time, then released


class UnreadableFile(Exception):
    """A file that cannot be read as a spreadsheet; the message is the reason given in the finding."""


HEAD_ROWS = HEADER_SEARCH_ROWS + 3  # header search, a second header row, a column-number row


@dataclass
class RawSheet:
    """A sheet's cells as Excel shows them (row 1 first): the first rows, where the header is searched,
    then the rest, read as they are consumed, so that a large sheet is never all in memory."""

    name: str
    visible: bool
    head: list[list[Any]]
    rest: Iterator[list[Any]]
    fonts: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, column) -> a legacy font, where recorded

    @classmethod
    def from_rows(cls, name: str, visible: bool, rows: Iterable[list[Any]],
                  fonts: dict[tuple[int, int], str] | None = None) -> "RawSheet":
        rows = iter(rows)
        return cls(name, visible, list(itertools.islice(rows, HEAD_ROWS)), rows, fonts or {})

    def chunks(self, start: int, size: int) -> Iterator[tuple[int, list[list[Any]]]]:
        """(0-based index of the first row, up to `size` rows) from row `start` (within the head) on;
        consumes the sheet. A sheet that breaks midway raises UnreadableFile."""
        first, rows = start, self.head[start:]
        while True:
            rows = rows + self._take(max(0, size - len(rows)))
            if not rows:
                return
            yield first, rows
            first, rows = first + len(rows), []

    def column_chunks(self, start: int, size: int) -> Iterator[tuple[int, int, list[TextColumn | Distinct]]]:
        """`chunks`, each as (0-based index of its first row, its number of rows, its columns: a short row's
        missing cells are None)."""
        for first, rows in self.chunks(start, size):
            yield first, len(rows), [chunk_column(column) for column in itertools.zip_longest(*rows)]

    def drain(self) -> None:
        """Read the rows below the table too: a sheet that breaks further down refuses the file."""
        while self._take(CHUNK_ROWS):
            pass

    def _take(self, count: int) -> list[list[Any]]:
        try:
            return list(itertools.islice(self.rest, count))
        except UnreadableFile:
            raise
        except Exception as exc:  # a sheet whose XML breaks midway
            raise UnreadableFile(f"không đọc được trang tính {quoted(self.name)} ({exc})") from None


