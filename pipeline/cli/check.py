"""`python -m pipeline check PATH [PATH…]`: what the pipeline would make of an agency's files, before they go
into `raw/`.

For each file (a folder stands for every file under it): the format its bytes show, its sheets, the table
of the spec each sheet matched (or the labels it lacks), the rows read, and the findings the reader and
staging would give (the same SQL as a run, in a throwaway DuckDB). A file in a source folder
(`…/mail/x.xlsx`) is matched against that folder's tables, any other against every table of the spec. Under
a quarter folder (`…/2020-Q2/…`) rows dated outside the quarter are reported too; duplicates are those
within the file (agency names are matched during the run, against the quarter's registry). The file is read
in an isolated child, like in a run: a hostile file is a finding.
Exit status 1 when a file, a sheet or a row would be refused (an error finding), else 0.
"""

from __future__ import annotations

import re
from pathlib import Path

from assets.ingest.stage_in_sql import staged_file
from pipeline.lib.isolation import ReaderLimits, ReadJob, read_isolated
from pipeline.lib.messages import say, severity
from pipeline.lib.reader import FileResult, is_ignored_name
from pipeline.lib.tablespecs import SOURCES, TABLES, TABLES_BY_NAME
from pipeline.lib.wording import number

_QUARTER = re.compile(r"^\d{4}-Q[1-4]$")


class CheckError(Exception):
    """A path that cannot be checked at all (it does not exist)."""


def files_of(paths: list[str]) -> list[Path]:
    found = []
    for given in paths:
        path = Path(given)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file())
        else:
            raise CheckError(say("check.no_such_path", path=given))
    return found


def _source_and_quarter(path: Path) -> tuple[str | None, str | None]:
    parts = path.resolve().parts
    source = parts[-2] if len(parts) > 1 and parts[-2] in SOURCES else None
    quarter = next((p for p in reversed(parts[:-1]) if _QUARTER.match(p)), None)
    return source, quarter


def describe(path: Path, result: FileResult, quarter: str | None) -> tuple[list[str], bool]:
    """Lines for one file, and whether it has an error finding."""
    lines = [f"{path}"]
    size, sha256 = number(result.size), result.sha256[:12]
    if result.outcome == "rejected" and not result.sheets:
        lines.append(say("check.file_format", format=result.format or say("check.not_a_spreadsheet"), size=size, sha256=sha256))
    else:
        sheets = ", ".join(f"“{s}”" for s in result.sheets) or say("check.no_sheet")
        lines.append(say("check.file_format_and_sheets", format=result.format, size=size, sha256=sha256, sheets=sheets))
    matched = {sheet: table for table, sheets in result.loaded_sheets.items() for sheet in sheets}
    staged = staged_file(result, quarter)
    for sheet in result.sheets:
        if sheet in matched:
            table = TABLES_BY_NAME[matched[sheet]]
            frame = staged.tables[table.name]
            rows = int((frame["_sheet"] == sheet).sum())
            lines.append(say("check.sheet_read", sheet=sheet, table=table.name, title=table.title, rows=number(rows)))
        else:
            lack = [f for f in result.findings if f.sheet == sheet and f.check_id == "missing_labels"]
            lines.append(say("check.sheet_lacking", sheet=sheet, reason=lack[0].message) if lack
                         else say("check.sheet_ignored", sheet=sheet))
    findings = staged.findings
    for finding in findings:
        place = (say("check.finding_sheet", sheet=finding.sheet) if finding.sheet else "") + (
            say("check.finding_row", row=finding.row) if finding.row else "")
        lines.append(say("check.finding", severity=severity(finding.severity), check_id=finding.check_id, place=place,
                         message=finding.message))
    errors = any(f.severity == "error" for f in findings)
    if result.outcome == "loaded":
        lines.append(say("check.would_load_with_refusals") if errors else say("check.would_load"))
    else:
        lines.append(say("check.would_be_ignored") if result.outcome == "ignored" else say("check.would_be_refused"))
    return lines, errors or result.outcome == "rejected"


def check(paths: list[str], out=print) -> int:
    files = files_of(paths)
    if not files:
        raise CheckError(say("check.no_file_under", paths=", ".join(paths)))
    jobs, quarters = [], {}
    for path in files:
        if not is_ignored_name(path.name):
            source, quarters[path] = _source_and_quarter(path)
            jobs.append(ReadJob(path, path.name, source or "?", SOURCES[source] if source else TABLES))
    results = {o.job.path: o.result for o in read_isolated(jobs, ReaderLimits.from_env())}
    refused = 0
    for path in files:
        if path not in results:
            out(say("check.never_read", path=path))
            continue
        lines, bad = describe(path, results[path], quarters[path])
        refused += bad
        out("\n".join(lines))
    out(say("check.total", files=number(len(files)), refused=number(refused)))
    return 1 if refused else 0
