"""How the pipeline words things for the people who read its findings: in Vietnamese, with numbers, dates and
quarters written as a Vietnamese administrative document writes them, and every place named the same way.

Findings keep a stable English `check_id`; their `message` is for the data team and the auditors, so it is
written here in plain Vietnamese: where (file, sheet, row, cell), what was expected, what was found, what
was done.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

ROMAN = ["I", "II", "III", "IV"]
LONGEST_QUOTED = 80


def quarter_words(quarter: str) -> str:
    """`2020-Q2` -> `quý II năm 2020`."""
    from pipeline.orchestration.partitions import parse_quarter  # not at import: the reading children never load Dagster

    year, q = parse_quarter(quarter)
    return f"quý {ROMAN[q - 1]} năm {year}"


def edition_words(quarter: str, edition: dict) -> str:
    """The version an output is made from, as it prints: `số liệu phiên bản 2`, or for an amendment `số liệu
    phiên bản 3, sửa đổi phiên bản 2 đã ký (lý do: …)`."""
    if edition.get("version") is None:
        return f"số liệu {quarter_words(quarter)}, chưa có phiên bản"
    words = f"số liệu {quarter_words(quarter)}, phiên bản {edition['version']}"
    if edition.get("amendment_of"):
        words += f", sửa đổi phiên bản {edition['amendment_of']} đã ký (lý do: {edition['amend_reason']})"
    return words


def number(value: Any) -> str:
    """A count or a measure as Vietnamese writes it: 11.375 (thousands dot), 73,9 (decimal comma)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    whole, _, decimals = f"{value:,.6f}".rstrip("0").partition(".")
    return whole.replace(",", ".") + ("," + decimals if decimals else "")


def size(count: int) -> str:
    """A size in bytes as people read it: 512 byte, 16 KB, 1,5 MB, 4 GB."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if count >= scale:
            value = count / scale
            return f"{number(round(value, 1) if value < 10 else round(value))} {unit}"
    return f"{count} byte"


def round_half_up(value: float, decimals: int) -> float:
    """73.8526 -> 73.9 and 3.04502 -> 3.05 (Excel's own display rounding works on the binary value)."""
    return float(Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


def figure(value: float | None, unit: str, decimals: int = 0) -> str | None:
    """A published figure as the annex prints it: a count `1.626`, a rate rounded half-up `73,9%`; None for NULL."""
    if value is None:
        return None
    if unit == "percent":
        return f"{round_half_up(value, decimals):.{decimals}f}".replace(".", ",") + "%"
    return number(int(round(value)))


def date(value: dt.date) -> str:
    return f"{value:%d/%m/%Y}"


def quoted(value: Any) -> str:
    """A value as found in a file, between Vietnamese quotation marks: control characters shown escaped,
    a very long value cut (the finding names its cell, where the whole value is)."""
    if isinstance(value, str):
        text = value.encode("unicode_escape").decode("ascii") if not value.isprintable() else value
    elif isinstance(value, (dt.date, dt.datetime)):
        text = value.isoformat()
    else:
        text = number(value)
    if len(text) > LONGEST_QUOTED:
        text = text[: LONGEST_QUOTED - 1] + "…"
    return f"“{text}”"


def place(file: str | None = None, sheet: str | None = None, row: int | None = None, cell: str | None = None) -> str:
    """`tệp dvc/ho-so.xlsx, trang tính “Hồ sơ”, dòng 27, ô F27`: as much of the place as is known."""
    parts = []
    if file:
        parts.append(f"tệp {file}")
    if sheet:
        parts.append(f"trang tính {quoted(sheet)}")
    if row is not None and row == row:  # NaN from a frame is no row
        parts.append(f"dòng {int(row)}")
    if cell:
        parts.append(f"ô {cell}")
    return ", ".join(parts)


def located(message: str, file=None, sheet=None, row=None, cell=None) -> str:
    """The message of a finding as stored: its place first, so that it reads on its own anywhere."""
    where = place(file, sheet, row, cell)
    text = f"{where}: {message}" if where else message
    return text[:1].upper() + text[1:]


def places(first_rows, total: int) -> str:
    """The places of the first few of `total` rows, given as (file, sheet, row), and how many more there are."""
    first_rows = list(first_rows)
    more = total - len(first_rows)
    return "; ".join(place(f, s, r) for f, s, r in first_rows) + (f" và {number(more)} dòng khác" if more > 0 else "")
