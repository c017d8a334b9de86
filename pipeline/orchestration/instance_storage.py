"""The Dagster instance's SQLite storage: created by one process at a time; one engine and connection kept per file.

Dagster creates its SQLite tables when a process first opens a brand-new DAGSTER_HOME. Two processes
starting together (two quarters launched at once, a run and `dagster dev`) both create them: both
runs exit 0, but the instance is left with two Alembic heads (`Version table 'alembic_version' has more
than one head present`) and every later run fails. This storage is Dagster's own, opened under an
exclusive lock on a file beside it, so the second process waits until the first has created the tables
and then finds them. `dagster_home/dagster.yaml` selects it.

Dagster's SQLite storages also build a new SQLAlchemy engine for every connection, with no pool, and the
event log disposes of it again: a 1× re-run of a quarter stores 176 events through about 1,400 SQLite
connections, each opened, set up and closed (a close of a WAL database's last connection checkpoints it).
Here each database file keeps one engine for the life of the process, and the engine keeps one idle
connection (more are opened when threads need them and closed when returned). The databases are in WAL
mode, as Dagster leaves them, so a connection kept open does not stop the webserver, the daemon and other
runs from reading and writing the same files. Measured in BENCHMARKS.md (issue 28, item 4).

One thing relied on the closes: the webserver follows a run's log live by watching its database file
(`<run_id>.db`) for changes, and in WAL mode a write changes only the `-wal` file until a checkpoint. Dagster's
checkpoint came with each close; with the connection kept, a run database checkpoints at every commit instead
(`PRAGMA wal_autocheckpoint=1`), so the file changes after every event as before.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy
from dagster import Field, StringSource
from dagster._core.storage.base_storage import DagsterStorage
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import SqliteScheduleStorage
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import (
    DagsterSqliteStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
)
from sqlalchemy.pool import QueuePool

LOCK_NAME = ".storage.lock"
RUN_ENGINES_KEPT = 16  # the event log's engines kept, one per run database recently used


@contextmanager
def exclusive(path: Path):
    """An advisory lock on `path` (released when the process dies, however it dies)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def default_base_dir() -> str:
    """Dagster's own default: `$DAGSTER_HOME/storage`."""
    return os.path.join(os.environ["DAGSTER_HOME"], "storage")


def kept_engine(conn_string: str, on_connect=None, **options):
    """An engine keeping one idle connection and opening more without limit when threads ask at once;
    `on_connect(dbapi_connection, record)` runs on each new SQLite connection."""
    engine = create_engine(conn_string, poolclass=QueuePool, pool_size=1, max_overflow=-1, **options)
    if on_connect is not None:
        sqlalchemy.event.listen(engine, "connect", on_connect)
    return engine


def checkpoint_every_commit(dbapi_connection, _record) -> None:
    """A run's database is watched by the webserver for changes: each commit reaches the file itself."""
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=1")


class _Engines:
    """One kept engine per connection string, the most recently used `keep` of them.

    The event log has a database per run: a webserver up for months would otherwise hold an engine and a
    connection for every run it ever showed.
    """

    def __init__(self, keep: int = RUN_ENGINES_KEPT, **options) -> None:
        self._keep, self._options = keep, options
        self._engines: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, conn_string: str):
        with self._lock:
            engine = self._engines.pop(conn_string, None) or kept_engine(conn_string, **self._options)
            self._engines[conn_string] = engine
            while len(self._engines) > self._keep:
                self._engines.popitem(last=False)[1].dispose()
            return engine

    def __len__(self) -> int:
        return len(self._engines)

    def dispose(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()


class EventLogKeepingEngines(SqliteEventLogStorage):
    """Dagster's event log through kept engines: the index's for the life of the storage, the run databases' for
    the most recently used runs, each checkpointing at every commit (the webserver watches them; not the index)."""

    def __init__(self, base_dir: str, inst_data=None) -> None:
        self._options = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}}
        self._index_engine = None
        self._engines = _Engines(on_connect=checkpoint_every_commit, **self._options)
        super().__init__(base_dir, inst_data=inst_data)

    def _engine_for(self, shard: str):
        if shard != INDEX_SHARD_NAME:
            return self._engines(self.conn_string_for_shard(shard))
        if self._index_engine is None:
            self._index_engine = kept_engine(self.conn_string_for_shard(shard), **self._options)
        return self._index_engine

    @contextmanager
    def _connect(self, shard: str):
        with self._db_lock:
            engine = self._engine_for(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def dispose(self) -> None:
        super().dispose()
        self._engines.dispose()
        if self._index_engine is not None:
            self._index_engine.dispose()


class _ConnectingThroughAKeptEngine:
    """`connect()` of Dagster's run and schedule storages (one database each) through one kept engine."""

    def __init__(self, conn_string: str, inst_data=None) -> None:
        self._engine = kept_engine(conn_string)
        super().__init__(conn_string, inst_data)

    @contextmanager
    def connect(self):
        with self._engine.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        super().dispose()
        self._engine.dispose()


class RunStorageKeepingEngine(_ConnectingThroughAKeptEngine, SqliteRunStorage):
    """Dagster's run storage through one kept engine."""


class ScheduleStorageKeepingEngine(_ConnectingThroughAKeptEngine, SqliteScheduleStorage):
    """Dagster's schedule storage through one kept engine."""


class LockedSqliteStorage(DagsterSqliteStorage):
    """Dagster's SQLite storage in Dagster's own files, opened under a lock, through kept engines."""

    def __init__(self, base_dir: str, inst_data=None) -> None:
        # DagsterSqliteStorage.__init__ would first open Dagster's own three storages (and migrate them): not called
        self.base_dir = base_dir
        self._run_storage = RunStorageKeepingEngine.from_local(_runs_directory(base_dir))
        self._event_log_storage = EventLogKeepingEngines(_event_logs_directory(base_dir))
        self._schedule_storage = ScheduleStorageKeepingEngine.from_local(_schedule_directory(base_dir))
        self._inst_data = inst_data
        DagsterStorage.__init__(self)

    @classmethod
    def config_type(cls):
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls.from_local(config_value.get("base_dir") or default_base_dir(), inst_data=inst_data)

    @classmethod
    def from_local(cls, base_dir: str, inst_data=None):
        with exclusive(Path(base_dir) / LOCK_NAME):
            return cls(base_dir, inst_data=inst_data)
