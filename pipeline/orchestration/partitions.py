"""Quarterly partitions keyed `YYYY-Qn`, from 2019-Q1 to the last finished quarter.

Dagster's time-window partitions cannot format a quarter as `2020-Q2`, so the keys are static and their
dates are derived from the key (`quarter_window`). Static keys keep the contract command working on a
fresh DAGSTER_HOME (dynamic keys would first have to be added to the instance). They are computed when
the code location loads: up to the last finished quarter, or further up to a quarter that has already
begun and has a folder under `raw/` (exports sent early). A long-running `dagster dev` learns new
quarters through `pipeline.orchestration.code_reload`, which the new-export sensor triggers.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

from pipeline.orchestration.resources import DEFAULT_RAW_DIR

FIRST_QUARTER = "2019-Q1"
TIMEZONE = "Asia/Ho_Chi_Minh"
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


def province_today() -> dt.date:
    """Today's date in Trà Vinh: quarters end at midnight local time, not UTC."""
    return dt.datetime.now(ZoneInfo(TIMEZONE)).date()


def quarters_with_exports(raw_dir: Path) -> list[str]:
    """Quarter folders under the landing zone (other names are left to the manifest to report)."""
    if not raw_dir.is_dir():
        return []
    return sorted((p.name for p in raw_dir.iterdir() if p.is_dir() and _KEY.match(p.name)), key=parse_quarter)


def wanted_partition_keys(today: dt.date, raw_dir: Path) -> list[str]:
    """2019-Q1 to the last finished quarter, extended to any begun quarter whose exports already arrived.
    A folder for a quarter that has not begun yet is not a partition (the sensor says so)."""
    current = parse_quarter(quarter_of(today))
    begun = [q for q in quarters_with_exports(raw_dir) if parse_quarter(q) <= current]
    return quarter_keys(max([last_finished_quarter(today), *begun], key=parse_quarter))


quarterly_partitions = dg.StaticPartitionsDefinition(
    wanted_partition_keys(province_today(), Path(os.environ.get("RAW_DIR", DEFAULT_RAW_DIR))))
