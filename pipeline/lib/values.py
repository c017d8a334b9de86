"""Typed parsing of the values agencies' exports hold, one explicit parser per column type.

Pandas' own inference reads the text "74.019" as 74.019 (a silent 1000x error in Vietnamese exports),
so every cell goes through the parser of its column's declared type instead. A parser returns the typed
value, or raises `ValueError` with a message fit for a finding.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Callable

from pipeline.lib.text import normalize_text, text_key
from pipeline.lib.wording import quoted

EXCEL_EPOCH = dt.date(1899, 12, 30)
_GROUPED = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$")
_PLAIN = re.compile(r"^[+-]?\d+(,\d+)?$")
_DATE_TEXT = re.compile(
    r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T].*)?$")
_YES = {"có", "x", "1", "true", "yes", "đã ký", "ký số"}
_NO = {"", "không", "0", "false", "no", "chưa ký"}


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value != value


def parse_text(value: Any) -> str | None:
    if is_blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return normalize_text(str(value)) or None


def parse_number(value: Any) -> float | None:
    """`1.626` -> 1626, `73,8` -> 73.8, `73,8%` -> 73.8 (the number as written, percent sign dropped)."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"cần một số, gặp {quoted(value)}")
    if isinstance(value, (int, float)):
        return float(value)
    text = normalize_text(str(value)).replace(" ", "").rstrip("%")
    if _GROUPED.match(text):
        return float(text.replace(".", "").replace(",", "."))
    if _PLAIN.match(text):
        return float(text.replace(",", "."))
    raise ValueError(f"{quoted(value)} không phải là số (số viết như 1.626 hoặc 73,8)")


def parse_integer(value: Any) -> int | None:
    number = parse_number(value)
    if number is None:
        return None
    if not float(number).is_integer():
        raise ValueError(f"cần một số nguyên, gặp {quoted(value)}")
    return int(number)


def parse_date(value: Any) -> dt.date | None:
    """Real dates, Excel serial numbers, `d/m/yyyy` text with an optional time. Day first, always."""
    if is_blank(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 1 <= value < 2958466:
            return EXCEL_EPOCH + dt.timedelta(days=int(value))
        raise ValueError(f"{quoted(value)} không phải là ngày (số ngày của Excel ngoài phạm vi)")
    text = normalize_text(str(value))
    try:
        if m := _DATE_TEXT.match(text):
            return dt.date(int(m[3]), int(m[2]), int(m[1]))
        if m := _ISO_DATE.match(text):
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        if re.fullmatch(r"\d+(\.0+)?", text):
            return parse_date(float(text))
    except ValueError:
        pass
    raise ValueError(f"{quoted(value)} không phải là ngày (ngày/tháng/năm)")


def parse_bool(value: Any) -> bool:
    """Yes/no columns: `Có`/`Không`, `x`/blank, `1`/`0`, `TRUE`/`FALSE`. Blank is no."""
    if isinstance(value, bool):
        return value
    if is_blank(value):
        return False
    if isinstance(value, (int, float)):
        if value in (0, 1):
            return bool(value)
        raise ValueError(f"{quoted(value)} không phải là giá trị có/không")
    key = text_key(str(value))
    if key in _YES:
        return True
    if key in _NO:
        return False
    raise ValueError(f"{quoted(value)} không phải là giá trị có/không")


def choice_parser(
    choices: dict[str, tuple[str, ...]], other: str | None = None
) -> Callable[[Any], str | None]:
    """A parser for a fixed-value column: maps every variant (normalized) to its canonical code."""
    lookup = {text_key(variant): code for code, variants in choices.items() for variant in variants}

    def parse(value: Any) -> str | None:
        if is_blank(value):
            return None
        code = lookup.get(text_key(str(value)))
        if code is None and other is not None:
            return other
        if code is None:
            allowed = ", ".join(v[0] for v in choices.values())
            raise ValueError(f"{quoted(value)} không thuộc các giá trị cho phép ({allowed})")
        return code

    return parse


def parse_code(value: Any) -> str | None:
    """Identifiers such as `1.004227`: kept as text. A cell Excel stored as a number is written back
    without a thousands reading (the code is an identifier, not a quantity)."""
    if is_blank(value):
        return None
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else str(int(value))
    return normalize_text(str(value))


PARSERS: dict[str, Callable[[Any], Any]] = {
    "text": parse_text,
    "code": parse_code,
    "integer": parse_integer,
    "number": parse_number,
    "date": parse_date,
    "bool": parse_bool,
}

DUCKDB_TYPES = {
    "text": "VARCHAR",
    "code": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "date": "DATE",
    "bool": "BOOLEAN",
    "choice": "VARCHAR",
}
