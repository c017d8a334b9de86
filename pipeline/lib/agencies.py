"""Matching free-text agency names to the quarter's registry (rules of `shared/spec/exports.md`).

A name matches a registry agency when, after text normalization, it equals the official name or one of
its `Tên khác`, ignoring a leading `Ủy ban nhân dân`/`UBND` and reading `TP.`, `TX.`, `TT.`, `H.`, `P.`
at the start (or right after the prefix). The registry is the only source of names: none is written here.
"""

from __future__ import annotations

import re
from typing import Iterable

from pipeline.lib.text import text_key

_PREFIX = re.compile(r"^(ủy ban nhân dân|uỷ ban nhân dân|ubnd)\s+")
_ABBREVIATIONS = (
    (re.compile(r"^tp\.\s*"), "thành phố "),
    (re.compile(r"^tx\.\s*"), "thị xã "),
    (re.compile(r"^tt\.\s*"), "thị trấn "),
    (re.compile(r"^h\.\s*"), "huyện "),
    (re.compile(r"^p\.\s*"), "phường "),
)


def agency_key(name: str) -> str:
    """The key two names share exactly when the spec's rules make them the same agency."""
    key = _PREFIX.sub("", text_key(name))
    for pattern, expansion in _ABBREVIATIONS:
        key = pattern.sub(expansion, key)
    return " ".join(key.split())


def registry_keys(registry: Iterable[tuple[str, str, str | None]]) -> dict[str, set[str]]:
    """key -> registry codes, from (code, official name, `;`-separated other names)."""
    keys: dict[str, set[str]] = {}
    for code, name, aliases in registry:
        for variant in [name, *((aliases or "").split(";"))]:
            if variant and variant.strip():
                keys.setdefault(agency_key(variant), set()).add(code)
    return keys
