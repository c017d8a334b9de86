"""Staging in SQL: from a table's raw layer (`raw_<table>`, the cells as the files hold them) to `stg_<table>`.

The rules are SQL next to this file: `sql/macros.sql` (Vietnamese numbers, dates, yes/no, fixed values, text
normalization, agency-name keys), `sql/stg_<table>.sql` (each table's columns typed by those rules) and
`sql/staging.sql` (the steps every table shares: refusing rows that do not type, matching agencies against the
quarter's registry, dropping duplicates by key, setting aside rows dated outside the quarter). Python only
fills the table's names into the shared steps and words the findings the queries return.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from pipeline.lib.findings import Finding
from pipeline.lib.sqlfile import named_queries
from pipeline.lib.tablespecs import LANGUAGES, TABLES, TableSpec
from pipeline.lib.wording import date, number, places, quarter_words, quoted

SQL_DIR = Path(__file__).parent / "sql"
STEPS = named_queries(SQL_DIR / "staging.sql")
TYPED = {spec.name: (SQL_DIR / f"stg_{spec.name}.sql").read_text(encoding="utf-8").strip().rstrip(";") for spec in TABLES}
# each table's query starts `SELECT raw_id,`: the single pass puts the row's provenance there (`_parts`, "typed")
TYPED_PASSING = re.compile(r"^SELECT\s+raw_id,", re.M)
assert all(len(TYPED_PASSING.findall(query)) == 1 for query in TYPED.values())
FIRST_LOCATIONS = 5
CELL_TYPE = "STRUCT(text VARCHAR, type VARCHAR)"
TEXT_TYPES = ("text", "code", "choice", "languages")
# what a prepared cell needs besides `vi_cell`, by column type (`{cell}` the prepared cell, `{table}`, `{column}`)
PREPARED = {"date": "vi_with_date({cell})", "integer": "vi_with_number({cell})", "number": "vi_with_number({cell})",
            "choice": "vi_with_code({cell}, '{table}', '{column}')", "languages": "vi_with_languages({cell}, '{table}', '{column}')"}


def raw_table(spec: TableSpec) -> str:
    return f"raw_{spec.name}"


def raw_columns(spec: TableSpec) -> dict[str, str]:
    """The raw layer's columns: where each row came from, and each spec column's cell as the file holds it."""
    columns = {"quarter": "VARCHAR", "raw_id": "BIGINT", "_file": "VARCHAR", "_sha256": "VARCHAR", "_sheet": "VARCHAR",
               "_row": "INTEGER", "_is_total": "BOOLEAN"}
    if spec.keep_total_row:
        columns["_cells"] = "VARCHAR"
    return columns | {column.name: CELL_TYPE for column in spec.columns}


def prepare(conn) -> None:
    """The rules on this connection: the macros, `vi_quoted`, and the fixed values of every table's spec."""
    try:
        conn.remove_function("vi_quoted")
    except Exception:  # noqa: BLE001 - not registered on this connection yet
        pass
    conn.create_function("vi_quoted", _quoted_cells, ["VARCHAR", "VARCHAR"], "VARCHAR", type="arrow", side_effects=False)
    variants, columns = [], []
    for spec in TABLES:
        for column in spec.columns:
            choices = LANGUAGES if column.type == "languages" else column.choices
            if choices:
                columns.append((spec.name, column.name, ", ".join(v[0] for v in choices.values()), column.other))
                variants += [(spec.name, column.name, variant, code, position)
                             for position, (code, names) in enumerate(choices.items()) for variant in names]
    # from Arrow: `executemany` inserts row by row (40 ms, on every connection that stages)
    text = ("table_name", "column_name")
    conn.register("_choice_columns", pa.table(list(zip(*columns)), schema=pa.schema(
        [(n, pa.string()) for n in (*text, "allowed", "other")])))
    conn.register("_spec_variants", pa.table(list(zip(*variants)), schema=pa.schema(
        [(n, pa.string()) for n in (*text, "variant", "code")] + [("position", pa.int32())])))
    conn.execute("CREATE OR REPLACE TEMP TABLE spec_choice_columns AS SELECT * FROM _choice_columns")
    conn.execute("CREATE OR REPLACE TEMP TABLE spec_choices "
                 "(table_name VARCHAR, column_name VARCHAR, variant_key VARCHAR, code VARCHAR, position INTEGER)")
    conn.execute((SQL_DIR / "macros.sql").read_text(encoding="utf-8"))
    conn.execute("INSERT INTO spec_choices SELECT table_name, column_name, vi_key(variant), code, position FROM _spec_variants")
    conn.unregister("_choice_columns")
    conn.unregister("_spec_variants")


