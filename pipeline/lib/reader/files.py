"""Reading one export file: the entry point. Its format from its bytes, each sheet matched to a table by its
header, the rows typed; what cannot be read becomes a finding, never an exception."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from pipeline.lib.findings import Finding
from pipeline.lib.reader.formats import detect_format, load_sheets
from pipeline.lib.reader.headers import find_header
from pipeline.lib.reader.legacy_cells import Converted, LegacyCells
from pipeline.lib.reader.rows import extract_rows
from pipeline.lib.reader.sheets import RawSheet, UnreadableFile
from pipeline.lib.tablespecs import TableSpec
from pipeline.lib.wording import number, quoted


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
    if result.legacy:
        result.findings.append(legacy_finding(result, source))
    if not result.tables:
        result.outcome = "rejected" if any(f.severity == "error" for f in result.findings) else "ignored"
        result.reason = "không có bảng nào của thư mục này" if result.outcome == "ignored" else "không nạp được trang tính nào"
    return result


def legacy_finding(result: FileResult, source: str) -> Finding:
    """The `info` finding of a file holding legacy text: the encodings, the sheets, the number of cells."""
    encodings = sorted({LEGACY_NAMES[c.encoding] for c in result.legacy})
    sheets = list(dict.fromkeys(c.sheet for c in result.legacy))
    return Finding("legacy_encoding", "info", source,
                   f"{number(len(result.legacy))} ô chữ gõ bằng bảng mã cũ {' và '.join(encodings)} (trang tính "
                   f"{', '.join(quoted(s) for s in sheets)}) đã được đọc thành chữ Unicode trước khi đối chiếu; "
                   "nên đề nghị đơn vị gửi tệp dùng bảng mã Unicode (TCVN 6909:2001)", result.path)


LEGACY_NAMES = {"TCVN3": "TCVN3 (ABC)", "TCVN3 capitals": "TCVN3 (ABC)", "VNI": "VNI-Windows"}


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
    legacy = LegacyCells(sheet.name, sheet.fonts)
    match = find_header(legacy.rows(sheet.head, record=False), specs)
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
    legacy.rows(sheet.head[:match.row_index + match.spec.header_rows])  # the title block and the header, as read
    cells = extract_rows(sheet, match, legacy)
    result.legacy += list(legacy.found.values())
    earlier = result.tables.get(match.spec.name)
    result.tables[match.spec.name] = cells if earlier is None else pa.concat_tables([earlier, cells])
    result.loaded_sheets.setdefault(match.spec.name, []).append(sheet.name)
    result.rows_read += cells.num_rows



@dataclass
class FileResult:
    path: str  # relative to the quarter folder
    sha256: str
    size: int
    format: str | None
    sheets: list[str] = field(default_factory=list)
    tables: dict[str, pa.Table] = field(default_factory=dict)  # the raw layer's rows per table, its sheets in order
    loaded_sheets: dict[str, list[str]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    rows_read: int = 0  # record rows found (staging refuses those whose cells do not type)
    legacy: list[Converted] = field(default_factory=list)  # cells in a legacy encoding, read as Unicode
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


