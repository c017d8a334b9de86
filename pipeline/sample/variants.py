"""The variations `shared/spec/exports.md` allows, one per rule, as data: each takes an export file in its plain
form (an .xlsx named .xlsx, header in row 1, real dates and numbers, canonical text) and writes it the way
the rule says an agency's file may look. The conformance tests read both through the real reader and
compare; the sample generator writes a whole quarter in one variant (`python -m pipeline sample --variant`).

Each variant quotes the phrase of the spec it follows. Where the spec allows two readings, `reading` says in
one line which one the project chose.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, replace
from typing import Any, Callable

from pipeline.lib import legacy
from pipeline.lib.tablespecs import TABLES, TableSpec
from pipeline.lib.text import text_key
from pipeline.sample.writers import Sheet

EXCEL_EPOCH = dt.date(1899, 12, 30)


@dataclass
class ExportFile:
    """One file to write: its name (the extension is only a name), the format of its bytes, its sheets."""

    name: str
    fmt: str  # xlsx | xls | html
    sheets: list[Sheet]


@dataclass(frozen=True)
class Variant:
    id: str
    rule: str  # the phrase of exports.md this variant follows
    make: Callable[[ExportFile], list[ExportFile]]
    reading: str = ""  # where the spec allows two readings: the one the project chose

    def __call__(self, export: ExportFile) -> list[ExportFile]:
        return self.make(export)


def spec_of(sheet: Sheet) -> TableSpec | None:
    """The table a plain sheet holds, from its header labels."""
    labels = {text_key(h) for h in sheet.headers}
    for spec in TABLES:
        if spec.header_rows == 1 and all(text_key(c.labels[0]) in labels for c in spec.required):
            return spec
    return None


def _column_types(sheet: Sheet) -> list[str | None]:
    spec = spec_of(sheet)
    by_label = {text_key(c.labels[0]): c for c in spec.columns} if spec else {}
    return [("agency" if by_label[text_key(h)].agency else by_label[text_key(h)].type) if text_key(h) in by_label else None
            for h in sheet.headers]


def _each_sheet(change: Callable[[Sheet], Sheet]) -> Callable[[ExportFile], list[ExportFile]]:
    def make(export: ExportFile) -> list[ExportFile]:
        return [replace(export, sheets=[change(s) if s.free_text is None and s.two_row_header is None else s
                                        for s in export.sheets])]
    return make


def _values(types: tuple[str, ...], change: Callable[[Any, int], Any]) -> Callable[[ExportFile], list[ExportFile]]:
    """Every cell of the columns of `types` changed by `change(value, row number)`; blanks stay blank."""
    def sheet(s: Sheet) -> Sheet:
        kinds = _column_types(s)
        rows = [[change(v, n) if kinds[c] in types and v not in (None, "") else v for c, v in enumerate(row)]
                for n, row in enumerate(s.rows)]
        return replace(s, rows=rows)
    return _each_sheet(sheet)


def _headers(change: Callable[[str], str]) -> Callable[[ExportFile], list[ExportFile]]:
    return _each_sheet(lambda s: replace(s, headers=[change(h) for h in s.headers]))


def _format(fmt: str, extension: str) -> Callable[[ExportFile], list[ExportFile]]:
    def make(export: ExportFile) -> list[ExportFile]:
        stem = export.name.rsplit(".", 1)[0]
        return [replace(export, fmt=fmt, name=f"{stem}.{extension}")]
    return make


def _columns(order: Callable[[list[int]], list[int]], extra: bool = False):
    def sheet(s: Sheet) -> Sheet:
        index = order(list(range(len(s.headers))))
        headers, rows = [s.headers[i] for i in index], [[r[i] if i < len(r) else None for i in index] for r in s.rows]
        if extra:  # an STT column first and a remark column last, as agencies add them
            headers = ["STT"] + headers + ["Ghi chú"]
            rows = [[n + 1] + r + ["đã kiểm tra"] for n, r in enumerate(rows)]
        return replace(s, headers=headers, rows=rows)
    return _each_sheet(sheet)


def _total(marker: str, where: str, others: str):
    """A total row after the data: `marker` in the first cell or the name cell, numbers or text elsewhere."""
    def sheet(s: Sheet) -> Sheet:
        kinds = _column_types(s)
        name = next((c for c, k in enumerate(kinds) if k in ("agency", "text") and c > 0), 0)
        column = 0 if where == "first" else name
        row = [len(s.rows) if others == "numbers" else "19 điểm cầu" for _ in s.headers]
        row[column] = marker
        return replace(s, total_row=row)
    return _each_sheet(sheet)


def _title(lines: int):
    block = ["UBND TỈNH TRÀ VINH", "SỞ THÔNG TIN VÀ TRUYỀN THÔNG", "", "BÁO CÁO XUẤT DỮ LIỆU",
             "Từ ngày 01/04/2020 đến ngày 30/06/2020", "", "Đơn vị: Sở Thông tin và Truyền thông", "Người xuất: admin",
             "Thời gian xuất: 03/07/2020 08:30", ""]
    return _each_sheet(lambda s: replace(s, title=block[:lines]))


def _split(into: str, reverse: bool):
    """The rows in two halves: two sheets of one workbook or two files, in either order."""
    def make(export: ExportFile) -> list[ExportFile]:
        table = next((s for s in export.sheets if s.free_text is None and s.two_row_header is None), None)
        if table is None:
            return [export]
        half = len(table.rows) // 2
        parts = [replace(table, name=f"{table.name} (1)", rows=table.rows[:half]),
                 replace(table, name=f"{table.name} (2)", rows=table.rows[half:])]
        if reverse:
            parts.reverse()
        others = [s for s in export.sheets if s is not table]
        if into == "sheets":
            return [replace(export, sheets=others + parts)]
        stem, extension = export.name.rsplit(".", 1)
        return [replace(export, name=f"{stem} {n}.{extension}", sheets=(others if n == "a" else []) + [p])
                for n, p in zip("ab", parts)]  # files are read in name order: `a` holds the later rows when reversed
    return make


def _extra_sheets(kind: str):
    def make(export: ExportFile) -> list[ExportFile]:
        extra = {"instructions": Sheet("Hướng dẫn", [], [], free_text=["Hướng dẫn nhập liệu", "Cột Ngày: ngày/tháng/năm"]),
                 "hidden": Sheet("Dữ liệu ẩn", [], [], hidden=True, free_text=["Tỉnh", "Huyện", "Xã"]),
                 "empty": Sheet("Sheet3", [], [], free_text=[])}[kind]
        return [replace(export, sheets=[extra] + export.sheets if kind == "instructions" else export.sheets + [extra])]
    return make


def _date_text(pattern: str):
    return lambda v, n: pattern.format(d=v, day=v.day, month=v.month, year=v.year) if isinstance(v, dt.date) else v


def _nfd(text: Any) -> Any:
    return unicodedata.normalize("NFD", text) if isinstance(text, str) else text


def _old_tones(text: Any) -> Any:
    """`Ủy` as `Uỷ`, `hòa` as `hoà`: the tone mark on the second vowel of oa, oe, uy."""
    if not isinstance(text, str):
        return text
    for new, old in (("òa", "oà"), ("óa", "oá"), ("ỏa", "oả"), ("õa", "oã"), ("ọa", "oạ"), ("ùy", "uỳ"), ("úy", "uý"),
                     ("ủy", "uỷ"), ("ũy", "uỹ"), ("ụy", "uỵ"), ("Ủy", "Uỷ"), ("òe", "oè"), ("óe", "oé")):
        text = text.replace(new, old)
    return text


def _legacy_text(value: Any, encoding: str) -> Any:
    """Text as an agency's old template holds it in a legacy font: the tone where such templates put it (`Uỷ`), and
    a capital with a tone, which TCVN3's ordinary fonts lack, typed small (the capitals-only fonts are for titles)."""
    if not isinstance(value, str) or value.isascii():
        return value
    text = _old_tones(unicodedata.normalize("NFC", value))
    return legacy.encode("".join(ch if legacy.encodable(ch, encoding) else ch.lower() for ch in text), encoding)


