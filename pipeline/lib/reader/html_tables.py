"""HTML tables saved with an `.xls` name (what web systems' "Xuất Excel" buttons produce): each `<table>` a sheet,
its `rowspan` and `colspan` placed, its width bounded."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

from pipeline.lib.reader.fonts import html_cell_font, html_may_name_fonts
from pipeline.lib.reader.sheets import MAX_COLUMNS, RawSheet, UnreadableFile


def read_html(path: Path) -> list[RawSheet]:
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
    lowered = text.lower()  # ASCII letters only: tags, attributes and font names are ASCII
    spans_left = lowered.count(b"colspan") + lowered.count(b"rowspan")  # at least the span attributes
    with_fonts = html_may_name_fonts(lowered)  # a legacy font named: each cell's font is looked up (the slow path)
    del lowered
    sheets = []
    for index, table in enumerate(tables, start=1):
        rows: list[list[Any]] = []
        fonts: dict[tuple[int, int], str] = {}
        covered: dict[int, int] = {}  # column -> last row a rowspan from a row above covers it
        nested = len(tables) > 1 and table.find(".//table") is not None  # `tables` holds nested ones too
        for r, tr in enumerate(table.xpath("./tr|./thead/tr|./tbody/tr|./tfoot/tr") if nested else table.iter("tr")):
            if spans_left <= 0 and not covered and not with_fonts:
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
                if with_fonts and (font := html_cell_font(cell)):
                    fonts[(r, len(row))] = font
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
        sheets.append(RawSheet.from_rows(f"table {index}", True, _padded(rows, width), fonts))
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


