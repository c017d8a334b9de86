"""The one generic reader: any agency export that follows `shared/spec/exports.md`, driven by `TableSpec`s.

A file's format is decided from its bytes (xlsx zip, BIFF8 OLE2, or an HTML table saved as `.xls`);
each sheet is matched to a table by its header labels; title blocks, column-number rows, total rows and
signature blocks are skipped; every cell goes through its column's typed parser; every row keeps where
it came from (sheet, Excel row) and its original values. Nothing raises past `read_file`: an unreadable
file or row becomes a `Finding`.
"""

from __future__ import annotations

import copy
import hashlib
import io
import itertools
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.lib import wording
from pipeline.lib.findings import Finding
from pipeline.lib.tablespecs import LANGUAGES, Column, TableSpec
from pipeline.lib.text import normalize_text, text_key
from pipeline.lib.values import PARSERS, choice_parser, is_blank
from pipeline.lib.wording import quoted

MAX_FILE_BYTES = 50 * 1024**2
MAX_SHEET_XML_BYTES = 500 * 1024**2
MAX_ROWS = 1_048_576
MAX_COLUMNS = 200
MAX_ZIP_RATIO = 200  # uncompressed/compressed beyond this is a zip bomb, not a spreadsheet
HEADER_SEARCH_ROWS = 15  # title block of up to 10 rows, plus slack
NAMED_AS = {"xlsx": (".xlsx", ".xlsm"), "xls": (".xls",)}  # the names calamine opens by path as that format

TOTAL_MARKERS = {"tổng cộng", "tổng", "cộng", "tổng số"}
SIGNATURE_MARKERS = ("người lập", "giám đốc", "thủ trưởng", "kt. ", "ngày ... tháng", "xác nhận")
_DATE_LINE = re.compile(r"^[^\d,]{2,40}, ngày\b")  # `Trà Vinh, ngày 03 tháng 7 năm 2020`, whatever the place
_COLUMN_NUMBER = re.compile(r"^\(?(\d{1,3})\)?$")
_LEVEL = re.compile(r"(\d)\s*$")
# printable ASCII but `"` and `\`, single spaces between: normalized text, a JSON string body as it is
_PLAIN_TEXT = r'^[!#-\[\]-~]( ?[!#-\[\]-~])*$'
_HTML_SNIFF = re.compile(rb"<\s*(html|table|!doctype|meta|\?xml)", re.I)


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

    @classmethod
    def from_rows(cls, name: str, visible: bool, rows: Iterable[list[Any]]) -> "RawSheet":
        rows = iter(rows)
        return cls(name, visible, list(itertools.islice(rows, HEAD_ROWS)), rows)

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


