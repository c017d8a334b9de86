"""The one generic reader: any agency export that follows `shared/spec/exports.md`, driven by `TableSpec`s.

A file's format is decided from its bytes (xlsx zip, BIFF8 OLE2, or an HTML table saved as `.xls`);
each sheet is matched to a table by its header labels; title blocks, column-number rows, total rows and
signature blocks are skipped; every cell goes through its column's typed parser; every row keeps where
it came from (sheet, Excel row) and its original values. Nothing raises past `read_file`: an unreadable
file or row becomes a `Finding`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import pandas as pd

from pipeline.lib.findings import Finding
from pipeline.lib.tablespecs import LANGUAGES, Column, TableSpec
from pipeline.lib.text import normalize_text, text_key
from pipeline.lib.values import PARSERS, choice_parser, is_blank

MAX_FILE_BYTES = 50 * 1024**2
MAX_SHEET_XML_BYTES = 500 * 1024**2
MAX_ROWS = 1_048_576
MAX_COLUMNS = 200
MAX_ZIP_RATIO = 200  # uncompressed/compressed beyond this is a zip bomb, not a spreadsheet
HEADER_SEARCH_ROWS = 15  # title block of up to 10 rows, plus slack

TOTAL_MARKERS = {"tổng cộng", "tổng", "cộng", "tổng số"}
SIGNATURE_MARKERS = ("người lập", "trà vinh, ngày", "giám đốc", "thủ trưởng", "kt. ", "ngày ... tháng", "xác nhận")
_COLUMN_NUMBER = re.compile(r"^\(?(\d{1,3})\)?$")
_LEVEL = re.compile(r"(\d)\s*$")
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

    def rows_from(self, start: int) -> Iterator[tuple[int, list[Any]]]:
        """(0-based row index, cells) from `start` (within the head) to the end; consumes the sheet."""
        yield from enumerate(self.head[start:], start)
        yield from enumerate(self.rest, len(self.head))


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
        raise UnreadableFile(f"corrupt xlsx (not a valid zip archive: {exc})") from None
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names:
        raise UnreadableFile("zip archive without xl/workbook.xml: not an Excel workbook")
    for info in infos:
        if info.file_size > MAX_SHEET_XML_BYTES:
            raise UnreadableFile(
                f"{info.filename} is {info.file_size / 1024**2:.0f} MB uncompressed "
                f"(limit {MAX_SHEET_XML_BYTES // 1024**2} MB)"
            )
        if info.compress_size and info.file_size / info.compress_size > MAX_ZIP_RATIO and info.file_size > 10 * 1024**2:
            raise UnreadableFile(
                f"{info.filename} expands {info.file_size // max(info.compress_size, 1)}x: refused as a zip bomb"
            )


def _read_calamine(path: Path, fmt: str) -> Iterator[RawSheet]:
    import python_calamine

    if fmt == "xls":
        with open(path, "rb") as handle:
            blob = handle.read()
        if "EncryptionInfo".encode("utf-16-le") in blob or b"EncryptedPackage" in blob.replace(b"\x00", b""):
            raise UnreadableFile("password-protected (encrypted) workbook")
    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for corrupt workbooks
        raise UnreadableFile(f"cannot open {fmt} workbook: {exc}") from None
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
                    f"sheet {meta.name!r} spans {sheet.total_height} rows x {sheet.total_width} columns "
                    f"(limit {MAX_ROWS} x {MAX_COLUMNS})"
                )
            raw = RawSheet.from_rows(meta.name, str(meta.visible).endswith("Visible"), _calamine_rows(sheet))
        except UnreadableFile:
            raise
        except Exception as exc:
            raise UnreadableFile(f"cannot read sheet {meta.name!r}: {exc}") from None
        yield raw


def _calamine_rows(sheet) -> Iterator[list[Any]]:
    """Rows from Excel row 1, columns from A (calamine starts them at the first used column)."""
    if sheet.start is None:
        return
    pad = [""] * sheet.start[1]
    try:
        for row in sheet.iter_rows():
            yield pad + row if pad else row
    except Exception as exc:  # a sheet whose XML breaks midway
        raise UnreadableFile(f"cannot read sheet {sheet.name!r}: {exc}") from None


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
        raise UnreadableFile(f"cannot parse HTML: {exc}") from None
    tables = root.findall(".//table") if root is not None else []
    if not tables:
        raise UnreadableFile("HTML file without a <table>")
    sheets = []
    for index, table in enumerate(tables, start=1):
        rows: list[list[Any]] = []
        below: set[tuple[int, int]] = set()  # cells covered by a rowspan from a row above
        for r, tr in enumerate(table.xpath("./tr|./thead/tr|./tbody/tr|./tfoot/tr")):
            row: list[Any] = []
            for cell in tr.iterchildren("td", "th"):
                while below and (r, len(row)) in below:
                    row.append("")
                colspan, rowspan = cell.get("colspan"), cell.get("rowspan")
                colspan = _span(colspan) if colspan else 1
                if rowspan:
                    for dr in range(1, _span(rowspan)):
                        below.update((r + dr, len(row) + dc) for dc in range(colspan))
                row.append((cell.text or "") if not len(cell) else "".join(cell.itertext()))
                if colspan > 1:
                    row.extend([""] * (colspan - 1))
            rows.append(row)
        width = max((len(row) for row in rows), default=0)
        if width > MAX_COLUMNS + 50:
            raise UnreadableFile(f"HTML table {index} has {width} columns (limit {MAX_COLUMNS})")
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
        raise UnreadableFile(f"file is {size / 1024**2:.1f} MB (limit {MAX_FILE_BYTES // 1024**2} MB)")
    if size == 0:
        raise UnreadableFile("empty file")
    fmt = detect_format(path)
    if fmt is None:
        raise UnreadableFile("not a spreadsheet (neither xlsx, xls nor an HTML table)")
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
        wanted = {text_key(l) for l in col.labels}
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
        raise ValueError(f"not a service level (2, 3, 4, `Mức độ 3`…): {value!r}")
    return int(match[1])


_LANGUAGE_PARSER = choice_parser(LANGUAGES)


def _parse_languages(value: Any) -> str | None:
    if is_blank(value):
        return None
    codes = {_LANGUAGE_PARSER(part) for part in re.split(r"[,;]", str(value)) if part.strip()}
    order = list(LANGUAGES)
    return ",".join(sorted(codes, key=order.index)) or None


def _map_distinct(fn: Callable[[Any], Any], values: list[Any]) -> list[Any]:
    """`[fn(v) for v in values]`, calling `fn` once per distinct value. Values of different types that
    compare equal (1, 1.0, True) are kept apart, since they read differently."""
    if len(set(map(type, values)) - {type(None)}) <= 1:
        table = {v: fn(v) for v in set(values)}
        return list(map(table.__getitem__, values))
    typed = {key: fn(key[1]) for key in {(v.__class__, v) for v in values}}
    return [typed[(v.__class__, v)] for v in values]


def _parse_distinct(parse: Callable[[Any], Any], values: list[Any]) -> tuple[list[Any], dict[int, str]]:
    """The column's values parsed, each distinct cell value once (dates, agency names, forms and statuses
    repeat thousands of times; text normalization is the costly part of reading), and the positions of
    the values that failed, with the parser's message."""
    failed = False

    def attempt(value: Any) -> tuple[Any, str | None]:
        nonlocal failed
        try:
            return parse(value), None
        except ValueError as exc:
            failed = True
            return None, str(exc)

    pairs = _map_distinct(attempt, values)
    errors = {p: error for p, (_, error) in enumerate(pairs) if error is not None} if failed else {}
    return [value for value, _ in pairs], errors


