"""The versioned warehouse: every published version of every quarter, kept by DuckLake.

A run computes in the working DuckDB file (`WAREHOUSE_PATH`, one writer at a time, the current state only). Its
last step publishes the quarter's slice of every table (raw layer, staging, loads, findings, reconciliation,
indicators, definitions, lineage) into the lake in one DuckLake transaction: one snapshot per version. The lake
is a catalog (SQLite, `<warehouse dir>/lake/catalog.sqlite`) plus Parquet files (`lake/data/`); DuckLake keeps
every snapshot, so `AT (VERSION => n)` and an attachment at a snapshot read any version as it was published.

- A version is the snapshot whose commit carries `{"kind": "version", "quarter", "version", …}` as its extra
  info: the numbering stays the pipeline's own (1, 2, 3 per quarter), the history is the engine's.
- Sign-offs are rows of the lake's `signoffs` table, each its own snapshot.
- The catalog is in SQLite's WAL mode: a reader (an auditor's notebook, `python -m pipeline sql`) holding a
  transaction open keeps its snapshot and never blocks the run that writes (measured: issue 26).

The extensions are LOADed from their Python packages (`duckdb-extension-ducklake`, `-sqlite-scanner`), so
nothing is downloaded at run time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import sqlite3
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipeline.lib.messages import say
from pipeline.lib.provinces import province_of_warehouse

LAKE = "lake"
EXTENSIONS = {"ducklake": "duckdb_extension_ducklake", "sqlite_scanner": "duckdb_extension_sqlite_scanner",
              "postgres_scanner": "duckdb_extension_postgres_scanner"}
POSTGRES_ENV = "PIPELINE_POSTGRES_URL"
# the working file's own records (version numbers; which sources need no staging again); `*_history` tables too
NOT_VERSIONED = ("versions", "source_stagings")
VERSION_LOG = "published_versions"  # one row per version: so that each version's snapshot changes something
VERSION_LOG_COLUMNS = {"quarter": "VARCHAR", "version": "INTEGER", "run_id": "VARCHAR", "published_at": "TIMESTAMPTZ"}
LAKE_OWN_TABLES = ("signoffs", VERSION_LOG)  # written to the lake only, not copied from the working file
SIGNOFFS_COLUMNS = {
    "quarter": "VARCHAR", "version": "INTEGER", "snapshot_id": "BIGINT", "signed_by": "VARCHAR",
    "signed_at": "TIMESTAMP", "note": "VARCHAR", "accepted_errors": "BOOLEAN", "error_findings": "INTEGER",
    "annex_file": "VARCHAR", "annex_sha256": "VARCHAR", "draft_file": "VARCHAR", "draft_sha256": "VARCHAR",
}


class LakeError(Exception):
    """The lake cannot be read as asked (none yet, no such version), for the user."""


class NoLakeYet(LakeError):
    """No quarter of the province has been published yet."""


def lake_dir(warehouse: str | Path) -> Path:
    """Beside the working file, as an absolute path (DuckLake's data path)."""
    return Path(warehouse).resolve().parent / "lake"


def catalog_path(warehouse: str | Path) -> Path:
    return lake_dir(warehouse) / "catalog.sqlite"


def location(warehouse: str | Path) -> str:
    """Where the province's catalog is, for messages: the SQLite file, or the schema on PostgreSQL."""
    url = postgres_url()
    return str(catalog_path(warehouse)) if url is None else f"schema {metadata_schema(warehouse)} of {redacted(url)}"


def exists(warehouse: str | Path) -> bool:
    """Whether the province has a versioned warehouse yet (a server that cannot be reached raises LakeError)."""
    if postgres_url() is None:
        return catalog_path(warehouse).is_file()
    try:
        with reading(warehouse):
            return True
    except NoLakeYet:
        return False


def extension_file(name: str) -> Path:
    """The extension's binary for this DuckDB, as its package installed it."""
    spec = importlib.util.find_spec(EXTENSIONS[name])
    if spec is None or not spec.submodule_search_locations:
        raise LakeError(say("lake.extension_missing", package=EXTENSIONS[name]))
    path = Path(spec.submodule_search_locations[0]) / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.is_file():
        raise LakeError(say("lake.extension_mismatch", path=path, duckdb=duckdb.__version__))
    return path


def load_extensions(conn) -> None:
    needed = ["ducklake", "postgres_scanner" if postgres_url() else "sqlite_scanner"]
    for name in needed:
        conn.execute(f"LOAD '{extension_file(name)}'")


def postgres_url() -> str | None:
    """PIPELINE_POSTGRES_URL (the production profile): the lake's catalog on PostgreSQL instead of SQLite."""
    return os.environ.get(POSTGRES_ENV) or None


def metadata_schema(warehouse: str | Path) -> str:
    """The PostgreSQL schema holding one province's catalog: every province is a lake of its own."""
    return "lake_" + re.sub(r"[^a-z0-9]", "_", province_of_warehouse(warehouse))


def redacted(url: str) -> str:
    """The URL without its password, to be named in messages."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", re.sub(r"(password=)\S+", r"\1***", url))


def catalog_problem(exc: Exception, url: str) -> str:
    """What is wrong with the PostgreSQL catalog, in one line naming what to fix."""
    text = str(exc).replace(url, redacted(url))
    where = f"{POSTGRES_ENV}={redacted(url)}"
    if "password authentication failed" in text or "no password supplied" in text:
        return say("lake.refused_credentials", where=where)
    if "does not exist" in text and "database" in text:
        return say("lake.no_database", where=where)
    if "Connection refused" in text or "could not connect" in text or "Unable to connect" in text or "timeout" in text:
        return say("lake.unreachable", where=where)
    return say("lake.catalog_unusable", where=where, reason=redacted(text.splitlines()[0]))


def postgres_problem(url: str) -> str | None:
    """Why the server PIPELINE_POSTGRES_URL names cannot be used (down, wrong password, no such database, a URL
    that does not parse), or None."""
    import psycopg2

    try:
        psycopg2.connect(url, connect_timeout=5).close()
    except Exception as exc:
        return catalog_problem(exc, url)
    return None


def _create_catalog(catalog: Path) -> None:
    """A new SQLite catalog in WAL mode (kept by the file): readers then never block the writer."""
    catalog.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(catalog) as sqlite:
        sqlite.execute("PRAGMA journal_mode=WAL")


def attach(conn, warehouse: str | Path, *, read_only: bool, snapshot: int | None = None, name: str = LAKE) -> None:
    """Attach the lake to `conn` as `name`: read-only (at `snapshot`, if given) or for writing. Its catalog is
    SQLite beside the working file, or a schema of its own on PostgreSQL (PIPELINE_POSTGRES_URL)."""
    url = postgres_url()
    catalog = catalog_path(warehouse)
    if url is None and read_only and not catalog.is_file():
        raise NoLakeYet(f"no versioned warehouse at {catalog} yet (materialize a quarter first)")
    if url is None and not read_only and not catalog.is_file():
        _create_catalog(catalog)
    load_extensions(conn)
    # the data lies beside the working file, wherever the warehouse folder now is: the catalog keeps the path it
    # was created with, and DuckLake refuses a different one unless told to take it (its files' paths are relative)
    options = [f"DATA_PATH '{lake_dir(warehouse) / 'data'}/'", "OVERRIDE_DATA_PATH true"]
    if url is not None:
        options.append(f"METADATA_SCHEMA '{metadata_schema(warehouse)}'")
    if not read_only:  # inlining small inserts into the catalog reserves the column name row_id, which lineage uses
        options.append("DATA_INLINING_ROW_LIMIT 0")
    if read_only:
        options.append("READ_ONLY")
    if snapshot is not None:
        options.append(f"SNAPSHOT_VERSION {int(snapshot)}")
    if url is None:
        conn.execute(f"ATTACH 'ducklake:sqlite:{catalog}' AS {name} ({', '.join(options)})")
        return
    try:
        conn.execute(f"ATTACH 'ducklake:postgres:{url}' AS {name} ({', '.join(options)})")
    except duckdb.Error as exc:
        if read_only and "Existing DuckLake" in str(exc) and "does not exist" in str(exc):
            raise NoLakeYet(f"no versioned warehouse in schema {metadata_schema(warehouse)} of {POSTGRES_ENV} yet "
                            "(materialize a quarter first)") from None
        raise LakeError(catalog_problem(exc, url)) from None


def open_lake(warehouse: str | Path, snapshot: int | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection whose default catalog is the lake (at `snapshot`, else the latest)."""
    conn = duckdb.connect()
    try:
        attach(conn, warehouse, read_only=True, snapshot=snapshot)
        conn.execute(f"USE {LAKE}")
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def reading(warehouse: str | Path, snapshot: int | None = None):
    conn = open_lake(warehouse, snapshot)
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def writing(conn, warehouse: str | Path):
    """The lake attached to `conn` (the run's working connection, or a new one) for writing, detached after."""
    attach(conn, warehouse, read_only=False)
    try:
        yield conn
    finally:
        conn.execute(f"DETACH {LAKE}")


def _current_catalog(conn) -> str:
    return conn.execute("SELECT current_database()").fetchone()[0]


def versioned_tables(conn, catalog: str) -> list[str]:
    """The tables of `catalog` that hold quarters, but the working file's own version records."""
    return _versioned(columns_by_table(conn, catalog))


def _versioned(columns: dict[str, dict[str, str]]) -> list[str]:
    return sorted(t for t, listed in columns.items()
                  if "quarter" in listed and t not in NOT_VERSIONED and not t.endswith("_history"))


def columns_by_table(conn, catalog: str) -> dict[str, dict[str, str]]:
    """table -> its columns and their types, in order, for every table of `catalog`'s main schema: one query, where
    one per table cost about 3 ms each (35 tables, on both sides of a version)."""
    tables: dict[str, dict[str, str]] = {}
    for table, column, sql_type in conn.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_catalog = ? "
        "AND table_schema = 'main' ORDER BY table_name, ordinal_position", [catalog]).fetchall():
        tables.setdefault(table, {})[column] = sql_type
    return tables