def _quoted_cells(texts: pa.Array, kinds: pa.Array) -> pa.Array:
    """`vi_quoted(text, type)`: a failing cell as the findings quote it (`wording.quoted`): a number cell as
    Vietnamese writes it, text with its control characters shown. Called by the macros on failing cells only."""
    return pa.array([None if text is None else quoted(float(text) if kind == "n" else text)
                     for text, kind in zip(texts.to_pylist(), kinds.to_pylist())], pa.string())


@dataclass
class StagedTable:
    rows: int = 0
    findings: list[Finding] = field(default_factory=list)
    valid_rows_by_file: dict[str, int] = field(default_factory=dict)


def write_raw(conn, spec: TableSpec, quarter: str, arrow: str | None) -> None:
    """Replace the quarter's rows of `raw_<table>` with the registered Arrow cells `arrow` (inside the caller's
    transaction)."""
    conn.execute(f"DELETE FROM {raw_table(spec)} WHERE quarter = ?", [quarter])
    if arrow is None:
        return
    columns = list(raw_columns(spec))
    conn.execute(f"INSERT INTO {raw_table(spec)} ({', '.join(columns)}) SELECT ? AS quarter, {', '.join(columns[1:])} FROM {arrow}",
                 [quarter])


def stage_table(conn, spec: TableSpec, quarter: str, window: tuple[dt.date, dt.date] | None, registry: bool,
                staging_columns: dict[str, str], raw_rows: str) -> StagedTable:
    """Type the quarter's raw rows of `spec`, keep what stands, and replace its rows of `stg_<table>` (inside
    the caller's transaction). `window`: the quarter's first and last day (None: no date is outside);
    `registry`: whether the quarter's `stg_agencies` is there to match agency names against."""
    params = {"quarter": quarter, "title": spec.title, "first": FIRST_LOCATIONS}
    where = {"source": spec.source, "table": spec.name}
    if window:
        params |= {"start": window[0], "end": window[1]}
    _run(conn, _filled(STEPS["staged"], spec, window is not None).replace("<<raw_rows>>", raw_rows), params)
    staged = StagedTable(findings=[Finding("invalid_row", "error", message=message, file=file, sheet=sheet, row=int(row), **where)
                                   for file, sheet, row, message in _run(conn, STEPS["invalid_rows"], params).fetchall()])
    staged.valid_rows_by_file = dict(conn.execute(STEPS["valid_rows_by_file"]).fetchall())
    conn.execute(f"DELETE FROM stg_{spec.name} WHERE quarter = ?", [quarter])
    _run(conn, _filled(STEPS["insert_staged"], spec, columns=staging_columns), params)
    staged.rows = conn.execute("SELECT count(*) FROM stg_" + spec.name + " WHERE quarter = ?", [quarter]).fetchone()[0]
    staged.findings += _set_aside(conn, spec, params, registry)
    conn.execute("DROP TABLE staged")  # DuckDB holds temporary tables in memory
    return staged


