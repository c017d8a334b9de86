"""The Dagster instance's storage keeps one engine per SQLite file; other processes still share the files and the
webserver still follows a run's log live."""

import logging
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from pipeline.orchestration import instance_storage

ROOT = Path(__file__).resolve().parents[1]


@dg.asset
def small_asset(context: dg.AssetExecutionContext):
    for n in range(20):
        context.log.info(f"event {n}")
    return 1


@pytest.fixture()
def home(tmp_path, monkeypatch) -> Path:
    """A new DAGSTER_HOME with the project's instance settings (its storage under `home/storage`)."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", home)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def _instance(home: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(home))


def test_a_run_connects_through_one_engine_per_database_file(home, monkeypatch):
    made = []
    real = instance_storage.create_engine
    monkeypatch.setattr(instance_storage, "create_engine", lambda *a, **k: made.append(a[0]) or real(*a, **k))
    instance = _instance(home)
    assert isinstance(instance.run_storage, instance_storage.RunStorageKeepingEngine)
    made.clear()
    for _ in range(3):
        assert dg.materialize([small_asset], instance=instance).success
    # three runs of 20-odd events each: an engine for each run's own database, none for the index or the run
    # storage, which were made when the instance opened
    assert len(made) == 3 and all("/runs/" in url or "\\runs\\" in url for url in made)
    assert len(instance.all_logs(instance.get_runs(limit=1)[0].run_id)) > 20
    instance.dispose()


def test_the_event_log_keeps_engines_for_the_most_recent_runs_only(home):
    instance = _instance(home)
    for _ in range(instance_storage.RUN_ENGINES_KEPT + 3):
        assert dg.materialize([small_asset], instance=instance).success
    assert len(instance.event_log_storage._engines) == instance_storage.RUN_ENGINES_KEPT
    instance.dispose()
    assert len(instance.event_log_storage._engines) == 0


READ_RUNS = """
import sys
import dagster as dg
instance = dg.DagsterInstance.from_config(sys.argv[1])
print(len(instance.get_runs()), sum(len(instance.all_logs(r.run_id)) > 20 for r in instance.get_runs()))
"""


def test_another_process_reads_and_writes_while_a_process_keeps_its_connections(home):
    instance = _instance(home)
    assert dg.materialize([small_asset], instance=instance).success  # its connections stay open from here on
    seen = subprocess.run([sys.executable, "-c", READ_RUNS, str(home)], capture_output=True, text=True, check=True)
    assert seen.stdout.split() == ["1", "1"]
    wrote = subprocess.run(
        [sys.executable, "-c", "import sys, dagster as dg; from tests.test_instance_storage import small_asset; "
         "assert dg.materialize([small_asset], instance=dg.DagsterInstance.from_config(sys.argv[1])).success", str(home)],
        capture_output=True, text=True, cwd=ROOT)
    assert wrote.returncode == 0, wrote.stderr[-2000:]
    assert dg.materialize([small_asset], instance=instance).success
    assert len(instance.get_runs()) == 3
    assert all(len(instance.all_logs(r.run_id)) > 20 for r in instance.get_runs())
    instance.dispose()


def _log_entry(run_id: str, text: str):
    from dagster._core.events.log import EventLogEntry

    return EventLogEntry(error_info=None, level=logging.INFO, user_message=text, run_id=run_id, timestamp=time.time())


def test_a_watcher_of_a_run_sees_each_event_another_instance_stores_while_it_keeps_its_connection(home):
    """The webserver follows a run's log by watching the run's database file: each event has to change it, though
    the writing instance keeps its connection open (WAL mode: a checkpoint at every commit)."""
    writer, watcher = _instance(home), _instance(home)
    run_id = "0f3c5e1a-0000-4000-8000-000000000028"
    writer.event_log_storage.store_event(_log_entry(run_id, "first"))
    seen: list[str] = []
    watcher.event_log_storage.watch(run_id, None, lambda entry, cursor: seen.append(entry.user_message))
    time.sleep(0.5)  # the observer started
    for n in range(3):
        writer.event_log_storage.store_event(_log_entry(run_id, f"event {n}"))
        deadline = time.monotonic() + 10
        while f"event {n}" not in seen and time.monotonic() < deadline:
            time.sleep(0.05)
        assert f"event {n}" in seen, f"the watcher saw {seen}"
    writer.dispose()
    watcher.dispose()  # stops its file observer