def _copy_quarter(conn, source: str, table: str, quarter: str, columns: dict[str, str], existing: dict[str, str]) -> None:
    """Inside the lake's transaction: the lake's table holds exactly the quarter's rows of `source`'s (whose columns
    are `columns`; the lake's table has `existing`, none if it is new)."""
    if not existing:
        listed = ", ".join(f'"{c}" {t}' for c, t in columns.items())
        conn.execute(f'CREATE TABLE {LAKE}."{table}" ({listed})')
    for column, sql_type in columns.items():
        if existing and column not in existing:  # a newer pipeline added a column: earlier versions read NULL
            conn.execute(f'ALTER TABLE {LAKE}."{table}" ADD COLUMN "{column}" {sql_type}')
    conn.execute(f'DELETE FROM {LAKE}."{table}" WHERE quarter = ?', [quarter])
    conn.execute(f'INSERT INTO {LAKE}."{table}" BY NAME SELECT * FROM {source}."{table}" WHERE quarter = ?', [quarter])


def _commit(conn, message: str, info: dict) -> int:
    """Commit the open lake transaction with `info` as the snapshot's extra info; the snapshot's id."""
    conn.execute(f"CALL ducklake_set_commit_message('{LAKE}', 'pipeline', ?, extra_info => ?)",
                 [message, json.dumps(info, ensure_ascii=False, sort_keys=True)])
    conn.execute("COMMIT")
    return conn.execute(f"SELECT max(snapshot_id) FROM ducklake_snapshots('{LAKE}') WHERE commit_extra_info = ?",
                        [json.dumps(info, ensure_ascii=False, sort_keys=True)]).fetchone()[0]


