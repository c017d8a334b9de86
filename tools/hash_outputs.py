"""Hash what users see of a warehouse, to show that a change of the internals changed none of it (issue 18).

    python tools/hash_outputs.py WAREHOUSE [OUTPUTS_DIR] [--without-version-lines] > hashes.json
    python tools/hash_outputs.py --compare before.json after.json

One sha256 per warehouse table (its rows sorted, every column but the internal ones below), per annex sheet
(every cell's value) and per report draft (paragraphs, tables and comments' text). `versions` and the history
tables' run ids and times differ on every run, so they are left out; provenance columns that exist only on
one side of a change (`_raw`, `raw_id`) are dropped before hashing. `--without-version-lines` leaves out the line
naming the version an output is made from (issue 26: under each annex sheet's title, under the draft's title), to
compare outputs of code from before that line with outputs of code after it.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

import duckdb

INTERNAL_COLUMNS = {"_raw", "raw_id"}
RUN_SPECIFIC_TABLES = {"versions", "source_stagings"}  # source_stagings: fingerprints hold the code's hash
VERSION_LINE = re.compile(r"; số liệu quý [IV]+ năm \d{4}, phiên bản \d+.*\)$|^\(số liệu quý [IV]+ năm \d{4}, phiên bản \d+.*\)$")


def table_hashes(warehouse: Path) -> dict[str, str]:
    conn = duckdb.connect(str(warehouse), read_only=True)
    hashes = {}
    tables = [t for (t,) in conn.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()]
    for table in tables:
        if table in RUN_SPECIFIC_TABLES or table.startswith("raw_") and table != "raw_files":
            continue
        columns = [c for (c,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position", [table]).fetchall()
            if c not in INTERNAL_COLUMNS]
        listed = ", ".join(f'"{c}"' for c in columns)
        digest = conn.execute(
            f"SELECT sha256(coalesce(string_agg(line, chr(10) ORDER BY line), '')), count(*) "
            f"FROM (SELECT CAST(ROW({listed}) AS VARCHAR) AS line FROM \"{table}\")").fetchone()
        hashes[f"table/{table}"] = f"{digest[0]} ({digest[1]} rows)"
    return hashes


def annex_hashes(outputs: Path, without_version_lines: bool = False) -> dict[str, str]:
    import openpyxl

    hashes = {}
    for path in sorted(outputs.glob("*/phu-luc-*.xlsx")):
        book = openpyxl.load_workbook(path)
        for sheet in book.worksheets:
            cells = [f"{c.coordinate}={_shown(c.value, without_version_lines)!r}" for row in sheet.iter_rows() for c in row
                     if c.value is not None]
            hashes[f"annex/{path.parent.name}/{sheet.title}"] = _sha("\n".join(cells)) + f" ({len(cells)} cells)"
    return hashes


def _shown(value, without_version_lines: bool):
    """A text as compared: with or without the version line (for the annex: `…; số liệu …, phiên bản N)` -> `…)`)."""
    if without_version_lines and isinstance(value, str):
        return VERSION_LINE.sub(")", value) if value.startswith("(Kèm theo") else value
    return value


def report_hashes(outputs: Path, without_version_lines: bool = False) -> dict[str, str]:
    import docx

    hashes = {}
    for path in sorted(outputs.glob("*/bao-cao-*.docx")):
        document = docx.Document(str(path))
        parts = [p.text for p in document.paragraphs if not (without_version_lines and VERSION_LINE.match(p.text))]
        parts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
        parts += [comment.text for comment in document.comments]
        hashes[f"report/{path.parent.name}"] = _sha("\n".join(parts)) + f" ({len(parts)} parts)"
    return hashes


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def compare(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return [f"{key}: {before.get(key, 'absent')} -> {after.get(key, 'absent')}"
            for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("warehouse", nargs="?", type=Path, help="the working DuckDB file")
    parser.add_argument("outputs", nargs="?", type=Path, help="the outputs folder (default: outputs beside the warehouse)")
    parser.add_argument("--without-version-lines", action="store_true")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"), help="two hash files to compare")
    args = parser.parse_args(argv)
    if args.compare:
        try:
            differences = compare(*(json.loads(p.read_text()) for p in args.compare))
        except (OSError, ValueError) as exc:
            parser.error(f"cannot read the hash files: {exc}")
        print("\n".join(differences) or "identical")
        return 1 if differences else 0
    if args.warehouse is None or not args.warehouse.is_file():
        parser.error(f"no warehouse file at {args.warehouse}" if args.warehouse else "give the warehouse file")
    outputs = args.outputs or args.warehouse.parent / "outputs"
    print(json.dumps(table_hashes(args.warehouse) | annex_hashes(outputs, args.without_version_lines)
                     | report_hashes(outputs, args.without_version_lines), indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