def _set_aside(conn, spec: TableSpec, params: dict, registry: bool) -> list[Finding]:
    """The findings on the rows that typed: one per unmatched agency name (its message written by SQL), one per
    kind of rows set aside (worded here, with the count and the first places)."""
    where = {"source": spec.source, "table": spec.name}
    found = []
    for column in spec.agency_columns if registry else ():
        query = STEPS["unmatched_agencies"].replace("<<column>>", column.name)
        found += [Finding("unmatched_agency", "warning", message=message, file=file, sheet=sheet, row=int(row), **where)
                  for file, sheet, row, message in _run(conn, query, params | {"label": column.labels[0]}).fetchall()]
    set_aside = {kind: (rows, [(f, s, int(r)) for f, s, r in first])
                 for kind, rows, first in _run(conn, STEPS["set_aside"], params).fetchall()}
    title, key = spec.title, ", ".join(quoted(spec.column(k).labels[0]) for k in spec.key)

    def at(kind: str) -> dict:
        rows, first = set_aside[kind]
        file, sheet, row = first[0]
        return {"file": file, "sheet": sheet, "row": row, **where}

    def listed(kind: str) -> str:
        rows, first = set_aside[kind]
        return places(first, rows)

    if "duplicates_dropped" in set_aside:
        found.append(Finding("duplicates_dropped", "warning", message=(
            f"bảng “{title}”: {number(set_aside['duplicates_dropped'][0])} dòng trùng khóa ({key}) bị loại, giữ bản đầu tiên "
            f"theo thứ tự tệp, trang tính, dòng; các dòng bị loại: {listed('duplicates_dropped')}"), **at("duplicates_dropped")))
    if "duplicates_differ" in set_aside:
        found.append(Finding("duplicates_differ", "warning", message=(
            f"bảng “{title}”: {number(set_aside['duplicates_differ'][0])} dòng trùng bị loại có nội dung khác bản được giữ ở các "
            f"cột ngoài khóa, cần kiểm tra bản nào đúng: {listed('duplicates_differ')}"), **at("duplicates_differ")))
    if "outside_quarter" in set_aside:
        found.append(Finding("outside_quarter", "warning", message=(
            f"bảng “{title}”: {number(set_aside['outside_quarter'][0])} dòng có ngày ngoài {quarter_words(params['quarter'])} "
            f"({date(params['start'])}–{date(params['end'])}), bị loại khỏi số liệu của quý; các dòng bị loại: "
            f"{listed('outside_quarter')}"), **at("outside_quarter")))
    return found


def _run(conn, query: str, params: dict):
    return conn.execute(query, {k: v for k, v in params.items() if f"${k}" in query})


def _filled(query: str, spec: TableSpec, dated: bool = False, columns: dict[str, str] | None = None) -> str:
    """The shared step with the table's names, labels, key and date column in place of its `<<name>>` parts."""
    for name, text in _parts(spec, dated, columns or {}).items():
        query = query.replace(f"<<{name}>>", text)
    return query


def _parts(spec: TableSpec, dated: bool, columns: dict[str, str]) -> dict[str, str]:
    names = [c.name for c in spec.columns]

    def prepared(column) -> str:
        then = PREPARED.get(column.type, "{cell}").format(cell="p.prepared", table=spec.name, column=column.name)
        return f"d_{column.name} AS (SELECT p.cell, {then} AS prepared FROM prepared_cells p WHERE {_prepared_of(spec, column)})"

    def key_part(name: str) -> str:  # text compared without case, an agency by its code where it matched
        column = spec.column(name)
        if column.agency:
            return f"coalesce({name}_code, lower({name}.value))"
        return f"lower({name}.value)" if column.type in TEXT_TYPES else f"{name}.value"

    label = {c.name: c.labels[0].replace("'", "''") for c in spec.columns}
    required = [c.name for c in spec.required if c.type != "bool"]
    problems = [f"CASE WHEN NOT _is_total AND _blank_{n} THEN 'cột bắt buộc “{label[n]}” để trống' END" for n in required]
    problems += [f"CASE WHEN {n}.error IS NOT NULL THEN 'cột “{label[n]}”: ' || {n}.error END" for n in names]
    agencies = [c.name for c in spec.agency_columns]
    passed = f"cells.* EXCLUDE ({', '.join(names)})" + "".join(f", cells.{n}['blank'] AS _blank_{n}" for n in required)
    return {
        "table": spec.name,
        "distinct_cells": ",\n".join(prepared(c) for c in spec.columns),
        "prepared": ", ".join(f"d_{n}.prepared AS {n}" for n in names),
        "prepared_joins": "".join(f"\n    LEFT JOIN d_{n} ON d_{n}.cell IS NOT DISTINCT FROM raw.{n}" for n in names),
        "cells": ", raw._cells" if spec.keep_total_row else "",
        "typed": TYPED_PASSING.sub(lambda _: f"SELECT\n    {passed},", TYPED[spec.name], count=1),
        "checked_columns": f"typed.* EXCLUDE ({', '.join(f'_blank_{n}' for n in required)})" if required else "typed.*",
        "problems": ", ".join(problems),
        "agency_columns": "".join(f", k_{n}.codes AS {n}_codes, k_{n}.code AS {n}_code, k_{n}.level AS {n}_level" for n in agencies),
        "agency_joins": "".join(f"\n    LEFT JOIN agency_matches k_{n} ON k_{n}.name = checked.{n}.value" for n in agencies),
        "key_columns": ", ".join(f"{key_part(k)} AS key_{k}" for k in spec.key),
        "key_names": ", ".join(f"key_{k}" for k in spec.key),
        "compared": ", ".join(f"'{c.name}': {key_part(c.name) if c.agency or c.type == 'text' else c.name + '.value'}"
                              for c in spec.columns),
        "outside": f"({spec.in_quarter}.value < $start OR {spec.in_quarter}.value > $end)" if dated and spec.in_quarter else "false",
        "staging_columns": ", ".join(columns),
        "staging_values": ", ".join(f"{n}.value" if n in names else n for n in list(columns)[2:]),
    }


