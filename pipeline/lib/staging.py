"""From a source folder of one quarter to clean staging frames: read every file once, match agencies,
drop duplicates by key, exclude rows dated outside the quarter, and say so in findings.

Pure functions over files and frames (no Dagster, no warehouse), so tests can call them directly.
"""

from __future__ import annotations

import datetime as dt
import gc
import itertools
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.lib.agencies import agency_key
from pipeline.lib.findings import Finding
from pipeline.lib.isolation import ReaderLimits, ReadJob, read_isolated
from pipeline.lib.parse_cache import ParseCache
from pipeline.lib.reader import IGNORED_NAME_REASON, FileResult, is_ignored_name
from pipeline.lib.tablespecs import TableSpec
from pipeline.lib.values import DUCKDB_TYPES
from pipeline.lib.wording import date, number, places, quarter_words, quoted

PROVENANCE = {
    "_file": "VARCHAR", "_sha256": "VARCHAR", "_sheet": "VARCHAR", "_row": "INTEGER",
    "_is_total": "BOOLEAN", "_raw": "VARCHAR",
}
FIRST_LOCATIONS = 5


PROVENANCE_DESCRIPTIONS = {
    "quarter": "the quarter (YYYY-Qn) the row was loaded for",
    "row_id": "the row's id within the quarter's table (the lineage of every figure points to it)",
    "_file": "the export file, relative to raw/<quarter>/", "_sha256": "the sha256 of that file",
    "_sheet": "the sheet (or HTML table) the row was read from", "_row": "the row's number as Excel shows it",
    "_is_total": "the export's own total row (kept by the iGate summary only, for reconciliation)",
    "_raw": "the row's cells as the file held them, by label (JSON)",
    "_cells": "the cell of each column in the total row (e.g. F142), to name a wrong total",
}


def staging_descriptions(spec: TableSpec) -> dict[str, str]:
    """Every staging column's description for Dagster's column schema."""
    descriptions = dict(PROVENANCE_DESCRIPTIONS)
    for col in spec.columns:
        descriptions[col.name] = col.description
        if col.agency:
            descriptions[f"{col.name}_code"] = f"the registry code `{col.labels[0]}` matched (NULL: unmatched, a finding)"
            descriptions[f"{col.name}_level"] = "the registry level (Tỉnh, Huyện, Xã) of that agency"
    return descriptions


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
            return None, None, f"khớp với nhiều cơ quan trong danh mục ({', '.join(sorted(codes))})"
        return None, None, "không khớp với cơ quan nào trong danh mục cơ quan"


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