def _legacy(encoding: str, fmt: str, data: bool = True) -> Callable[[ExportFile], list[ExportFile]]:
    """Every text of the export in a legacy encoding (the title in the capitals-only font, for TCVN3), as `fmt`;
    with `data` False the title and the header only, over Unicode data."""
    title_encoding = legacy.TCVN3_CAPITALS if encoding == legacy.TCVN3 else encoding

    def sheet(s: Sheet) -> Sheet:
        if s.free_text is not None:
            return s
        text = (lambda v: _legacy_text(v, encoding)) if data else (lambda v: v)
        return replace(s, title=[legacy.encode(line, title_encoding) for line in (s.title or [s.name.upper()])],
                       headers=[_legacy_text(h, encoding) for h in s.headers],
                       two_row_header=[(_legacy_text(p, encoding), [_legacy_text(c, encoding) for c in children])
                                       for p, children in s.two_row_header] if s.two_row_header else None,
                       rows=[[text(v) for v in row] for row in s.rows],
                       total_row=[text(v) for v in s.total_row] if s.total_row else s.total_row)

    def make(export: ExportFile) -> list[ExportFile]:
        stem = export.name.rsplit(".", 1)[0]
        return [ExportFile(f"{stem}.{'xlsx' if fmt == 'xlsx' else 'xls'}", fmt, [sheet(s) for s in export.sheets])]
    return make


