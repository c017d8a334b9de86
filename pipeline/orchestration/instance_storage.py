"""The Dagster instance's SQLite storage, created by one process at a time.

Dagster creates its SQLite tables when a process first opens a brand-new DAGSTER_HOME. Two processes
starting together (two quarters launched at once, a run and `dagster dev`) both create them: both
runs exit 0, but the instance is left with two Alembic heads (`Version table 'alembic_version' has more
than one head present`) and every later run fails. This storage is Dagster's own, opened under an
exclusive lock on a file beside it, so the second process waits until the first has created the tables
and then finds them. `dagster_home/dagster.yaml` selects it.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from dagster import Field, StringSource
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage

LOCK_NAME = ".storage.lock"


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


class LockedSqliteStorage(DagsterSqliteStorage):
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