def publish_version(conn, warehouse: str | Path, quarter: str, info: dict) -> int:
    """Publish the quarter as it stands in the working file (`conn`'s default catalog) as one lake snapshot
    carrying `info` (its version number, run, amendment, outputs' sha256); return the snapshot's id.

    A table whose slice of the quarter is the one the quarter's last version published (same columns, same
    digest of its rows, both recorded in that snapshot) is not written again: the new snapshot carries the lake's
    rows of it over as they are, and a query at either version reads the same files."""
    source = _current_catalog(conn)
    columns = columns_by_table(conn, source)
    digests = {table: slice_digest(conn, source, table, quarter, columns[table]) for table in _versioned(columns)}
    with writing(conn, warehouse):
        published = _published_digests(conn, quarter)
        in_lake = columns_by_table(conn, LAKE)
        tables = sorted(set(digests) | set(_versioned(in_lake)) - set(LAKE_OWN_TABLES))
        conn.execute("BEGIN TRANSACTION")
        try:
            for table in tables:
                if table not in digests:  # a table this code no longer writes: the quarter's new version has none of it
                    conn.execute(f'DELETE FROM {LAKE}."{table}" WHERE quarter = ?', [quarter])
                elif published.get(table) != digests[table] or not in_lake.get(table):
                    _copy_quarter(conn, source, table, quarter, columns[table], in_lake.get(table, {}))
            _log_version(conn, quarter, info)  # a change in every version's snapshot, whatever else is carried over
            record = {"kind": "version", "quarter": quarter, **info, "slices": digests}
            return _commit(conn, f"{quarter} version {info['version']}", record)
        except BaseException:
            _rollback(conn)
            raise


