"""The command line's words live in the catalog (`pipeline/messages/vi.toml`), and the code and the catalog agree:
every message the code says is there with exactly the names the code fills in, and every entry is said somewhere."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from pipeline.lib.messages import catalog, say, severity, severity_word

ROOT = Path(__file__).resolve().parents[1]
CODE = [ROOT / "pipeline", ROOT / "assets"]


def _calls() -> list[tuple[str, str, set[str] | None]]:
    """Each `say(…)` of the code: (where, its key or the constant start of a key built at run time, the names it
    fills in; None for a computed key)."""
    found = []
    for path in sorted(p for folder in CODE for p in folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "say":
                where, key = f"{path.relative_to(ROOT)}:{node.lineno}", node.args[0]
                names = {k.arg for k in node.keywords}
                for key in _branches(key):
                    if isinstance(key, ast.Constant):
                        found.append((where, key.value, names))
                    elif isinstance(key, ast.JoinedStr) and isinstance(key.values[0], ast.Constant):
                        found.append((where, key.values[0].value, None))
                    else:
                        found.append((where, "", None))
    return found


def _branches(key: ast.expr) -> list[ast.expr]:
    """The keys a `say("a" if … else "b" if … else "c", …)` may say."""
    return _branches(key.body) + _branches(key.orelse) if isinstance(key, ast.IfExp) else [key]


def _names(message: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(message) if name}


def test_every_message_the_code_says_is_in_the_catalog_with_the_names_it_fills_in():
    calls = _calls()
    assert calls, "no say(…) found: the scan is broken"
    for where, key, names in calls:
        if names is None:  # a key built at run time: its constant start must name entries
            assert key and any(entry.startswith(key) for entry in catalog()), where
            continue
        assert key in catalog(), f"{where}: no message {key!r} in the catalog"
        wanted = _names(catalog()[key])
        assert wanted == names, f"{where}: {key!r} fills in {sorted(names)}, the catalog names {sorted(wanted)}"


def test_every_entry_of_the_catalog_is_said_by_the_code():
    said = [(key, names) for _, key, names in _calls()]
    unused = [entry for entry in catalog()
              if not any(entry == key or (names is None and key and entry.startswith(key)) for key, names in said)]
    assert unused == []


def test_a_message_reads_as_the_catalog_words_it():
    assert say("check.total", files="4", refused="3") == "đã kiểm tra 4 tệp, 3 tệp có phần bị từ chối"
    assert [severity(level) for level in ("error", "warning", "info")] == ["LỖI      ", "CẢNH BÁO ", "THÔNG TIN"]
    assert [severity_word(level) for level in ("error", "warning", "info", "other")] == ["Lỗi", "Cảnh báo", "Thông tin", "other"]
    with pytest.raises(KeyError):
        say("check.no_such_key")
