"""Quarterly partitions keyed `YYYY-Qn`, from 2019-Q1 to the last finished quarter.

Dagster's time-window partitions cannot format a quarter as `2020-Q2`, so the keys are static and their
dates are derived from the key (`quarter_window`).
"""

from __future__ import annotations

import datetime as dt
import re

import dagster as dg

FIRST_QUARTER = "2019-Q1"
_KEY = re.compile(r"^(\d{4})-Q([1-4])$")


def parse_quarter(key: str) -> tuple[int, int]:
    match = _KEY.match(key)
    if not match:
        raise ValueError(f"not a quarter key (YYYY-Qn, e.g. 2020-Q2): {key!r}")
    return int(match[1]), int(match[2])


def quarter_window(key: str) -> tuple[dt.date, dt.date]:
    """First and last day of the quarter, both inclusive."""
    year, q = parse_quarter(key)
    first = dt.date(year, 3 * q - 2, 1)
    next_first = dt.date(year + 1, 1, 1) if q == 4 else dt.date(year, 3 * q + 1, 1)
    return first, next_first - dt.timedelta(days=1)


def quarter_of(day: dt.date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def previous_quarter(key: str) -> str:
    year, q = parse_quarter(key)
    return f"{year - 1}-Q4" if q == 1 else f"{year}-Q{q - 1}"


def last_finished_quarter(today: dt.date) -> str:
    return previous_quarter(quarter_of(today))


def quarter_keys(until: str) -> list[str]:
    keys, key = [], until
    while parse_quarter(key) >= parse_quarter(FIRST_QUARTER):
        keys.append(key)
        key = previous_quarter(key)
    return keys[::-1]


quarterly_partitions = dg.StaticPartitionsDefinition(quarter_keys(last_finished_quarter(dt.date.today())))
