"""Which format a file's bytes show (xlsx, xls or an HTML table, whatever its name), the size limits checked
before parsing, and the sheets of a workbook: their head rows read by calamine, the rows below the header by
fastexcel (`workbooks`), or the whole sheet by calamine's rows where fastexcel cannot give the same cells."""

from __future__ import annotations

import functools
import io
import itertools
import re
import zipfile
from pathlib import Path
from typing import Any, Iterable, Iterator

from pipeline.lib import wording
from pipeline.lib.reader.fonts import SheetFonts, xls_fonts, xlsx_fonts
from pipeline.lib.reader.html_tables import read_html
from pipeline.lib.reader.sheets import HEAD_ROWS, MAX_COLUMNS, MAX_ROWS, RawSheet, UnreadableFile
from pipeline.lib.reader.workbooks import WorkbookSheet, head_workbook, open_loader
from pipeline.lib.wording import quoted

MAX_FILE_BYTES = 50 * 1024**2
MAX_SHEET_XML_BYTES = 500 * 1024**2
MAX_ZIP_RATIO = 200  # uncompressed/compressed beyond this is a zip bomb, not a spreadsheet
NAMED_AS = {"xlsx": (".xlsx", ".xlsm"), "xls": (".xls",)}  # the names calamine opens by path as that format
_HTML_SNIFF = re.compile(rb"<\s*(html|table|!doctype|meta|\?xml)", re.I)


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
    return fmt, (read_html(path) if fmt == "html" else _read_workbook(path, fmt))





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


def _read_workbook(path: Path, fmt: str) -> Iterator[RawSheet]:
    import python_calamine

    if fmt == "xls":
        with open(path, "rb") as handle:
            blob = handle.read()
        if "EncryptionInfo".encode("utf-16-le") in blob or b"EncryptedPackage" in blob.replace(b"\x00", b""):
            raise UnreadableFile("sổ tính có mật khẩu (được mã hóa, encrypted)")

    @functools.cache  # an .xls's head is read from it, and a sheet fastexcel cannot read falls back to it
    def whole():
        try:
            if path.suffix.lower() in NAMED_AS[fmt]:
                return python_calamine.CalamineWorkbook.from_path(str(path))
            # calamine picks its parser by the name: under another format's name, it gets the bytes
            return python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(path.read_bytes()))
        except Exception as exc:  # calamine raises its own error types for corrupt workbooks
            raise UnreadableFile(f"không mở được sổ tính {fmt} ({exc})") from None

    head = _head_and_loader(path, fmt, whole)
    workbook = whole() if head is None else None
    try:
        fonts = xlsx_fonts(path) if fmt == "xlsx" else xls_fonts(path)
    except Exception:  # noqa: BLE001 - the fonts are a hint: without them the text itself is looked at
        fonts = {}
    if head is not None:
        return _workbook_sheets(whole, *head, fonts)
    return _calamine_sheets(workbook, fonts)


def _head_and_loader(path: Path, fmt: str, whole):
    """Where calamine reads the head rows (an .xlsx: the cut copy, `head_workbook`; an .xls, at most 65,536 rows
    a sheet: the whole file), and fastexcel's reader of the whole file; None when either fails (calamine then
    opens the whole file, and words what breaks)."""
    import python_calamine

    try:
        head = (python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(head_workbook(path))) if fmt == "xlsx"
                else whole())
        return head, open_loader(path)
    except Exception:  # noqa: BLE001
        return None


def _workbook_sheets(whole, head, reader, fonts: SheetFonts) -> Iterator[RawSheet]:
    """A workbook's sheets: each head read by calamine from `head`, the rows below the header by fastexcel
    (`WorkbookSheet`); the same sheets as `_calamine_sheets` gives from the whole file (`whole()`, opened only
    for a sheet fastexcel cannot read)."""
    for meta in head.sheets_metadata:
        if str(meta.typ).endswith("ChartSheet"):
            continue
        try:
            sheet_head = list(itertools.islice(_calamine_rows(head.get_sheet_by_name(meta.name)), HEAD_ROWS))
        except Exception:  # noqa: BLE001 - the sheet is read whole by calamine
            yield from _calamine_sheets(whole(), fonts, only=meta.name)
            continue
        yield WorkbookSheet(meta.name, str(meta.visible).endswith("Visible"), sheet_head, fonts.get(meta.name), reader,
                            lambda name=meta.name: _calamine_rows(_calamine_sheet(whole(), name)))


def _calamine_sheets(workbook, fonts: SheetFonts, only: str | None = None) -> Iterator[RawSheet]:
    """One sheet at a time, so a workbook's large sheets are not all in memory together (`only`: that one)."""
    for meta in workbook.sheets_metadata:
        if str(meta.typ).endswith("ChartSheet") or only not in (None, meta.name):
            continue
        sheet = _calamine_sheet(workbook, meta.name)
        try:
            raw = RawSheet.from_rows(meta.name, str(meta.visible).endswith("Visible"), _calamine_rows(sheet), fonts.get(meta.name))
        except Exception as exc:
            raise UnreadableFile(f"không đọc được trang tính {quoted(meta.name)} ({exc})") from None
        yield raw


def _calamine_sheet(workbook, name: str):
    """A sheet parsed whole by calamine, within the limits; UnreadableFile otherwise."""
    try:
        sheet = workbook.get_sheet_by_name(name)
    except Exception as exc:
        raise UnreadableFile(f"không đọc được trang tính {quoted(name)} ({exc})") from None
    if sheet.total_height > MAX_ROWS or sheet.total_width > MAX_COLUMNS + 50:
        raise UnreadableFile(
            f"trang tính {quoted(name)} trải trên {sheet.total_height} dòng x {sheet.total_width} cột "
            f"(giới hạn {MAX_ROWS} x {MAX_COLUMNS})"
        )
    return sheet


def _calamine_rows(sheet) -> Iterator[list[Any]]:
    """Rows from Excel row 1, columns from A (calamine starts them at the first used column)."""
    if sheet.start is None:
        return iter(())
    if not sheet.start[1]:
        return iter(sheet.iter_rows())
    pad = [""] * sheet.start[1]
    return (pad + row for row in sheet.iter_rows())