LEGACY = "Text in a legacy 8-bit Vietnamese encoding, typed with its font"
LEGACY_ENCODINGS = {"tcvn3": (legacy.TCVN3, "TCVN3 (ABC; fonts `.VnTime`, `.VnArial`, and the capitals-only `.VnTimeH`)"),
                    "vni": (legacy.VNI, "VNI-Windows (fonts `VNI-Times`, `VNI-Helve`, …)")}
FORMAT_NAMES = {"xlsx": ".xlsx", "xls": "legacy .xls", "html": "an HTML table saved as .xls"}


def _spaces(text: Any) -> Any:
    return f" \u00a0{text.replace(' ', '  ')}\u00a0 " if isinstance(text, str) else text


BOOL_FORMS = {"có/không": ("Có", "Không"), "x/blank": ("x", None), "1/0": (1, 0), "TRUE/FALSE text": ("TRUE", "FALSE"),
              "TRUE/FALSE cells": (True, False)}
NUMBER_FORMS = {"text with separators": lambda v, n: f"{int(v):,}".replace(",", ".") if isinstance(v, (int, float)) else v,
                "plain text": lambda v, n: str(v) if isinstance(v, (int, float)) else v,
                "real number with a decimal zero": lambda v, n: float(v) if isinstance(v, int) else v}
DATE_FORMS = {
    "Excel serial numbers": lambda v, n: (v - EXCEL_EPOCH).days if isinstance(v, dt.date) else v,
    "text dd/mm/yyyy": _date_text("{d:%d/%m/%Y}"),
    "text d/m/yyyy": _date_text("{day}/{month}/{year}"),
    "text dd/mm/yyyy HH:MM": _date_text("{d:%d/%m/%Y} 08:30"),
    "text dd/mm/yyyy HH:MM:SS": _date_text("{d:%d/%m/%Y} 16:05:59"),
    "real dates with a time": lambda v, n: dt.datetime(v.year, v.month, v.day, 14, 45) if isinstance(v, dt.date) else v,
}
TOTAL_MARKERS = ("Tổng cộng", "Tổng", "Cộng")
SIGNATURE_BLOCKS = {
    "usual": True,
    "another place and a deputy": [[], ["Vĩnh Long, ngày 03 tháng 7 năm 2025"], ["Người lập biểu", "", "KT. GIÁM ĐỐC"],
                                   ["", "", "PHÓ GIÁM ĐỐC"], [], ["Lê Văn Tám", "", "Nguyễn Thị Hoa"]],
}