@dataclass
class FileResult:
    path: str  # relative to the quarter folder
    sha256: str
    size: int
    format: str | None
    sheets: list[str] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # one frame per table, its sheets in order
    loaded_sheets: dict[str, list[str]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    rows_read: int = 0
    outcome: str = "loaded"  # loaded | ignored | rejected
    reason: str | None = None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


IGNORED_NAME_REASON = "tệp khóa của Excel hoặc tệp ẩn, không phải tệp xuất: bỏ qua"


def is_ignored_name(name: str) -> bool:
    """Excel lock files (`~$…`) and hidden files are never exports."""
    return name.startswith("~$") or name.startswith(".")


def detect_format(path: Path) -> str | None:
    with open(path, "rb") as handle:
        head = handle.read(2048)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "xls"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if _HTML_SNIFF.search(stripped[:1024]) or stripped.lower().startswith(b"<"):
        return "html"
    return None


def _check_xlsx_limits(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise UnreadableFile(f"tệp xlsx bị hỏng (không phải tệp nén zip hợp lệ: {exc})") from None
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names:
        raise UnreadableFile("tệp nén zip không có xl/workbook.xml: không phải sổ tính Excel")
    for info in infos:
        if info.file_size > MAX_SHEET_XML_BYTES:
            raise UnreadableFile(
                f"{info.filename} chiếm {wording.size(info.file_size)} khi giải nén "
                f"(giới hạn {wording.size(MAX_SHEET_XML_BYTES)})"
            )
        if info.compress_size and info.file_size / info.compress_size > MAX_ZIP_RATIO and info.file_size > 10 * 1024**2:
            raise UnreadableFile(
                f"{info.filename} giải nén ra gấp {info.file_size // max(info.compress_size, 1)} lần: bị từ chối như một bom nén (zip bomb)"
            )


def _read_calamine(path: Path, fmt: str) -> Iterator[RawSheet]:
    import python_calamine

    if fmt == "xls":
        with open(path, "rb") as handle:
            blob = handle.read()
        if "EncryptionInfo".encode("utf-16-le") in blob or b"EncryptedPackage" in blob.replace(b"\x00", b""):
            raise UnreadableFile("sổ tính có mật khẩu (được mã hóa, encrypted)")
    try:
        if path.suffix.lower() in NAMED_AS[fmt]:
            workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        else:  # calamine picks its parser by the name: under another format's name, it gets the bytes
            workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(path.read_bytes()))
    except Exception as exc:  # calamine raises its own error types for corrupt workbooks
        raise UnreadableFile(f"không mở được sổ tính {fmt} ({exc})") from None
    return _calamine_sheets(workbook)


def _calamine_sheets(workbook) -> Iterator[RawSheet]:
    """One sheet at a time, so a workbook's large sheets are not all in memory together."""
    for meta in workbook.sheets_metadata:
        if str(meta.typ).endswith("ChartSheet"):
            continue
        try:
            sheet = workbook.get_sheet_by_name(meta.name)
            if sheet.total_height > MAX_ROWS or sheet.total_width > MAX_COLUMNS + 50:
                raise UnreadableFile(
                    f"trang tính {quoted(meta.name)} trải trên {sheet.total_height} dòng x {sheet.total_width} cột "
                    f"(giới hạn {MAX_ROWS} x {MAX_COLUMNS})"
                )
            raw = RawSheet.from_rows(meta.name, str(meta.visible).endswith("Visible"), _calamine_rows(sheet))
        except UnreadableFile:
            raise
        except Exception as exc:
            raise UnreadableFile(f"không đọc được trang tính {quoted(meta.name)} ({exc})") from None
        yield raw


def _calamine_rows(sheet) -> Iterator[list[Any]]:
    """Rows from Excel row 1, columns from A (calamine starts them at the first used column)."""
    if sheet.start is None:
        return iter(())
    if not sheet.start[1]:
        return iter(sheet.iter_rows())
    pad = [""] * sheet.start[1]
    return (pad + row for row in sheet.iter_rows())


def _read_html(path: Path) -> list[RawSheet]:
    """HTML `<table>`s saved with an `.xls` name, laid out on a grid as Excel shows them
    (colspan/rowspan occupy cells, the value sits in the top-left one)."""
    from lxml import etree

    blob = path.read_bytes()
    declared = re.search(rb"charset=[\"']?([\w-]+)", blob[:4096], re.I)
    try:
        encoding = declared[1].decode("ascii") if declared else "utf-8"
        # plain etree elements: lxml.html's per-element class lookup costs as much as the parse
        # (decoded then re-encoded: bad bytes become U+FFFD, and an `<?xml … encoding=…?>` line is harmless)
        text = blob.decode(encoding, errors="replace").encode("utf-8")
        root = etree.fromstring(text, etree.HTMLParser(encoding="utf-8"))
    except Exception as exc:
        raise UnreadableFile(f"không phân tích được HTML ({exc})") from None
    tables = root.findall(".//table") if root is not None else []
    if not tables:
        raise UnreadableFile("tệp HTML không có bảng <table>")
    # spans are rare (a title or header cell): once all are placed, rows are read without looking at attributes
    lowered = text.lower()
    spans_left = lowered.count(b"colspan") + lowered.count(b"rowspan")  # at least the span attributes
    del lowered
    sheets = []
    for index, table in enumerate(tables, start=1):
        rows: list[list[Any]] = []
        covered: dict[int, int] = {}  # column -> last row a rowspan from a row above covers it
        nested = table.find(".//table") is not None
        for r, tr in enumerate(table.xpath("./tr|./thead/tr|./tbody/tr|./tfoot/tr") if nested else table.iter("tr")):
            if spans_left <= 0 and not covered:
                rows.append([(cell.text or "") if not len(cell) else "".join(cell.itertext())
                             for cell in tr.iterchildren("td", "th")])
                continue
            row: list[Any] = []
            for cell in tr.iterchildren("td", "th"):
                while covered.get(len(row), -1) >= r:
                    row.append("")
                colspan, rowspan = cell.get("colspan"), cell.get("rowspan")
                spans_left -= (colspan is not None) + (rowspan is not None)
                colspan = _span(colspan) if colspan else 1
                rowspan = _span(rowspan) if rowspan else 1
                for c in range(len(row), len(row) + colspan) if rowspan > 1 else ():
                    covered[c] = max(covered.get(c, -1), r + rowspan - 1)
                row.append((cell.text or "") if not len(cell) else "".join(cell.itertext()))
                if colspan > 1:
                    row.extend([""] * (colspan - 1))
                if len(row) > MAX_COLUMNS + 50:
                    raise UnreadableFile(f"bảng HTML số {index} có hơn {MAX_COLUMNS + 50} cột (giới hạn {MAX_COLUMNS})")
            # a rowspan past the row's last cell does not pad it, but still covers the rows below
            covered = {c: last for c, last in covered.items() if last > r}
            rows.append(row)
        width = max((len(row) for row in rows), default=0)
        if width > MAX_COLUMNS + 50:
            raise UnreadableFile(f"bảng HTML số {index} có {width} cột (giới hạn {MAX_COLUMNS})")
        sheets.append(RawSheet.from_rows(f"table {index}", True, _padded(rows, width)))
    return sheets


def _padded(rows: list[list[Any]], width: int) -> Iterator[list[Any]]:
    """Each row to the table's width, releasing the grid's rows as they are consumed."""
    for index, row in enumerate(rows):
        rows[index] = None
        yield row + [""] * (width - len(row)) if len(row) < width else row


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 1000))
    except ValueError:
        return 1