def stage_cells(conn, specs: tuple[TableSpec, ...], quarter: str, window: tuple[dt.date, dt.date] | None,
                cells: dict[str, pa.Table], registry: bool, staging_columns, prepared: bool = False) -> dict[str, StagedTable]:
    """Stage the quarter's cells of `specs` and write them as its raw layer (inside the caller's transaction): one
    `StagedTable` per table. Consumes `cells`. `staging_columns(spec)` gives each staging table's columns;
    `prepared`: the connection has the rules already (`prepare`).

    Staging reads the cells from Arrow, and the raw layer is written after it: rows inserted in the transaction
    are held in DuckDB's memory until it commits, and staging's joins over them, under the memory limit, spilled
    to disk (staging the 10x documents took 8.3 s after their raw layer was written, 2.9 s from committed rows)."""
    if not prepared:
        prepare(conn)
    arrow = {spec.name: f"_arrow_{spec.name}" for spec in specs if cells.get(spec.name) is not None}
    for spec in specs:
        if spec.name in arrow:
            conn.register(arrow[spec.name], cells[spec.name])
    try:
        rows = {spec.name: _raw_rows(spec, arrow.get(spec.name)) for spec in specs}
        _prepare_source_cells(conn, specs, rows, registry, quarter)
        staged = {spec.name: stage_table(conn, spec, quarter, window, registry, staging_columns(spec), rows[spec.name])
                  for spec in specs}
        conn.execute("DROP TABLE prepared_cells; DROP TABLE agency_keys; DROP TABLE agency_matches")
        for spec in specs:  # each table's Arrow cells released once written
            write_raw(conn, spec, quarter, arrow.get(spec.name))
            cells.pop(spec.name, None)
    finally:
        for name in arrow.values():
            conn.unregister(name)
    return staged


def _raw_rows(spec: TableSpec, arrow: str | None) -> str:
    """The table's raw rows as staging reads them: the Arrow cells with the raw layer's column types."""
    columns = ["raw_id", "CAST(_file AS VARCHAR) AS _file", "CAST(_sha256 AS VARCHAR) AS _sha256", "_sheet",
               "CAST(_row AS INTEGER) AS _row", "_is_total", *(["_cells"] if spec.keep_total_row else []),
               *(column.name for column in spec.columns)]
    return f"(SELECT {', '.join(columns)} FROM {arrow})" if arrow else f"(SELECT * EXCLUDE (quarter) FROM {raw_table(spec)} WHERE false)"


def _prepare_source_cells(conn, specs: tuple[TableSpec, ...], rows: dict[str, str], registry: bool, quarter: str) -> None:
    """The steps every table of the source shares, run once: `prepared_cells` (each column's distinct cells prepared) and
    `agency_matches` (each agency name matched against the quarter's registry, when it is there)."""
    columns = [(spec, column) for spec in specs for column in spec.columns]
    cells = " UNION ALL ".join(
        f"SELECT DISTINCT '{spec.name}' AS table_name, '{column.name}' AS column_name, {column.name} AS cell FROM {rows[spec.name]}"
        for spec, column in columns) or f"SELECT NULL AS table_name, NULL AS column_name, NULL::{CELL_TYPE} AS cell WHERE false"
    agency = " OR ".join(f"({_prepared_of(spec, column)})" for spec, column in columns if column.agency) or "false"
    params = {"quarter": quarter}
    _run(conn, STEPS["prepared_cells"].replace("<<source_cells>>", cells), params)
    _run(conn, STEPS["agency_keys" if registry else "no_agency_keys"], params)
    _run(conn, STEPS["agency_matches"].replace("<<agency_columns>>", agency), params)


