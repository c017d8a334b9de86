"""The one generic reader: any agency export that follows `shared/spec/exports.md`, driven by `TableSpec`s.

A file's format is decided from its bytes (xlsx zip, BIFF8 OLE2, or an HTML table saved as `.xls`);
each sheet is matched to a table by its header labels; title blocks, column-number rows, total rows and
signature blocks are skipped; every cell goes through its column's typed parser; every row keeps where
it came from (sheet, Excel row) and its original values. Nothing raises past `read_file`: an unreadable
file or row becomes a `Finding`.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

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


@dataclass
class RawSheet:
    name: str
    visible: bool
    cells: list[list[Any]]


@dataclass
class FileResult:
    path: str  # relative to the quarter folder
    sha256: str
    size: int
    format: str | None
    sheets: list[str] = field(default_factory=list)
    tables: dict[str, list[dict]] = field(default_factory=dict)
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


def _read_calamine(path: Path, fmt: str) -> list[RawSheet]:
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
    sheets = []
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
            cells = sheet.to_python(skip_empty_area=False)
        except UnreadableFile:
            raise
        except Exception as exc:
            raise UnreadableFile(f"cannot read sheet {meta.name!r}: {exc}") from None
        sheets.append(RawSheet(meta.name, str(meta.visible).endswith("Visible"), cells))
    return sheets


def _read_html(path: Path) -> list[RawSheet]:
    """HTML `<table>`s saved with an `.xls` name, laid out on a grid as Excel shows them
    (colspan/rowspan occupy cells, the value sits in the top-left one)."""
    import lxml.html

    blob = path.read_bytes()
    declared = re.search(rb"charset=[\"']?([\w-]+)", blob[:4096], re.I)
    try:
        encoding = declared[1].decode("ascii") if declared else "utf-8"
        root = lxml.html.document_fromstring(blob.decode(encoding, errors="replace"))
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
            for cell in tr:
                if cell.tag not in ("td", "th"):
                    continue
                while below and (r, len(row)) in below:
                    row.append("")
                attrib = cell.attrib
                colspan = _span(attrib.get("colspan")) if "colspan" in attrib else 1
                if "rowspan" in attrib:
                    for dr in range(1, _span(attrib.get("rowspan"))):
                        below.update((r + dr, len(row) + dc) for dc in range(colspan))
                row.append(cell.text_content())
                row.extend([""] * (colspan - 1))
            rows.append(row)
        width = max((len(row) for row in rows), default=0)
        if width > MAX_COLUMNS + 50:
            raise UnreadableFile(f"HTML table {index} has {width} columns (limit {MAX_COLUMNS})")
        cells = [row + [""] * (width - len(row)) for row in rows]
        sheets.append(RawSheet(f"table {index}", True, cells))
    return sheets


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 1000))
    except ValueError:
        return 1


def load_sheets(path: Path) -> tuple[str, list[RawSheet]]:
    """Decide the format from the bytes and return every sheet's cells; raise UnreadableFile otherwise."""
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


def _memoized(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The parser, computed once per distinct cell value of the sheet: dates, agency names, forms and
    statuses repeat thousands of times, and text normalization is the costly part of reading."""
    results: dict[tuple[type, Any], tuple[Any, ValueError | None]] = {}

    def parse_cached(value: Any) -> Any:
        key = (type(value), value)
        if key not in results:
            try:
                results[key] = (parse(value), None)
            except ValueError as exc:
                results[key] = (None, exc)
        result, error = results[key]
        if error is not None:
            raise error
        return result

    return parse_cached


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


def extract_rows(
    sheet: RawSheet, match: HeaderMatch, file_label: str
) -> tuple[list[dict], list[Finding]]:
    """The typed records below a matched header, each with `_sheet`, `_row` (as Excel shows it) and
    `_raw` (the original cell values by label)."""
    spec, cells = match.spec, sheet.cells
    parsers = {name: _memoized(_column_parser(spec.column(name))) for name in match.columns}
    labels = {name: spec.column(name).labels[0] for name in match.columns}
    required = [c.name for c in spec.required if c.type != "bool"]  # a yes/no column's blank means no
    first_cells = sorted({0, *(match.columns[c.name] for c in spec.agency_columns if c.name in match.columns)})
    records: list[dict] = []
    findings: list[Finding] = []
    start = match.row_index + spec.header_rows
    if start < len(cells) and _is_column_number_row(cells[start]):
        start += 1
    for index in range(start, len(cells)):
        row = cells[index]
        if all(is_blank(v) for v in row):
            continue
        excel_row = index + 1
        is_total = _is_total_row(row, first_cells)
        if is_total and not spec.keep_total_row:
            break
        picked = {name: (row[i] if i < len(row) else None) for name, i in match.columns.items()}
        empty_required = [] if is_total else [labels[n] for n in required if is_blank(picked.get(n))]
        if empty_required:
            # A row with every required value is data, whatever its text says; only an incomplete row
            # can be the signature block (which ends the table) or a line holding no record at all.
            if _is_signature_row(row):
                break
            if len(empty_required) == len(required):
                continue
        record: dict[str, Any] = {"_sheet": sheet.name, "_row": excel_row, "_is_total": is_total}
        if spec.keep_total_row:  # reconciliation names the cell of a wrong total
            record["_cells"] = json.dumps({n: f"{column_letter(i)}{excel_row}" for n, i in match.columns.items()})
        problems = [f"required `{l}` is empty" for l in empty_required]
        for name, value in picked.items():
            if is_total and spec.column(name).agency:
                record[name] = None
                continue
            try:
                record[name] = parsers[name](value)
            except ValueError as exc:
                record[name] = None
                problems.append(f"`{labels[name]}`: {exc}")
        if problems:
            findings.append(Finding(
                "invalid_row", "error", spec.source,
                f"{spec.title}: row not loaded ({'; '.join(problems)})",
                file_label, sheet.name, excel_row, table=spec.name,
            ))
            continue
        record["_raw"] = json.dumps(
            {labels[n]: _jsonable(v) for n, v in picked.items()}, ensure_ascii=False, default=str
        )
        records.append(record)
        if is_total:
            break
    return records, findings


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
    except UnreadableFile as exc:
        result.outcome, result.reason = "rejected", str(exc)
        result.findings.append(Finding("unreadable_file", "error", source, f"file not loaded: {exc}", relative))
        return result
    result.sheets = [s.name for s in sheets]
    for sheet in sheets:
        match = find_header(sheet.cells, specs)
        if match is None:
            state = "hidden sheet" if not sheet.visible else "sheet"
            result.findings.append(Finding(
                "sheet_ignored", "info", source,
                f"{state} holds no table of this folder's exports: ignored", relative, sheet.name,
            ))
            continue
        if match.missing:
            result.findings.append(Finding(
                "missing_labels", "error", source,
                f"header looks like `{match.spec.title}` but lacks required label(s) "
                f"{', '.join(repr(m) for m in match.missing)}: sheet not loaded",
                relative, sheet.name, match.row_index + 1, table=match.spec.name,
            ))
            continue
        records, findings = extract_rows(sheet, match, relative)
        result.tables.setdefault(match.spec.name, []).extend(records)
        result.loaded_sheets.setdefault(match.spec.name, []).append(sheet.name)
        result.findings.extend(findings)
        result.rows_read += len(records)
    if not result.tables:
        result.outcome = "rejected" if any(f.severity == "error" for f in result.findings) else "ignored"
        result.reason = "no table of this folder found" if result.outcome == "ignored" else "no sheet loaded"
    return result