def load_sheets(path: Path) -> tuple[str, Iterable[RawSheet]]:
    """Decide the format from the bytes and return its sheets' cells (read as they are iterated);
    raise UnreadableFile, also while iterating, for anything that is not a readable spreadsheet."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise UnreadableFile(f"tệp nặng {wording.size(size)} (giới hạn {wording.size(MAX_FILE_BYTES)})")
    if size == 0:
        raise UnreadableFile("tệp rỗng")
    fmt = detect_format(path)
    if fmt is None:
        raise UnreadableFile("không phải bảng tính (không phải xlsx, xls hay bảng HTML)")
    if fmt == "xlsx":
        _check_xlsx_limits(path)
    return fmt, (_read_html(path) if fmt == "html" else _read_calamine(path, fmt))


# --- header detection -------------------------------------------------------------------------------


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


# --- body ---------------------------------------------------------------------------------------------


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


_LONGEST_TOTAL_MARKER = max(len(m) for m in TOTAL_MARKERS) + 10  # room for spaces and NFD marks


def _is_signature_row(row: list[Any]) -> bool:
    for value in row:
        key = _label_key(value)
        if key and (any(key.startswith(m) for m in SIGNATURE_MARKERS) or _DATE_LINE.match(key)):
            return True
    return False


CHUNK_ROWS = 50_000  # rows classified and typed at a time, then released


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
    for first, rows in sheet.chunks(start, CHUNK_ROWS):
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


def _jsonable(value: Any) -> Any:
    if is_blank(value):
        return None
    return value if isinstance(value, (str, int, float, bool)) else str(value)


def read_file(path: Path, relative: str, source: str, specs: tuple[TableSpec, ...]) -> FileResult:
    """Read one export file into the tables of `specs` it holds. Never raises for bad content."""
    result = FileResult(relative, sha256_of(path), path.stat().st_size, None)
    try:
        result.format, sheets = load_sheets(path)
        for sheet in sheets:
            result.sheets.append(sheet.name)
            _read_sheet(sheet, result, source, specs)
            sheet.drain()
    except UnreadableFile as exc:  # the whole file is refused, even if some sheets were read
        return rejected_result(path, relative, source, str(exc), result.sha256, result.format)
    if not result.tables:
        result.outcome = "rejected" if any(f.severity == "error" for f in result.findings) else "ignored"
        result.reason = "không có bảng nào của thư mục này" if result.outcome == "ignored" else "không nạp được trang tính nào"
    return result


def rejected_result(path: Path, relative: str, source: str, reason: str, sha256: str | None = None,
                    fmt: str | None = None) -> FileResult:
    """A file refused whole: no table, one `unreadable_file` error finding giving the reason."""
    size = path.stat().st_size
    return FileResult(relative, sha256 or sha256_of(path), size, fmt or (detect_format(path) if size else None),
                      outcome="rejected", reason=reason,
                      findings=[Finding("unreadable_file", "error", source,
                                        f"tệp không được nạp, mọi số liệu của tệp bị bỏ qua: {reason}", relative)])


def _read_sheet(sheet: RawSheet, result: FileResult, source: str, specs: tuple[TableSpec, ...]) -> None:
    relative = result.path
    match = find_header(sheet.head, specs)
    if match is None:
        state = "trang tính ẩn" if not sheet.visible else "trang tính"
        result.findings.append(Finding(
            "sheet_ignored", "info", source,
            f"{state} không chứa bảng nào của các tệp thuộc thư mục này: bỏ qua", relative, sheet.name,
        ))
        return
    if match.missing:
        result.findings.append(Finding(
            "missing_labels", "error", source,
            f"dòng tiêu đề giống bảng “{match.spec.title}” nhưng thiếu cột bắt buộc "
            f"{', '.join(quoted(m) for m in match.missing)}: trang tính không được nạp",
            relative, sheet.name, match.row_index + 1, table=match.spec.name,
        ))
        return
    frame, findings = extract_rows(sheet, match, relative)
    earlier = result.tables.get(match.spec.name)
    result.tables[match.spec.name] = frame if earlier is None else pd.concat([earlier, frame], ignore_index=True)
    result.loaded_sheets.setdefault(match.spec.name, []).append(sheet.name)
    result.findings.extend(findings)
    result.rows_read += len(frame)