def _raw_json_parts(label: str, values: list[Any]) -> list[str]:
    """`"label": value` as json.dumps writes it inside an object, each distinct value encoded once."""
    prefix = json.dumps(label, ensure_ascii=False) + ": "
    return _map_distinct(lambda v: prefix + json.dumps(_jsonable(v), ensure_ascii=False, default=str), values)


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


def _is_total_row(row: list[Any], first_cells: list[int]) -> bool:
    for i in first_cells:
        value = row[i] if i < len(row) else None
        # only short text starting with T or C can read `Tổng cộng`: skip normalizing every name and id
        if (isinstance(value, str) and len(value) <= _LONGEST_TOTAL_MARKER and value.lstrip()[:1] in ("T", "t", "C", "c")
                and _label_key(value) in TOTAL_MARKERS):
            return True
    return False


def _is_signature_row(row: list[Any]) -> bool:
    for value in row:
        key = _label_key(value)
        if key and any(key.startswith(m) for m in SIGNATURE_MARKERS):
            return True
    return False


CHUNK_ROWS = 50_000  # rows typed at a time, then released


def extract_rows(sheet: RawSheet, match: HeaderMatch, file_label: str) -> tuple[pd.DataFrame, list[Finding]]:
    """The typed records below a matched header, one column per field, each row with `_sheet`, `_row`
    (as Excel shows it) and `_raw` (the original cell values by label, as JSON).

    Rows are classified one by one as the sheet is read (blank, column numbers, total, signature,
    incomplete); the kept rows are typed a column at a time, each distinct value once, in chunks, so a
    large sheet is never held whole in Python objects. Consumes the sheet."""
    rows = _classified_rows(sheet, match)
    chunks = [_typed_chunk(sheet.name, match, file_label, pending)
              for pending in iter(lambda: list(itertools.islice(rows, CHUNK_ROWS)), [])]
    if not chunks:
        chunks = [_typed_chunk(sheet.name, match, file_label, [])]  # the table's columns, no rows
    frames = [frame for frame, _ in chunks]
    findings = [finding for _, found in chunks for finding in found]
    return (frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)), findings


