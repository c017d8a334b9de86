"""The organization profile: who issues a province's report, per period of validity (`pipeline/profile/<province>.toml`,
or the folder or file ORGANIZATION_PROFILE names: `pipeline.lib.provinces`). Outputs read their header, place
and signer from here, never from code.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pipeline.lib.messages import say
from pipeline.lib.provinces import DEFAULT_NAME, PACKAGED_PROFILES, PROFILE_ENV, ProvinceError, default_province, profile_file
from pipeline.orchestration.partitions import quarter_window

DEFAULT_PROFILE = PACKAGED_PROFILES / f"{DEFAULT_NAME}.toml"
FIELDS = ("governing_body", "department", "department_name", "place", "signer_title", "recipients")
DEFAULT_REPORT_SYMBOL = "BC"  # the symbol of the report's number (`Số: …/BC-STTTT-VP`) when the profile gives none


class ProfileError(ValueError):
    """A profile that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Organization:
    valid_from: dt.date
    governing_body: str
    department: str
    department_name: str
    place: str
    signer_title: tuple[str, ...]
    recipients: tuple[str, ...]
    report_symbol: str = DEFAULT_REPORT_SYMBOL


def profile_path(province: str | None = None) -> Path:
    """The province's profile (the default province's when None)."""
    try:
        return profile_file(province or default_province())
    except ProvinceError as exc:
        raise ProfileError(str(exc)) from None


def load_profile(path: Path | None = None) -> list[Organization]:
    path = path or profile_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(say("profile.unreadable", path=path, variable=PROFILE_ENV, reason=exc.strerror or exc)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(say("profile.not_toml", path=path, reason=exc)) from None
    periods = []
    for n, entry in enumerate(data.get("period", []), start=1):
        missing = [f for f in ("valid_from", *FIELDS) if f not in entry]
        if missing or not isinstance(entry["valid_from"], dt.date):
            raise ProfileError(say("profile.period_missing", path=path, n=n, fields=", ".join(missing)) if missing
                               else say("profile.period_not_a_date", path=path, n=n))
        titles = entry["signer_title"]
        periods.append(Organization(entry["valid_from"], entry["governing_body"], entry["department"],
                                    entry["department_name"], entry["place"],
                                    tuple([titles] if isinstance(titles, str) else titles), tuple(entry["recipients"]),
                                    str(entry.get("report_symbol", DEFAULT_REPORT_SYMBOL))))
    if not periods:
        raise ProfileError(say("profile.no_period", path=path))
    return sorted(periods, key=lambda p: p.valid_from)


def organization_for(quarter: str, path: Path | None = None) -> Organization:
    """The entry in force on the quarter's last day (`path`: a province's profile, `profile_path(province)`)."""
    last_day = quarter_window(quarter)[1]
    valid = [p for p in load_profile(path) if p.valid_from <= last_day]
    if not valid:
        raise ProfileError(say("profile.none_in_force", path=path or profile_path(), day=last_day, quarter=quarter))
    return valid[-1]
