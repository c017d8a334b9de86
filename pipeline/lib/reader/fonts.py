"""The legacy fonts (TCVN3 `.VnTime`…, VNI `VNI-Times`…) a workbook records for its cells: the first sign that a
cell's text is in a legacy encoding (`pipeline.lib.legacy`). Read only when the file names such a font at all, so
that the many files without one cost a byte search.

- xlsx: the fonts of `xl/styles.xml` through each cell's style (`s`), and the runs of rich text in
  `xl/sharedStrings.xml` (`rFont`);
- xls: the FONT records through each cell's XF record (xlrd, with formatting);
- HTML: `<font face=…>` and `font-family` in a `style`, on the cell, inside it, or on its row or table.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from pipeline.lib.legacy import encoding_of_font

SheetFonts = dict[str, dict[tuple[int, int], str]]  # sheet name -> (0-based row, column) -> legacy font
_LEGACY_NAME = re.compile(rb"(\.vn|vni[- ])", re.I)
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_CELL_REF = re.compile(r"([A-Z]+)(\d+)")
_FONT_FAMILY = re.compile(r"font-family\s*:\s*['\"]?\s*([^;'\",]+)", re.I)


def _is_legacy(font: str | None) -> bool:
    return encoding_of_font(font) is not None


def _column_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    return index - 1


def xlsx_fonts(path: Path) -> SheetFonts:
    from lxml import etree

    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        styles = archive.read("xl/styles.xml") if "xl/styles.xml" in names else b""
        strings = archive.read("xl/sharedStrings.xml") if "xl/sharedStrings.xml" in names else b""
        if not _LEGACY_NAME.search(styles) and not _LEGACY_NAME.search(strings):
            return {}
        legacy_styles: dict[int, str] = {}
        if styles:
            root = etree.fromstring(styles)
            fonts = [(f.find(f"{_MAIN}name").get("val") if f.find(f"{_MAIN}name") is not None else None)
                     for f in root.iterfind(f"{_MAIN}fonts/{_MAIN}font")]
            for index, xf in enumerate(root.iterfind(f"{_MAIN}cellXfs/{_MAIN}xf")):
                font = fonts[int(xf.get("fontId", 0))] if int(xf.get("fontId", 0)) < len(fonts) else None
                if _is_legacy(font):
                    legacy_styles[index] = font
        rich: dict[int, str] = {}
        if strings and _LEGACY_NAME.search(strings):
            for index, si in enumerate(etree.fromstring(strings).iterfind(f"{_MAIN}si")):
                runs = [r.get("val") for r in si.iterfind(f".//{_MAIN}rFont")]
                legacy_runs = [f for f in runs if _is_legacy(f)]
                if legacy_runs:
                    rich[index] = legacy_runs[0]
        workbook = etree.fromstring(archive.read("xl/workbook.xml"))
        rels = etree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        targets = {r.get("Id"): r.get("Target") for r in rels}
        found: SheetFonts = {}
        for sheet in workbook.iterfind(f"{_MAIN}sheets/{_MAIN}sheet"):
            target = targets.get(sheet.get(f"{_RELS}id"), "")
            member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            if member not in names:
                continue
            cells: dict[tuple[int, int], str] = {}
            with archive.open(member) as handle:
                for _, c in etree.iterparse(handle, tag=f"{_MAIN}c"):
                    font = legacy_styles.get(int(c.get("s", 0)))
                    if font is None and c.get("t") == "s" and rich:
                        value = c.find(f"{_MAIN}v")
                        font = rich.get(int(value.text)) if value is not None and value.text else None
                    if font is not None and (ref := _CELL_REF.match(c.get("r", ""))):
                        cells[(int(ref[2]) - 1, _column_index(ref[1]))] = font
                    c.clear()
            if cells:
                found[sheet.get("name")] = cells
        return found


def xls_fonts(path: Path) -> SheetFonts:
    blob = path.read_bytes()
    if not _LEGACY_NAME.search(blob) and not _LEGACY_NAME.search(blob.replace(b"\x00", b"")):
        return {}
    import xlrd

    book = xlrd.open_workbook(file_contents=blob, formatting_info=True, on_demand=True)
    try:
        legacy_xfs = {i: book.font_list[xf.font_index].name for i, xf in enumerate(book.xf_list)
                      if _is_legacy(book.font_list[xf.font_index].name)}
        found: SheetFonts = {}
        if not legacy_xfs:
            return found
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            cells = {(r, c): legacy_xfs[sheet.cell_xf_index(r, c)] for r in range(sheet.nrows) for c in range(sheet.row_len(r))
                     if sheet.cell_xf_index(r, c) in legacy_xfs}
            if cells:
                found[sheet.name] = cells
            book.unload_sheet(index)
        return found
    finally:
        book.release_resources()


def html_may_name_fonts(lowered: bytes) -> bool:
    """Whether an HTML file, in lower case (`bytes.lower()`), names a legacy font anywhere. The caller lowers it:
    the same search with `re.I` takes 0.3 s over a 45 MB export, 20 times as long."""
    return _HTML_LEGACY_FONT.search(lowered) is not None


_HTML_LEGACY_FONT = re.compile(rb"(face|font-family)\s*[=:]\s*[\"']?\s*(\.vn|vni[- ])")


def html_cell_font(cell) -> str | None:
    """The legacy font an HTML cell is shown in: on it, inside it, or on its row or table."""
    for element in (*cell.iter(), *cell.iterancestors()):
        names = [element.get("face")] if element.tag == "font" else []
        names += _FONT_FAMILY.findall(element.get("style") or "")
        for name in names:
            if _is_legacy(name):
                return name.strip()
    return None
