"""From a source folder of one quarter to clean staging frames: read every file once, match agencies,
drop duplicates by key, exclude rows dated outside the quarter, and say so in findings.

Pure functions over files and frames (no Dagster, no warehouse), so tests can call them directly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from pipeline.lib.agencies import agency_key
from pipeline.lib.findings import Finding
from pipeline.lib.parse_cache import read_file_cached
from pipeline.lib.reader import FileResult, is_ignored_name
from pipeline.lib.tablespecs import TableSpec
from pipeline.lib.text import text_key
from pipeline.lib.values import DUCKDB_TYPES

PROVENANCE = {
    "_file": "VARCHAR", "_sha256": "VARCHAR", "_sheet": "VARCHAR", "_row": "INTEGER",
    "_is_total": "BOOLEAN", "_raw": "VARCHAR",
}
FIRST_LOCATIONS = 5


def staging_columns(spec: TableSpec) -> dict[str, str]:
    columns = {"quarter": "VARCHAR", "row_id": "BIGINT"}
    for col in spec.columns:
        columns[col.name] = {"level": "INTEGER", "languages": "VARCHAR"}.get(col.type) or DUCKDB_TYPES[col.type]
        if col.agency:
            columns[f"{col.name}_code"] = "VARCHAR"
            columns[f"{col.name}_level"] = "VARCHAR"
    if spec.keep_total_row:
        columns["_cells"] = "VARCHAR"
    return columns | PROVENANCE


@dataclass
class Registry:
    """The quarter's agencies: normalized name key -> codes, and code -> level."""

    keys: dict[str, set[str]]
    levels: dict[str, str]

    def match(self, name: str) -> tuple[str | None, str | None, str | None]:
        """(code, level, problem) for a free-text name."""
        codes = self.keys.get(agency_key(name), set())
        if len(codes) == 1:
            code = next(iter(codes))
            return code, self.levels.get(code), None
        if codes:
            return None, None, f"matches several registry agencies ({', '.join(sorted(codes))})"
        return None, None, "matches no agency of the registry"


@dataclass
class SourceResult:
    files: list[FileResult] = field(default_factory=list)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    loaded_sheets: dict[str, int] = field(default_factory=dict)
    reused: list[str] = field(default_factory=list)  # files whose content was unchanged: not re-parsed


def list_source_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """(files to read, files ignored by name), sorted by path so `keep first` is reproducible."""
    if not folder.is_dir():
        return [], []
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    ignored = [p for p in files if any(is_ignored_name(part) for part in p.relative_to(folder).parts)]
    return [p for p in files if p not in ignored], ignored


def stage_source(
    quarter: str,
    window: tuple[dt.date, dt.date],
    quarter_dir: Path,
    source: str,
    specs: tuple[TableSpec, ...],
    registry: Registry | None,
    cache_dir: Path | None = None,
) -> SourceResult:
    result = SourceResult()
    folder = quarter_dir / source
    files, ignored = list_source_files(folder)
    for path in ignored:
        relative = path.relative_to(quarter_dir).as_posix()
        result.files.append(FileResult(relative, "", path.stat().st_size, None, outcome="ignored",
                                       reason="Excel lock file or hidden file"))
    records: dict[str, list[dict]] = {spec.name: [] for spec in specs}
    for path in files:
        relative = path.relative_to(quarter_dir).as_posix()
        file_result, reused = read_file_cached(path, relative, source, specs, cache_dir)
        if reused:
            result.reused.append(relative)
        result.files.append(file_result)
        result.findings.extend(file_result.findings)
        for table, rows in file_result.tables.items():
            for row in rows:
                row["_file"], row["_sha256"] = relative, file_result.sha256
            records[table].extend(rows)
        for table, sheets in file_result.loaded_sheets.items():
            result.loaded_sheets[table] = result.loaded_sheets.get(table, 0) + len(sheets)
    for spec in specs:
        frame = pd.DataFrame.from_records(records[spec.name], columns=None)
        frame, findings = clean_table(spec, frame, quarter, window, registry)
        result.frames[spec.name] = frame
        result.findings.extend(findings)
    return result


