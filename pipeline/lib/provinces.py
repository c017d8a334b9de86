"""Provinces: which units the pipeline reports for, and where each one's files, warehouse and outputs are.

A province is a profile: `pipeline/profile/<name>.toml`, or `<name>.toml` in the folder ORGANIZATION_PROFILE
names (when ORGANIZATION_PROFILE names one file, that file is the default province's profile and the only one).
The default province (DEFAULT_PROVINCE, `tra-vinh`) keeps the single-province layout: its exports in
`RAW_DIR/<quarter>/`, its working warehouse at WAREHOUSE_PATH, its outputs in OUTPUTS_DIR. Every other province
has a folder of its own in each place: `RAW_DIR/<name>/<quarter>/`, `<warehouse dir>/provinces/<name>/`
(working file, versioned lake, archive) and `OUTPUTS_DIR/<name>/`. A province is one tenant: nothing of it is read by another.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.lib.messages import say

PACKAGED_PROFILES = Path(__file__).resolve().parents[1] / "profile"
PROFILE_ENV = "ORGANIZATION_PROFILE"
DEFAULT_ENV = "DEFAULT_PROVINCE"
DEFAULT_NAME = "tra-vinh"
DEFAULT_RAW_DIR = "raw"
DEFAULT_WAREHOUSE_PATH = "warehouse/warehouse.duckdb"
PROVINCES_FOLDER = "provinces"
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")


class ProvinceError(ValueError):
    """A province that is not configured, or a profile folder that cannot be read; the message says what to fix."""


def default_province() -> str:
    """DEFAULT_PROVINCE, else the only configured province, else `tra-vinh`."""
    if os.environ.get(DEFAULT_ENV):
        return os.environ[DEFAULT_ENV]
    try:
        found = profiles()
    except ProvinceError:
        return DEFAULT_NAME
    return next(iter(found)) if len(found) == 1 else DEFAULT_NAME


def profile_setting() -> Path:
    return Path(os.environ.get(PROFILE_ENV) or PACKAGED_PROFILES)


def profiles() -> dict[str, Path]:
    """Every configured province and its profile file, by name."""
    setting = profile_setting()
    if setting.suffix == ".toml" or setting.is_file():
        return {os.environ.get(DEFAULT_ENV) or DEFAULT_NAME: setting}
    if not setting.is_dir():
        raise ProvinceError(say("profile.neither_file_nor_folder", variable=PROFILE_ENV, setting=setting))
    found = {p.stem: p for p in sorted(setting.glob("*.toml"))}
    bad = [name for name in found if not _NAME.match(name)]
    if bad:
        raise ProvinceError(say("profile.bad_name", path=found[bad[0]]))
    return found


def province_names() -> list[str]:
    """The configured provinces, the default one first."""
    names = sorted(profiles())
    default = default_province()
    return [default, *(n for n in names if n != default)] if default in names else names


def profile_file(province: str) -> Path:
    found = profiles()
    if province not in found:
        raise ProvinceError(say("profile.no_province", province=province, path=profile_setting() / (province + ".toml"),
                                configured=", ".join(sorted(found)) or say("profile.none_configured")))
    return found[province]


def require(province: str | None) -> str:
    """The province asked for (the default one when None), when it has a profile."""
    name = province or default_province()
    profile_file(name)
    return name


def landing_zone() -> Path:
    """RAW_DIR: the landing zone's root (the default province's own folder)."""
    return Path(os.environ.get("RAW_DIR") or DEFAULT_RAW_DIR)


def warehouse_path() -> str:
    """WAREHOUSE_PATH: the default province's working file, beside which the other provinces' folders go."""
    return os.environ.get("WAREHOUSE_PATH") or DEFAULT_WAREHOUSE_PATH


def outputs_dir(warehouse: str | Path | None = None) -> str:
    """OUTPUTS_DIR, else `outputs/` beside the (default province's) warehouse."""
    return os.environ.get("OUTPUTS_DIR") or str(Path(warehouse or warehouse_path()).parent / "outputs")


@dataclass(frozen=True)
class Place:
    """Where one province's files are: its landing zone, working warehouse and outputs."""

    province: str
    raw_dir: Path
    warehouse: Path
    outputs_dir: Path

    @property
    def is_default(self) -> bool:
        return self.province == default_province()


def place(province: str | None = None, *, raw_root: str | Path | None = None, warehouse: str | Path | None = None,
          outputs: str | Path | None = None) -> Place:
    """The province's folders, from the settings (RAW_DIR, WAREHOUSE_PATH, OUTPUTS_DIR) or the roots given."""
    name = province or default_province()
    raw = Path(raw_root or landing_zone())
    default_warehouse = Path(warehouse or warehouse_path())
    outputs = Path(outputs or outputs_dir(default_warehouse))
    if name == default_province():
        return Place(name, raw, default_warehouse, outputs)
    return Place(name, raw / name, default_warehouse.parent / PROVINCES_FOLDER / name / default_warehouse.name,
                 outputs / name)


def quarter_label(province: str, quarter: str) -> str:
    """The quarter as the default province's people always saw it, or `quarter (province)` for the others."""
    return quarter if province == default_province() else f"{quarter} ({province})"


def province_of_warehouse(warehouse: str | Path) -> str:
    """The province whose working warehouse this is (the inverse of `place(...).warehouse`)."""
    parent = Path(warehouse).resolve().parent
    return parent.name if parent.parent.name == PROVINCES_FOLDER else default_province()


def unknown_folder_message(folder: Path) -> str:
    return say("profile.not_a_province", folder=folder, name=folder.name, path=profile_setting() / (folder.name + ".toml"))
