"""Runs the data team relies on: a locked warehouse, killed runs, concurrent quarters."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipeline.orchestration.resources import WarehouseResource
from tests.conftest import isolated_env, snapshot

HOLD = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(float(sys.argv[2]))"


def _hold(path, seconds):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_locked_warehouse_makes_the_step_wait_then_proceed(tmp_path, caplog):
    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    holder = _hold(path, 3)
    started = time.monotonic()
    with caplog.at_level("WARNING"), WarehouseResource(database=str(path), lock_timeout_seconds=60).get_connection() as conn:
        assert conn.execute("SELECT 42").fetchone() == (42,)
    assert time.monotonic() - started > 1
    assert any("đang bị một tiến trình khác khóa; thử lại sau" in r.getMessage() for r in caplog.records)
    holder.wait()


def test_locked_warehouse_fails_with_a_plain_message_after_the_timeout(tmp_path):
    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    holder = _hold(path, 10)
    try:
        with pytest.raises(dg.Failure, match="bị một tiến trình khác giữ khóa suốt"):
            with WarehouseResource(database=str(path), lock_timeout_seconds=1).get_connection():
                pass
    finally:
        holder.kill()


# --- real command-line runs --------------------------------------------------------------------------------


ROOT = Path(__file__).resolve().parents[1]
DAGSTER = Path(sys.executable).with_name("dagster")


@pytest.fixture()
def cli_env(sample_raw, tmp_path):
    """An isolated Dagster instance over a copy of the sample exports (tests may change the copy)."""
    raw = tmp_path / "raw"
    for quarter in ("2020-Q1", "2020-Q2"):
        shutil.copytree(sample_raw / quarter, raw / quarter)
    return isolated_env(tmp_path, raw)


@pytest.fixture()
def constructed_env(tmp_path):
    """An isolated Dagster instance over the two tiny constructed quarters."""
    from tests.constructed import build_constructed

    build_constructed(tmp_path / "raw")
    return isolated_env(tmp_path, tmp_path / "raw")


def cli_run(env, quarter, kill_at_step=None, delay=0.0):
    """The contract command as a subprocess; SIGKILL its process group `delay` s after `kill_at_step` starts."""
    process = subprocess.Popen(
        [str(DAGSTER), "asset", "materialize", "-m", "pipeline.definitions", "--select", "*", "--partition", quarter],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines = []
    for line in process.stdout:
        lines.append(line)
        if kill_at_step and f'Started execution of step "{kill_at_step}"' in line:
            time.sleep(delay)
            os.killpg(process.pid, signal.SIGKILL)
            break
    process.wait(timeout=600)
    return process.returncode, "".join(lines)


def test_killed_runs_leave_each_table_whole_and_the_next_run_completes(cli_env):
    code, log = cli_run(cli_env, "2020-Q2")
    assert code == 0, log[-2000:]
    old = snapshot(cli_env["WAREHOUSE_PATH"], "2020-Q2")
    raw = Path(cli_env["RAW_DIR"]) / "2020-Q2"
    (raw / "dvc" / "bao cao thang 4.xls").unlink()  # an agency withdraws a file: every later table changes
    for resent in ("bao cao thang 5.xls", "bao cao thang 6.xls"):  # and resends the others: parsed again
        with open(raw / "dvc" / resent, "a", encoding="utf-8") as handle:
            handle.write("<!-- gửi lại -->\n")
    (raw / "mail" / "Danh sach hop thu 03072020.xlsx").unlink()
    states, logs = [], []
    # killed before ingest_dvc commits: at 1x it re-reads two dossier files and can commit within 1 s of its start
    for step, delay in (("ingest_dvc", 0.3), ("indicators", 0.2), ("annex", 0.0)):
        code, log = cli_run(cli_env, "2020-Q2", kill_at_step=step, delay=delay)
        assert code == -signal.SIGKILL, f"{step}: the run ended before it could be killed"
        states.append((step, snapshot(cli_env["WAREHOUSE_PATH"], "2020-Q2")))
        logs.append(log)
    code, log = cli_run(cli_env, "2020-Q2")  # the plain contract command, nothing released by hand
    assert code == 0, log[-2000:]
    for later in logs[1:] + [log]:  # each run released the one killed before it, and said so
        assert re.search(r"đã giải phóng lần chạy \S+: tiến trình của nó \(\d+\) trên máy này không còn", later), later[-2000:]
    assert "blocked by limit for pool" not in log
    new = snapshot(cli_env["WAREHOUSE_PATH"], "2020-Q2")
    assert new["stg_dossiers/all"] != old["stg_dossiers/all"] and new["indicators/all"] != old["indicators/all"]
    for step, state in states:
        for table, digest in state.items():
            assert digest in (old.get(table), new.get(table)), f"{table} half-replaced after a kill at {step}"
    assert states[0][1]["stg_dossiers/all"] == old["stg_dossiers/all"]  # killed while reading the dossiers


def test_two_first_runs_on_a_brand_new_instance_both_succeed_and_leave_it_healthy(cli_env, truth):
    # a brand-new DAGSTER_HOME: both processes open it at once; without the storage lock Dagster's SQLite
    # tables were created twice (two Alembic heads) and every later run failed
    assert not (Path(cli_env["DAGSTER_HOME"]) / "storage").exists()
    processes = [
        subprocess.Popen([str(DAGSTER), "asset", "materialize", "-m", "pipeline.definitions", "--select", "*",
                          "--partition", quarter], cwd=ROOT, env=cli_env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
        for quarter in ("2020-Q1", "2020-Q2")]
    logs = [p.communicate(timeout=900)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0], "\n".join(log[-1500:] for log in logs)
    assert any("blocked by limit for pool duckdb_warehouse" in log for log in logs)  # serialized by the pool
    conn = duckdb.connect(cli_env["WAREHOUSE_PATH"], read_only=True)
    for quarter in ("2020-Q1", "2020-Q2"):
        values = dict(conn.execute("SELECT indicator_id, value FROM indicators WHERE quarter = ?", [quarter]).fetchall())
        assert values["dvc.dossiers.received"] == truth[quarter]["indicators"]["dvc.dossiers.received"]
    conn.close()
    later = subprocess.run([str(DAGSTER), "asset", "materialize", "-m", "pipeline.definitions", "--select", "raw_files",
                            "--partition", "2020-Q2"], cwd=ROOT, env=cli_env, capture_output=True, text=True, timeout=300)
    assert later.returncode == 0, later.stderr[-2000:]
    assert "more than one head" not in later.stderr


def test_backfill_from_the_command_line_materializes_each_quarter(constructed_env):
    env = constructed_env
    done = subprocess.run([sys.executable, "-m", "pipeline", "backfill", "2020-Q1", "2020-Q2"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "[2/2] 2020-Q2: xong" in done.stdout
    conn = duckdb.connect(env["WAREHOUSE_PATH"], read_only=True)
    assert conn.execute("SELECT quarter, count(*) FROM indicators GROUP BY 1 ORDER BY 1").fetchall() == [
        ("2020-Q1", 57), ("2020-Q2", 57)]
    conn.close()


def test_a_re_run_stages_only_the_source_whose_file_changed_and_the_log_says_so(constructed_env):
    env = constructed_env
    first_code, first = cli_run(env, "2020-Q2")
    before = snapshot(env["WAREHOUSE_PATH"], "2020-Q2")
    (Path(env["RAW_DIR"]) / "2020-Q2" / "iso" / "iso.xlsx").unlink()  # one source's file changes: only it is staged
    second_code, second = cli_run(env, "2020-Q2")
    assert first_code == second_code == 0
    kept = ("các tệp (theo sha256), danh mục cơ quan, quy tắc và khoảng thời gian của quý vẫn như lần nạp trước: giữ "
            "nguyên các dòng đã nạp, kết quả nạp và phát hiện, không đọc hay nạp lại")
    assert "không đọc lại" not in first and kept not in first
    assert f"dvc: {kept}" in second
    assert f"iso: {kept}" not in second
    after = snapshot(env["WAREHOUSE_PATH"], "2020-Q2")
    assert after["stg_dossiers/all"] == before["stg_dossiers/all"] and after.get("stg_iso/all") != before["stg_iso/all"]