def clean_table(
    spec: TableSpec,
    frame: pd.DataFrame,
    quarter: str,
    window: tuple[dt.date, dt.date],
    registry: Registry | None,
) -> tuple[pd.DataFrame, list[Finding]]:
    columns = staging_columns(spec)
    findings: list[Finding] = []
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns}), findings
    for col in spec.columns:
        if col.name not in frame:
            frame[col.name] = None
    for col in spec.agency_columns:
        frame[f"{col.name}_code"], frame[f"{col.name}_level"] = None, None
        if registry is None:
            continue
        names = frame[col.name].dropna().unique()
        matches = {name: registry.match(name) for name in names}
        frame[f"{col.name}_code"] = frame[col.name].map(lambda n: matches[n][0] if n in matches else None)
        frame[f"{col.name}_level"] = frame[col.name].map(lambda n: matches[n][1] if n in matches else None)
        unmatched = frame[frame[col.name].notna() & frame[f"{col.name}_code"].isna() & ~frame["_is_total"]]
        for rec in unmatched[[col.name, "_file", "_sheet", "_row"]].itertuples(index=False):
            findings.append(Finding(
                "unmatched_agency", "warning", spec.source,
                f"{spec.title}: `{col.labels[0]}` {rec[0]!r} {matches[rec[0]][2]}; "
                "row kept, counted wherever its agency does not matter",
                rec[1], rec[2], int(rec[3]),
            ))
    frame = _drop_duplicates(spec, frame, findings)
    if spec.in_quarter:
        dates = frame[spec.in_quarter]
        outside = frame[(dates < window[0]) | (dates > window[1])]
        if len(outside):
            findings.append(Finding(
                "outside_quarter", "warning", spec.source,
                f"{spec.title}: {len(outside)} row(s) dated outside {quarter} "
                f"({window[0]:%d/%m/%Y}–{window[1]:%d/%m/%Y}) excluded from the quarter; first at "
                + _locations(outside),
                outside["_file"].iloc[0], outside["_sheet"].iloc[0], int(outside["_row"].iloc[0]),
            ))
            frame = frame.drop(outside.index)
    frame = frame.reset_index(drop=True)
    frame["quarter"] = quarter
    frame["row_id"] = range(1, len(frame) + 1)
    return frame[list(columns)], [replace(f, table=spec.name) for f in findings]


def _key_part(frame: pd.DataFrame, spec: TableSpec, name: str) -> pd.Series:
    col = spec.column(name)
    values = frame[name].map(lambda v: text_key(v) if isinstance(v, str) else v)
    if col.agency:
        return frame[f"{name}_code"].where(frame[f"{name}_code"].notna(), values)
    return values


def _drop_duplicates(spec: TableSpec, frame: pd.DataFrame, findings: list[Finding]) -> pd.DataFrame:
    keys = pd.DataFrame({name: _key_part(frame, spec, name) for name in spec.key})
    keys["_is_total"] = frame["_is_total"]
    duplicated = keys.duplicated(keep="first")
    if not duplicated.any():
        return frame
    dropped = frame[duplicated]
    compared = pd.DataFrame({
        c.name: (_key_part(frame, spec, c.name) if c.agency or c.type == "text" else frame[c.name]).map(str)
        for c in spec.columns
    })
    fingerprint = pd.util.hash_pandas_object(compared, index=False)
    first_of_key = fingerprint.groupby([keys[k].astype(str) for k in spec.key]).transform("first")
    differing = dropped[(fingerprint != first_of_key)[duplicated]]
    findings.append(Finding(
        "duplicates_dropped", "warning", spec.source,
        f"{spec.title}: {len(dropped)} duplicate row(s) by key ({', '.join(spec.column(k).labels[0] for k in spec.key)}) "
        f"dropped, the first copy by file, sheet and row kept; first dropped at {_locations(dropped)}",
        dropped["_file"].iloc[0], dropped["_sheet"].iloc[0], int(dropped["_row"].iloc[0]),
    ))
    if len(differing):
        findings.append(Finding(
            "duplicates_differ", "warning", spec.source,
            f"{spec.title}: {len(differing)} dropped duplicate(s) differ from the kept copy outside the key: "
            + _locations(differing),
            differing["_file"].iloc[0], differing["_sheet"].iloc[0], int(differing["_row"].iloc[0]),
        ))
    return frame[~duplicated]


def _locations(frame: pd.DataFrame) -> str:
    shown = [f"{f} [{s}] row {r}" for f, s, r in frame[["_file", "_sheet", "_row"]].head(FIRST_LOCATIONS).itertuples(index=False)]
    more = len(frame) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