def _classified_rows(sheet: RawSheet, match: HeaderMatch) -> Iterator[tuple]:
    """(0-based index, cells, problems so far, is it the total row) of each row holding a record. Stops at
    a total row (kept last by the tables that keep it) or at the signature block."""
    spec = match.spec
    labels = {name: spec.column(name).labels[0] for name in match.columns}
    # a yes/no column's blank means no; a required column absent from the header is always empty
    required = [(labels.get(c.name, c.labels[0]), match.columns.get(c.name, MAX_COLUMNS + 1_000))
                for c in spec.required if c.type != "bool"]
    first_cells = sorted({0, *(match.columns[c.name] for c in spec.agency_columns if c.name in match.columns)})
    start = match.row_index + spec.header_rows
    if start < len(sheet.head) and _is_column_number_row(sheet.head[start]):
        start += 1
    for index, row in sheet.rows_from(start):
        if all(is_blank(v) for v in row):
            continue
        is_total = _is_total_row(row, first_cells)
        if is_total:
            if spec.keep_total_row:
                yield index, row, [], True
            return
        width = len(row)
        empty = [label for label, i in required if i >= width or is_blank(row[i])]
        if empty:
            # A row with every required value is data, whatever its text says; only an incomplete row
            # can be the signature block (which ends the table) or a line holding no record at all.
            if _is_signature_row(row):
                return
            if len(empty) == len(required):
                continue
        yield index, row, [f"required `{l}` is empty" for l in empty], False


def _typed_chunk(sheet_name: str, match: HeaderMatch, file_label: str,
                 pending: list[tuple[int, list[Any], list[str], bool]]) -> tuple[pd.DataFrame, list[Finding]]:
    """Rows from `_classified_rows` typed into columns; rows a value of which fails are findings."""
    spec = match.spec
    kept = [index for index, _, _, _ in pending]
    rows = [row for _, row, _, _ in pending]
    problems = [list(found) for _, _, found, _ in pending]
    totals = [is_total for _, _, _, is_total in pending]
    data: dict[str, list[Any]] = {}
    raw_parts = []
    for name, i in match.columns.items():
        column = spec.column(name)
        label = column.labels[0]
        originals = [row[i] if i < len(row) else None for row in rows]
        values = originals
        if column.agency and totals and totals[-1]:
            values = originals[:-1] + [None]  # the label `Tổng cộng` is not an agency
        parsed, errors = _parse_distinct(_column_parser(column), values)
        for position, error in errors.items():
            problems[position].append(f"`{label}`: {error}")
        data[name] = parsed
        raw_parts.append(_raw_json_parts(label, originals))
    data["_raw"] = ["{" + ", ".join(parts) + "}" for parts in zip(*raw_parts)]
    data["_sheet"] = [sheet_name] * len(rows)
    data["_row"] = [i + 1 for i in kept]
    data["_is_total"] = totals
    if spec.keep_total_row:  # reconciliation names the cell of a wrong total
        data["_cells"] = [json.dumps({n: f"{column_letter(c)}{i + 1}" for n, c in match.columns.items()}) for i in kept]
    findings = [
        Finding("invalid_row", "error", spec.source, f"{spec.title}: row not loaded ({'; '.join(found)})",
                file_label, sheet_name, kept[position] + 1, table=spec.name)
        for position, found in enumerate(problems) if found
    ]
    if findings:
        good = [p for p, found in enumerate(problems) if not found]
        data = {column: [values[p] for p in good] for column, values in data.items()}
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
            # the rows below the table are read too: a sheet that breaks further down refuses the file
            for _ in sheet.rest:
                pass
    except UnreadableFile as exc:  # the whole file is refused, even if some sheets were read
        result.outcome, result.reason = "rejected", str(exc)
        result.sheets, result.tables, result.loaded_sheets, result.rows_read = [], {}, {}, 0
        result.findings = [Finding("unreadable_file", "error", source, f"file not loaded: {exc}", relative)]
        return result
    if not result.tables:
        result.outcome = "rejected" if any(f.severity == "error" for f in result.findings) else "ignored"
        result.reason = "no table of this folder found" if result.outcome == "ignored" else "no sheet loaded"
    return result


def _read_sheet(sheet: RawSheet, result: FileResult, source: str, specs: tuple[TableSpec, ...]) -> None:
    relative = result.path
    match = find_header(sheet.head, specs)
    if match is None:
        state = "hidden sheet" if not sheet.visible else "sheet"
        result.findings.append(Finding(
            "sheet_ignored", "info", source,
            f"{state} holds no table of this folder's exports: ignored", relative, sheet.name,
        ))
        return
    if match.missing:
        result.findings.append(Finding(
            "missing_labels", "error", source,
            f"header looks like `{match.spec.title}` but lacks required label(s) "
            f"{', '.join(repr(m) for m in match.missing)}: sheet not loaded",
            relative, sheet.name, match.row_index + 1, table=match.spec.name,
        ))
        return
    frame, findings = extract_rows(sheet, match, relative)
    earlier = result.tables.get(match.spec.name)
    result.tables[match.spec.name] = frame if earlier is None else pd.concat([earlier, frame], ignore_index=True)
    result.loaded_sheets.setdefault(match.spec.name, []).append(sheet.name)
    result.findings.extend(findings)
    result.rows_read += len(frame)