def _log_version(conn, quarter: str, info: dict) -> None:
    listed = ", ".join(f"{c} {t}" for c, t in VERSION_LOG_COLUMNS.items())
    conn.execute(f"CREATE TABLE IF NOT EXISTS {LAKE}.{VERSION_LOG} ({listed})")
    conn.execute(f"INSERT INTO {LAKE}.{VERSION_LOG} VALUES (?, ?, ?, now())", [quarter, info["version"], info.get("run_id")])


def slice_digest(conn, catalog: str, table: str, quarter: str, columns: dict[str, str]) -> str:
    """The quarter's rows of a table (whose columns are `columns`), summed up: its columns, its row count and the sum
    of its rows' 64-bit hashes (a changed row changes the sum but with odds of one in 2^64)."""
    count, total = conn.execute(
        f'SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0) FROM {catalog}.main."{table}" t WHERE quarter = ?',
        [quarter]).fetchone()
    return hashlib.sha256(f"{json.dumps(columns)} {count} {total}".encode()).hexdigest()


def _published_digests(conn, quarter: str) -> dict[str, str]:
    """The slices' digests the quarter's latest version recorded (none before this was recorded)."""
    found = conn.execute(
        f"SELECT json_extract(commit_extra_info, '$.slices') FROM ducklake_snapshots('{LAKE}') "
        "WHERE json_extract_string(commit_extra_info, '$.kind') = 'version' "
        "AND json_extract_string(commit_extra_info, '$.quarter') = ? ORDER BY snapshot_id DESC LIMIT 1", [quarter]).fetchone()
    return json.loads(found[0]) if found and found[0] else {}


def _rollback(conn) -> None:
    try:
        conn.execute("ROLLBACK")
    except duckdb.Error:  # already committed or never begun
        pass


VERSIONS_QUERY = f"""
    SELECT CAST(json_extract_string(commit_extra_info, '$.version') AS INTEGER) AS version, snapshot_id,
           snapshot_time, json_extract_string(commit_extra_info, '$.run_id') AS run_id,
           CAST(json_extract_string(commit_extra_info, '$.amendment_of') AS INTEGER) AS amendment_of,
           json_extract_string(commit_extra_info, '$.amend_reason') AS amend_reason,
           json_extract_string(commit_extra_info, '$.annex_sha256') AS annex_sha256,
           json_extract_string(commit_extra_info, '$.draft_sha256') AS draft_sha256
    FROM ducklake_snapshots('{LAKE}')
    WHERE json_extract_string(commit_extra_info, '$.kind') = 'version'
      AND json_extract_string(commit_extra_info, '$.quarter') = ?
    QUALIFY row_number() OVER (PARTITION BY version ORDER BY snapshot_id DESC) = 1
    ORDER BY version"""