def _prepared_of(spec: TableSpec, column) -> str:
    """The condition on `prepared_cells p` that picks one column's cells."""
    return f"p.table_name = '{spec.name}' AND p.column_name = '{column.name}'"


def ensure_tables(conn, specs: tuple[TableSpec, ...], staging_columns) -> None:
    """The raw and staging tables exist with today's columns (a staging table from before the raw layer
    loses its `_raw` JSON: the raw layer holds the cells now)."""
    from pipeline.lib.warehouse import ensure_table

    for spec in specs:
        ensure_table(conn, raw_table(spec), raw_columns(spec))
        ensure_table(conn, spec.staging_table, staging_columns(spec))
        conn.execute(f"ALTER TABLE {spec.staging_table} DROP COLUMN IF EXISTS _raw")


def stage_in_memory(specs: tuple[TableSpec, ...], cells: dict[str, pa.Table], quarter: str = "0000-Q1",
                    window: tuple[dt.date, dt.date] | None = None):
    """The staging of `cells` in an in-memory DuckDB, no registry: (typed frames by table, findings, rows that
    typed by file). For `python -m pipeline check` and the tests of the reading rules."""
    from pipeline.lib.raw_layer import staging_columns

    conn = _memory()
    ensure_tables(conn, specs, staging_columns)
    for spec in specs:  # what the previous file left
        conn.execute(f"DELETE FROM {raw_table(spec)}")
        conn.execute(f"DELETE FROM {spec.staging_table}")
    staged = stage_cells(conn, specs, quarter, window, cells, False, staging_columns, prepared=True)
    frames = {spec.name: conn.sql(f"SELECT * EXCLUDE (quarter) FROM {spec.staging_table} ORDER BY row_id")
              .to_arrow_table().to_pandas() for spec in specs}
    findings = [f for table in staged.values() for f in table.findings]
    valid = {}
    for table in staged.values():
        for file, rows in table.valid_rows_by_file.items():
            valid[file] = valid.get(file, 0) + rows
    return frames, findings, valid


_MEMORY = []


def _memory():
    """One in-memory DuckDB per process with the rules prepared: creating the macros costs a tenth of a
    second, more than staging a small file."""
    if not _MEMORY:
        _MEMORY.append(memory_connection())
        prepare(_MEMORY[0])
    return _MEMORY[0]


def memory_connection():
    """An in-memory DuckDB that spills to the system's temporary folder: by default it spills into the
    working directory (`.tmp/`), which may be the repository or the read-only landing zone."""
    import tempfile

    import duckdb

    return duckdb.connect(config={"temp_directory": str(Path(tempfile.gettempdir()) / "travinh-staging-spill")})


def staged_file(result, quarter: str | None = None):
    """A file read by the reader, staged alone as a run would stage it (no registry): a `FileResult` whose
    tables are the typed rows and whose findings add staging's (refused rows, duplicates within the file,
    and when `quarter` is given rows dated outside it), `rows_read` the rows kept. For `pipeline check`
    and the tests of the reading rules."""
    import dataclasses

    from pipeline.lib.raw_layer import with_provenance
    from pipeline.lib.tablespecs import TABLES_BY_NAME
    from pipeline.orchestration.partitions import quarter_window

    if not result.tables:
        return result
    specs = tuple(TABLES_BY_NAME[table] for table in result.tables)
    cells = {spec.name: with_provenance(spec, [(result.tables[spec.name], result.path, result.sha256)]) for spec in specs}
    frames, findings, valid = stage_in_memory(specs, cells, quarter or "0000-Q1", quarter_window(quarter) if quarter else None)
    return dataclasses.replace(result, tables=frames, findings=result.findings + findings, rows_read=valid.get(result.path, 0))


def read_staged(path: Path, relative: str, source: str, specs: tuple[TableSpec, ...], quarter: str | None = None):
    """`read_file`, then `staged_file`."""
    from pipeline.lib.reader import read_file

    return staged_file(read_file(path, relative, source, specs), quarter)
