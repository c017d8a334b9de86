"""From a source folder of one quarter to the raw layer: read every file once (unchanged files from the parse
cache), and gather each table's rows with the file and sha256 they came from. Typing, agency matching,
duplicates and the quarter window are SQL (`assets/ingest/stage_in_sql.py`).

Pure functions over files (no Dagster, no warehouse), so tests can call them directly.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from pipeline.lib.findings import Finding
from pipeline.lib.isolation import ReaderLimits, ReadJob, read_isolated
from pipeline.lib.messages import say
from pipeline.lib.parse_cache import ParseCache
from pipeline.lib.reader import IGNORED_NAME_REASON, FileResult, is_ignored_name
from pipeline.lib.reader.distinct import raw_schema
from pipeline.lib.reader.rows import column_letter
from pipeline.lib.tablespecs import TableSpec
from pipeline.lib.values import DUCKDB_TYPES

LEGACY_TEXT_TABLE = "raw_legacy_text"
LEGACY_TEXT_COLUMNS = {"quarter": "VARCHAR", "source": "VARCHAR", "_file": "VARCHAR", "_sha256": "VARCHAR", "_sheet": "VARCHAR",
                       "_row": "INTEGER", "_column": "VARCHAR", "encoding": "VARCHAR", "held": "VARCHAR", "text": "VARCHAR"}
PROVENANCE = {
    "_file": "VARCHAR", "_sha256": "VARCHAR", "_sheet": "VARCHAR", "_row": "INTEGER",
    "_is_total": "BOOLEAN", "raw_id": "BIGINT",
}


def staging_descriptions(spec: TableSpec) -> dict[str, str]:
    """Every staging column's description for Dagster's column schema, in the catalog's words."""
    descriptions = {"quarter": say("column.quarter"), "row_id": say("column.row_id"), "_file": say("column.file"),
                    "_sha256": say("column.sha256"), "_sheet": say("column.sheet"), "_row": say("column.row"),
                    "_is_total": say("column.is_total"), "raw_id": say("column.raw_id"), "_cells": say("column.cells")}
    for col in spec.columns:
        descriptions[col.name] = col.description
        if col.agency:
            descriptions[f"{col.name}_code"] = say("column.agency_code", label=col.labels[0])
            descriptions[f"{col.name}_level"] = say("column.agency_level")
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
class SourceResult:
    files: list[FileResult] = field(default_factory=list)
    cells: dict[str, pa.Table] = field(default_factory=dict)  # the raw layer's rows of each table, numbered by raw_id
    findings: list[Finding] = field(default_factory=list)
    loaded_sheets: dict[str, int] = field(default_factory=dict)
    reused: list[str] = field(default_factory=list)  # files whose content was unchanged: not re-parsed
    legacy: list[dict] = field(default_factory=list)  # cells in a legacy encoding: as the file held them, as read
    cut_short: list[str] = field(default_factory=list)  # files whose reading a limit or a killed child ended: read again next run


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
def stage_source(quarter_dir: Path, source: str, specs: tuple[TableSpec, ...], cache_dir: Path | None = None) -> SourceResult:
    """Every file of `quarter_dir/source` read into the raw layer's rows of `specs` (files in path order,
    their sheets and rows in order: `raw_id` follows it, so "the first copy" of a key is reproducible)."""
    result = SourceResult()
    folder = quarter_dir / source
    files, ignored = list_source_files(folder)
    for path in ignored:
        relative = path.relative_to(quarter_dir).as_posix()
        result.files.append(FileResult(relative, "", path.stat().st_size, None, outcome="ignored",
                                       reason=IGNORED_NAME_REASON))
    parts: dict[str, list[tuple[pa.Table, str, str]]] = {spec.name: [] for spec in specs}
    for relative, file_result in read_source_files(quarter_dir, files, source, specs, cache_dir, result.reused, result.cut_short):
        result.files.append(file_result)
        result.findings.extend(file_result.findings)
        result.legacy += [{"_file": relative, "_sha256": file_result.sha256, "_sheet": c.sheet, "_row": c.row + 1,
                           "_column": column_letter(c.column), "encoding": c.encoding, "held": c.held, "text": c.text}
                          for c in file_result.legacy]
        for table, cells in file_result.tables.items():
            if cells.num_rows:
                parts[table].append((cells, relative, file_result.sha256))
        file_result.tables = {}  # held by `result.cells` from here on, which staging consumes
        for table, sheets in file_result.loaded_sheets.items():
            result.loaded_sheets[table] = result.loaded_sheets.get(table, 0) + len(sheets)
    for spec in specs:
        result.cells[spec.name] = with_provenance(spec, parts.pop(spec.name))
    return result


def read_source_files(quarter_dir: Path, files: list[Path], source: str, specs: tuple[TableSpec, ...],
                      cache_dir: Path | None, reused: list[str], cut_short: list[str] | None = None) -> list[tuple[str, FileResult]]:
    """(path in the quarter, parse) of each file, in order: from the cache when its bytes are unchanged
    (its path appended to `reused`), else parsed in an isolated child (`pipeline.lib.isolation`; a child that a
    limit or a signal ended: its path appended to `cut_short`)."""
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
        elif cut_short is not None:
            cut_short.append(outcome.job.relative)
    return [(relative, parsed[relative]) for relative in (p.relative_to(quarter_dir).as_posix() for p in files)]


def with_provenance(spec: TableSpec, parts: list[tuple[pa.Table, str, str]]) -> pa.Table:
    """The files' rows as one table, each row with its `raw_id` (1, 2, … in file order), file and sha256
    (dictionary-encoded: one copy per file)."""
    schema = raw_schema(spec)
    tables = [cells.cast(schema) for cells, _, _ in parts] or [schema.empty_table()]
    table = pa.concat_tables(tables)
    sizes = [cells.num_rows for cells, _, _ in parts]
    columns = {"raw_id": pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64))}
    for name, values in (("_file", [p[1] for p in parts]), ("_sha256", [p[2] for p in parts])):
        categories = list(dict.fromkeys(values))  # two files may have the same bytes
        codes = np.repeat(np.array([categories.index(v) for v in values], dtype=np.int32), sizes)
        columns[name] = pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(categories, pa.string()))
    for name, column in columns.items():
        table = table.append_column(name, column)
    return table