@contextmanager
def cyclic_gc_paused():
    """Reading a large source allocates millions of short-lived lists and tuples, and each allocation
    burst triggers the cyclic garbage collector, which rescans every object the process holds (15-20%
    of reading at 10x). None of these objects form cycles, so reference counting frees them anyway."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@cyclic_gc_paused()
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
                                       reason=IGNORED_NAME_REASON))
    parts: dict[str, list[tuple[pd.DataFrame, str, str]]] = {spec.name: [] for spec in specs}
    for relative, file_result in read_source_files(quarter_dir, files, source, specs, cache_dir, result.reused):
        result.files.append(file_result)
        result.findings.extend(file_result.findings)
        for table, frame in file_result.tables.items():
            if len(frame):
                parts[table].append((frame, relative, file_result.sha256))
        for table, sheets in file_result.loaded_sheets.items():
            result.loaded_sheets[table] = result.loaded_sheets.get(table, 0) + len(sheets)
    for spec in specs:
        frame, findings = clean_table(spec, _with_provenance(parts.pop(spec.name)), quarter, window, registry)
        result.frames[spec.name] = frame
        result.findings.extend(findings)
    return result


def read_source_files(quarter_dir: Path, files: list[Path], source: str, specs: tuple[TableSpec, ...],
                      cache_dir: Path | None, reused: list[str]) -> list[tuple[str, FileResult]]:
    """(path in the quarter, parse) of each file, in order: from the cache when its bytes are unchanged
    (its path appended to `reused`), else parsed in an isolated child (`pipeline.lib.isolation`)."""
    cache = ParseCache(cache_dir)
    limits = ReaderLimits.from_env()
    parsed: dict[str, FileResult] = {}
    jobs, entries = [], {}
    for path in files:
        relative = path.relative_to(quarter_dir).as_posix()
        entry = cache.entry(path, relative, source)
        cached = cache.load(entry)
        if cached is not None:
            parsed[relative] = cached
            reused.append(relative)
        else:
            jobs.append(ReadJob(path, relative, source, specs))
            entries[relative] = entry
    for outcome in read_isolated(jobs, limits, cache_dir):
        parsed[outcome.job.relative] = outcome.result
        if outcome.pickle_path is not None:
            cache.keep(entries[outcome.job.relative], outcome.pickle_path)
    return [(relative, parsed[relative]) for relative in (p.relative_to(quarter_dir).as_posix() for p in files)]


def _with_provenance(parts: list[tuple[pd.DataFrame, str, str]]) -> pd.DataFrame:
    """The files' frames as one, each row with its file and sha256 (categorical: one copy per file)."""
    if not parts:
        return pd.DataFrame()
    frame = pd.concat([f for f, _, _ in parts], ignore_index=True) if len(parts) > 1 else parts[0][0].copy()
    sizes = [len(f) for f, _, _ in parts]
    for column, values in (("_file", [p[1] for p in parts]), ("_sha256", [p[2] for p in parts])):
        categories = list(dict.fromkeys(values))  # two files may have the same bytes
        codes = np.repeat([categories.index(v) for v in values], sizes)
        frame[column] = pd.Categorical.from_codes(codes, categories)
    return frame


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
        matches = _per_value(frame[col.name], registry.match, missing=(None, None, None))
        frame[f"{col.name}_code"] = [m[0] for m in matches]
        frame[f"{col.name}_level"] = [m[1] for m in matches]
        unmatched = (frame[col.name].notna() & frame[f"{col.name}_code"].isna() & ~frame["_is_total"]).to_numpy()
        located = frame.loc[unmatched, [col.name, "_file", "_sheet", "_row"]].itertuples(index=False)
        for rec, (_, _, problem) in zip(located, matches[unmatched]):
            findings.append(Finding(
                "unmatched_agency", "warning", spec.source,
                f"bảng “{spec.title}”: cột “{col.labels[0]}” ghi {quoted(rec[0])}, {problem}. "
                "Dòng vẫn được giữ, chỉ tính vào các số liệu không phân theo cơ quan",
                rec[1], rec[2], int(rec[3]),
            ))
    keep = ~_duplicates(spec, frame, findings)
    if spec.in_quarter:
        dates = frame[spec.in_quarter]
        outside_mask = keep & ((dates < window[0]) | (dates > window[1]))
        outside = frame.loc[outside_mask, ["_file", "_sheet", "_row"]]
        if len(outside):
            findings.append(Finding(
                "outside_quarter", "warning", spec.source,
                f"bảng “{spec.title}”: {number(len(outside))} dòng có ngày ngoài {quarter_words(quarter)} "
                f"({date(window[0])}–{date(window[1])}), bị loại khỏi số liệu của quý; các dòng bị loại: "
                + _locations(outside),
                outside["_file"].iloc[0], outside["_sheet"].iloc[0], int(outside["_row"].iloc[0]),
            ))
            keep &= ~outside_mask
    if not keep.all():
        frame = _kept_rows(frame, keep)
    frame = frame.reset_index(drop=True)
    frame["quarter"] = quarter
    frame["row_id"] = range(1, len(frame) + 1)
    return frame[list(columns)], [replace(f, table=spec.name) for f in findings]


def _kept_rows(frame: pd.DataFrame, keep: pd.Series) -> pd.DataFrame:
    """`frame[keep]`, one column at a time, each original column released once copied: a large table is
    then never held twice (at 10x the province, this was the ingest's peak memory)."""
    mask = keep.to_numpy()
    kept = {}
    for column in list(frame.columns):
        kept[column] = frame.pop(column).array[mask]
    return pd.DataFrame(kept, copy=False)


