"""What the command line says, worded in a catalog people can edit (`pipeline/messages/vi.toml`), not in the code.

The data team and the auditors read Vietnamese. The code names a message by its key and fills in its `{names}`:
`say("check.sheet_read", sheet=…, table=…, title=…, rows=…)`. `tests/test_messages.py` keeps the two in step: every
key the code says is in the catalog with exactly the names the code fills in, and every entry of the catalog is said.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

CATALOG = Path(__file__).resolve().parents[1] / "messages" / "vi.toml"


@cache
def catalog() -> dict[str, str]:
    """Every message by its dotted key (`check.sheet_read`)."""
    with CATALOG.open("rb") as handle:
        return dict(_flat(tomllib.load(handle)))


def _flat(table: dict, prefix: str = ""):
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def say(key: str, /, **values) -> str:
    """The message `key` with its names filled in."""
    return catalog()[key].format(**values)


SEVERITIES = ("error", "warning", "info")


def severity_word(level: str) -> str:
    """A finding's severity (`error`, `warning`, `info`) in words, as the annex writes it (`Cảnh báo`); an unknown
    one as it is."""
    return say(f"severity.{level}") if level in SEVERITIES else level


def severity(level: str) -> str:
    """A finding's severity as the command line shows it: in capitals, padded to line up (`CẢNH BÁO `)."""
    width = max(len(severity_word(name)) for name in SEVERITIES)
    return severity_word(level).upper().ljust(width)