FORMAT = "The format is detected from the bytes, not the extension"
VARIANTS: list[Variant] = [
    *[Variant(f"{fmt}-named-{extension}", f"{FORMAT}: {label} named .{extension}", _format(fmt, extension))
      for fmt, label in (("xlsx", ".xlsx"), ("xls", "legacy .xls (BIFF8)"), ("html", "an HTML <table>"))
      for extension in ("xlsx", "xls", "html") if (fmt, extension) != ("xlsx", "xlsx")],
    *[Variant(f"title-{n}", f"A title block of 0–10 rows above the header, possibly merged cells: {n} rows", _title(n),
              reading="the header is searched in the first 15 rows: a title block longer than that is not an export's")
      for n in (1, 2, 5, 10)],
    Variant("header-case", "Labels match after Unicode NFC, case folding, …: upper case", _headers(str.upper)),
    Variant("header-nfd", "Labels match after Unicode NFC, …: labels in NFD", _headers(_nfd)),
    Variant("header-spaces", "Labels match after … trimming and collapsing white space: padded, doubled, non-breaking",
            _headers(_spaces)),
    Variant("header-line-breaks", "Labels match after … collapsing white space (line breaks in header cells included)",
            _headers(lambda h: h.replace(" ", "\n", 1))),
    Variant("header-old-tones", "Text: … both tone-mark placements (every text comparison, labels included)",
            _headers(_old_tones)),
    Variant("column-numbers-parenthesized", "Right below the header there may be a column-number row: (1) (2) (3) …",
            _each_sheet(lambda s: replace(s, column_numbers=True))),
    Variant("column-numbers-plain", "Right below the header there may be a column-number row: … or 1 2 3 …",
            _each_sheet(lambda s: replace(s, column_numbers=lambda c: c + 1)),
            reading="a row below the header is column numbers only when its numbers run 1, 2, 3 … in order"),
    Variant("columns-reversed", "Columns may come in any order", _columns(lambda i: i[::-1])),
    Variant("columns-rotated", "Columns may come in any order", _columns(lambda i: i[2:] + i[:2])),
    Variant("columns-extra", "… and extra columns may be present", _columns(lambda i: i, extra=True)),
    *[Variant(f"total-{n}-{case}-in-{where}-cell-{others}",
              f"After the data there may be a total row (first cell or the name cell reads `Tổng cộng`, `Tổng`, `Cộng`): "
              f"“{shown}” in the {where} cell, {others} elsewhere",
              _total(shown, where, others),
              reading="a total marker ends the table whatever the row's other cells hold; the name cells are every "
                      "agency or free-text column, and the whole cell must read the marker (`Tổng công ty` is data)")
      for n, marker in enumerate(TOTAL_MARKERS, start=1)
      for case, shown in (("as-written", marker), ("upper", marker.upper()), ("lower", marker.lower()), ("nfd", _nfd(marker)))
      for where in ("first", "name") for others in ("numbers", "text")],
    Variant("blank-rows-after", "After the data there may be … blank rows",
            _each_sheet(lambda s: replace(s, rows=s.rows + [[None] * len(s.headers)] * 3))),
    *[Variant(f"signature-{name}".replace(" ", "-"),
              "After the data there may be … a signature block (`Người lập biểu`, `Trà Vinh, ngày … tháng … năm …`, "
              f"`GIÁM ĐỐC`, names): {name}",
              _each_sheet(lambda s, block=block: replace(s, signature=block)),
              reading="a row is the signature block only if it lacks a required value: a complete row is data "
                      "whatever it says; the date line is any place name, not only Trà Vinh")
      for name, block in SIGNATURE_BLOCKS.items()],
    Variant("total-blank-signature", "After the data there may be a total row, blank rows, and a signature block",
            _each_sheet(lambda s: replace(_total("Tổng cộng", "name", "numbers")(ExportFile("", "", [s]))[0].sheets[0],
                                          signature=True))),
    *[Variant(f"numbers-{name}".replace(" ", "-"),
              f"Numbers: real numbers, or text with Vietnamese separators: `1.626` is one thousand …: {name}",
              _values(("integer", "number"), change),
              reading="a text `1.626` is 1626 but a real number 1.626 stays 1.626; a text `1,626` is 1.626")
      for name, change in NUMBER_FORMS.items()],
    *[Variant(f"dates-{name}".replace(" ", "-").replace("/", ""),
              f"Dates: real dates, Excel serial numbers, or text `dd/mm/yyyy` (also `d/m/yyyy`, and with a time "
              f"`dd/mm/yyyy HH:MM[:SS]`). Day first, always: {name}",
              _values(("date",), change),
              reading="day first even where both readings are dates (03/04/2020 is 3 April); a time is dropped")
      for name, change in DATE_FORMS.items()],
    Variant("text-nfd", "Text: NFC or NFD Unicode", _values(("text", "agency", "choice"), lambda v, n: _nfd(v))),
    Variant("text-spaces", "Text: … non-breaking and repeated spaces", _values(("text", "agency", "choice"), lambda v, n: _spaces(v))),
    Variant("text-old-tones", "Text: … both tone-mark placements (`Ủy`/`Uỷ`, `hòa`/`hoà`, `thủy`/`thuỷ`)",
            _values(("text", "agency", "choice"), lambda v, n: _old_tones(v))),
    Variant("text-case-of-fixed-values", "Every text comparison (… fixed values such as statuses, forms, channels, "
            "categories) is made after … case folding", _values(("choice", "level"), lambda v, n: str(v).upper())),
    *[Variant(f"yes-no-{name}".replace(" ", "-").replace("/", "-"), f"Yes/no columns: `Có`/`Không`, `x`/blank, `1`/`0`, "
              f"`TRUE`/`FALSE`: {name}", _values(("bool",), lambda v, n, yes=yes, no=no: yes if v == "Có" else no),
              reading="blank is no; any case of the yes and no words")
      for name, (yes, no) in BOOL_FORMS.items()],
    Variant("sheet-instructions", "Sheets that match no table (instructions, …) are ignored and listed as info findings",
            _extra_sheets("instructions")),
    Variant("sheet-hidden-helper", "Sheets that match no table (… hidden helper sheets, …) are ignored", _extra_sheets("hidden"),
            reading="a hidden sheet that holds a table's header is read like any other: hiding is not deleting"),
    Variant("sheet-empty", "Sheets that match no table (… empty sheets) are ignored", _extra_sheets("empty")),
    *[Variant(f"legacy-{name}-{fmt}", f"{LEGACY} … {label}: any text cell (a header, an agency name, a status) …, "
              f"in {FORMAT_NAMES[fmt]}", _legacy(encoding, fmt),
              reading="without the font recorded, the text is legacy when its words read as Vietnamese only once decoded")
      for name, (encoding, label) in LEGACY_ENCODINGS.items() for fmt in FORMAT_NAMES],
    *[Variant(f"legacy-{name}-title-and-header-{fmt}", f"{LEGACY} … {label}: one sheet may mix them with Unicode "
              f"(a legacy title and header over Unicode data), in {FORMAT_NAMES[fmt]}", _legacy(encoding, fmt, data=False))
      for name, (encoding, label) in LEGACY_ENCODINGS.items() for fmt in FORMAT_NAMES],
    *[Variant(f"split-{into}-{order}".replace(" ", "-"), f"One table may be split over several files or sheets: {into}, {order}",
              _split(into, order == "later first"))
      for into in ("sheets", "files") for order in ("in order", "later first")],
]
VARIANTS_BY_ID = {v.id: v for v in VARIANTS}


def compose(*ids: str) -> Variant:
    """Several variants at once, applied in order (for end-to-end runs on a whole quarter)."""
    chosen = [VARIANTS_BY_ID[i] for i in ids]

    def make(export: ExportFile) -> list[ExportFile]:
        files = [export]
        for variant in chosen:
            files = [out for f in files for out in variant(f)]
        return files
    return Variant("+".join(ids), " + ".join(v.rule for v in chosen), make)
assert len(VARIANTS_BY_ID) == len(VARIANTS), "variant ids are unique"
