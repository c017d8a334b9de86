"""Partitions: province × quarter. Quarters are keyed `YYYY-Qn`, from 2019-Q1 to the last finished quarter;
provinces are the configured profiles (`pipeline.lib.provinces`). With two provinces or more, a partition's key
is Dagster's multi-partition key `<province>|<quarter>` (dimensions in name order), e.g. `ben-tre|2020-Q2`.
With one province, the province dimension has one value and is left out: keys stay `2020-Q2`, so a
single-province install keeps its commands (the contract command's `--partition 2020-Q2`) and its run history.

Dagster's time-window partitions cannot format a quarter as `2020-Q2`, so the keys are static and their
dates are derived from the key (`quarter_window`). Static keys keep the contract command working on a
fresh DAGSTER_HOME (dynamic keys would first have to be added to the instance). They are computed when
the code location loads: up to the last finished quarter, or further up to a quarter that has already
begun and has a folder under `raw/` (exports sent early). A long-running `dagster dev` learns new
quarters through `pipeline.orchestration.code_reload`, which the new-export sensor triggers.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

from pipeline.lib.messages import say
from pipeline.lib.provinces import default_province, place, profiles, province_names

FIRST_QUARTER = "2019-Q1"
TIMEZONE = "Asia/Ho_Chi_Minh"
_KEY = re.compile(r"^(\d{4})-Q([1-4])$")


def parse_quarter(key: str) -> tuple[int, int]:
    match = _KEY.match(key)
    if not match:
        raise ValueError(say("quarter.not_a_key", key=key))
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


def wanted_partition_keys(today: dt.date, *raw_dirs: Path) -> list[str]:
    """2019-Q1 to the last finished quarter, extended to any begun quarter whose exports already arrived (in
    any province's landing zone). A folder for a quarter that has not begun yet is not a partition (the sensor
    says so)."""
    current = parse_quarter(quarter_of(today))
    begun = [q for raw_dir in raw_dirs for q in quarters_with_exports(raw_dir) if parse_quarter(q) <= current]
    return quarter_keys(max([last_finished_quarter(today), *begun], key=parse_quarter))


def unknown_province_folders(raw_root: Path) -> list[Path]:
    """Folders under the landing zone that hold quarter folders but are no configured province: their exports
    would otherwise be read by nobody."""
    if not raw_root.is_dir():
        return []
    known = set(profiles())
    return [p for p in sorted(raw_root.iterdir())
            if p.is_dir() and not _KEY.match(p.name) and p.name not in known and quarters_with_exports(p)]


def all_raw_dirs() -> list[Path]:
    return [place(p).raw_dir for p in province_names()]


def by_province() -> bool:
    """Whether partitions have a province dimension (two provinces or more are configured)."""
    return len(province_names()) > 1


def partition_key(province: str, quarter: str) -> str:
    """The partition's key as Dagster takes it (`--partition`, run requests, the tag `dagster/partition`)."""
    return str(dg.MultiPartitionKey({"province": province, "quarter": quarter})) if by_province() else quarter


def partition_tags(province: str, quarter: str) -> dict[str, str]:
    """The tags Dagster gives a run of a multi-partition (`dagster job execute --tags` does not add them)."""
    if not by_province():
        return {}
    return {"dagster/partition/province": province, "dagster/partition/quarter": quarter}


def split_key(key: str) -> tuple[str, str]:
    """(province, quarter) of a partition key, multi-dimensional or a quarter alone (the only province's)."""
    if isinstance(key, dg.MultiPartitionKey):
        return key.keys_by_dimension["province"], key.keys_by_dimension["quarter"]
    if "|" in key:
        province, quarter = key.split("|", 1)
        return province, quarter
    return default_province(), key


def partition_of(context) -> tuple[str, str]:
    """(province, quarter) of the step's partition."""
    return split_key(context.partition_key)


def _report_partitions() -> dg.PartitionsDefinition:
    quarters = dg.StaticPartitionsDefinition(wanted_partition_keys(province_today(), *all_raw_dirs()))
    if not by_province():
        return quarters
    return dg.MultiPartitionsDefinition({"province": dg.StaticPartitionsDefinition(province_names()), "quarter": quarters})


report_partitions = _report_partitions()


def loaded_quarters() -> list[str]:
    """The quarters the loaded code location has as partitions."""
    if isinstance(report_partitions, dg.MultiPartitionsDefinition):
        return report_partitions.get_partitions_def_for_dimension("quarter").get_partition_keys()
    return report_partitions.get_partition_keys()
