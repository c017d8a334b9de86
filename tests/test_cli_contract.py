"""The contract command of the README, as a subprocess with its own DAGSTER_HOME, RAW_DIR and warehouse."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]


def test_cli_materializes_a_quarter_into_indicators(sample_raw, tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "RAW_DIR": str(sample_raw),
           "WAREHOUSE_PATH": str(tmp_path / "wh" / "warehouse.duckdb")}
    dagster = Path(sys.executable).with_name("dagster")
    done = subprocess.run([str(dagster), "asset", "materialize", "-m", "pipeline.definitions", "--select", "*",
                           "--partition", "2020-Q2"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    conn = duckdb.connect(env["WAREHOUSE_PATH"], read_only=True)
    values = dict(conn.execute("SELECT indicator_id, value FROM indicators WHERE quarter = '2020-Q2'").fetchall())
    assert values["mail.created"] == 47 and values["mail.mailboxes"] == 7079