def _per_value(values: pd.Series, fn, missing=None) -> np.ndarray:
    """`fn` of each value (an object array; `missing` where the value is missing), called once per
    distinct value and spread back by numpy."""
    codes, uniques = pd.factorize(values)
    # factorize codes a missing value -1: the last entry
    results = itertools.chain(map(fn, np.asarray(uniques, dtype=object)), [missing])
    return np.fromiter(results, dtype=object, count=len(uniques) + 1)[codes]


def _casefolded(values: pd.Series) -> np.ndarray:
    """Each value casefolded if it is text (an object array, None where missing). A text column held by
    Arrow is lowered by Arrow where it is ASCII (there lower is casefold: ids and codes, unique per
    row), by Python's casefold once per distinct value elsewhere."""
    if not (isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"):
        return _per_value(values, lambda u: u.casefold() if isinstance(u, str) else u)
    text = pa.array(values.array)
    folded = pc.utf8_lower(text).to_numpy(zero_copy_only=False)
    other = np.flatnonzero(~pc.fill_null(pc.string_is_ascii(text), True).to_numpy(zero_copy_only=False))
    if len(other):
        folded[other] = _per_value(values.iloc[other], str.casefold)
    return folded


def _key_part(frame: pd.DataFrame, spec: TableSpec, name: str) -> pd.Series:
    """The column as compared in a key: text case folded (the reader already normalized it: `text_key`
    of a parsed value is its casefold), an agency as its registry code where it matched."""
    col = spec.column(name)
    values = pd.Series(_casefolded(frame[name]), index=frame.index, dtype=object)
    if col.agency:
        return frame[f"{name}_code"].where(frame[f"{name}_code"].notna(), values)
    return values


def _duplicates(spec: TableSpec, frame: pd.DataFrame, findings: list[Finding]) -> pd.Series:
    """Rows repeating an earlier row's key (the first copy by file, sheet and row is kept), reported."""
    keys = pd.DataFrame({name: _key_part(frame, spec, name) for name in spec.key})
    keys["_is_total"] = frame["_is_total"]
    duplicated = keys.duplicated(keep="first")
    if not duplicated.any():
        return duplicated
    dropped = frame.loc[duplicated, ["_file", "_sheet", "_row"]]
    involved = keys.duplicated(keep=False)  # only the copies of a repeated key are compared
    copies, copy_keys = frame[involved], keys[involved]
    compared = pd.DataFrame({
        c.name: (_key_part(copies, spec, c.name) if c.agency or c.type == "text" else copies[c.name]).map(str)
        for c in spec.columns
    })
    fingerprint = pd.util.hash_pandas_object(compared, index=False)
    fingerprint.index = copies.index
    first_of_key = fingerprint.groupby([copy_keys[k].astype(str) for k in spec.key]).transform("first")
    differing = dropped[(fingerprint != first_of_key)[duplicated[involved]].reindex(dropped.index)]
    findings.append(Finding(
        "duplicates_dropped", "warning", spec.source,
        f"bảng “{spec.title}”: {number(len(dropped))} dòng trùng khóa ({', '.join(quoted(spec.column(k).labels[0]) for k in spec.key)}) "
        f"bị loại, giữ bản đầu tiên theo thứ tự tệp, trang tính, dòng; các dòng bị loại: {_locations(dropped)}",
        dropped["_file"].iloc[0], dropped["_sheet"].iloc[0], int(dropped["_row"].iloc[0]),
    ))
    if len(differing):
        findings.append(Finding(
            "duplicates_differ", "warning", spec.source,
            f"bảng “{spec.title}”: {number(len(differing))} dòng trùng bị loại có nội dung khác bản được giữ "
            "ở các cột ngoài khóa, cần kiểm tra bản nào đúng: " + _locations(differing),
            differing["_file"].iloc[0], differing["_sheet"].iloc[0], int(differing["_row"].iloc[0]),
        ))
    return duplicated


def _locations(frame: pd.DataFrame) -> str:
    return places(frame[["_file", "_sheet", "_row"]].head(FIRST_LOCATIONS).itertuples(index=False), len(frame))