def published_versions(conn, quarter: str) -> list[dict]:
    """Every published version of the quarter (the latest snapshot of each number), oldest first."""
    cursor = conn.execute(VERSIONS_QUERY, [quarter])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def ensure_signoffs(conn) -> None:
    listed = ", ".join(f"{c} {t}" for c, t in SIGNOFFS_COLUMNS.items())
    conn.execute(f"CREATE TABLE IF NOT EXISTS {LAKE}.signoffs ({listed})")


def record_signoff(conn, warehouse: str | Path, signoff: dict) -> int:
    """Append a sign-off (its own snapshot); return the snapshot's id."""
    with writing(conn, warehouse):
        conn.execute("BEGIN TRANSACTION")
        try:
            ensure_signoffs(conn)
            conn.execute(f"INSERT INTO {LAKE}.signoffs ({', '.join(SIGNOFFS_COLUMNS)}) VALUES "
                         f"({', '.join('?' for _ in SIGNOFFS_COLUMNS)})", [signoff.get(c) for c in SIGNOFFS_COLUMNS])
            return _commit(conn, f"{signoff['quarter']} version {signoff['version']} signed by {signoff['signed_by']}",
                           {"kind": "signoff", "quarter": signoff["quarter"], "version": signoff["version"],
                            "signed_at": str(signoff["signed_at"])})
        except BaseException:
            _rollback(conn)
            raise


def current_signoff(conn, quarter: str) -> dict | None:
    """The quarter's latest sign-off (the version that is signed now), or None."""
    if not conn.execute(f"SELECT count(*) FROM information_schema.tables WHERE table_catalog = '{LAKE}' "
                        "AND table_name = 'signoffs'").fetchone()[0]:
        return None
    cursor = conn.execute(f"SELECT * FROM {LAKE}.signoffs WHERE quarter = ? ORDER BY signed_at DESC, version DESC LIMIT 1",
                          [quarter])
    row = cursor.fetchone()
    return dict(zip([d[0] for d in cursor.description], row)) if row else None


def signoff_of(warehouse: str | Path, quarter: str) -> dict | None:
    """The quarter's current sign-off, read from the lake (None when there is no lake yet)."""
    if not _may_hold_signoffs(warehouse):
        return None
    try:
        with reading(warehouse) as conn:
            return current_signoff(conn, quarter)
    except NoLakeYet:
        return None


def _may_hold_signoffs(warehouse: str | Path) -> bool:
    """False when a SQLite catalog shows no sign-off table: what every step of every run asks before it writes, and
    opening the lake for it (its extensions, the catalog) costs a third of a second. True when unsure."""
    if postgres_url() is not None or not catalog_path(warehouse).is_file():
        return True
    try:
        catalog = sqlite3.connect(f"{catalog_path(warehouse).as_uri()}?mode=ro", uri=True)
        try:
            return bool(catalog.execute("SELECT count(*) FROM ducklake_table WHERE table_name = 'signoffs' "
                                        "AND end_snapshot IS NULL").fetchone()[0])
        finally:
            catalog.close()
    except sqlite3.Error:
        return True


def resolve_version(warehouse: str | Path, quarter: str, wanted: str) -> dict:
    """The published version `wanted` (a number, or `signed`) of the quarter, with its snapshot."""
    with reading(warehouse) as conn:
        versions = published_versions(conn, quarter)
        signoff = current_signoff(conn, quarter)
    if wanted == "signed":
        if signoff is None:
            raise LakeError(say("version.none_signed", quarter=quarter))
        number = signoff["version"]
    else:
        try:
            number = int(wanted)
        except ValueError:
            raise LakeError(say("version.not_a_version", wanted=wanted)) from None
    found = next((v for v in versions if v["version"] == number), None)
    if found is None:
        listed = ", ".join(str(v["version"]) for v in versions) or say("version.none_published")
        raise LakeError(say("version.not_published", quarter=quarter, version=number, listed=listed))
    if signoff is not None and signoff["version"] == number:
        found = {**found, "snapshot_id": signoff["snapshot_id"], "signoff": signoff}
    return found
