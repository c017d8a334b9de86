"""The contract command of the README, as a subprocess with its own DAGSTER_HOME, RAW_DIR and warehouse."""

import subprocess
import sys
from pathlib import Path

import duckdb

from tests.conftest import isolated_env

ROOT = Path(__file__).resolve().parents[1]


def test_cli_materializes_a_quarter_into_indicators(sample_raw, tmp_path):
    env = isolated_env(tmp_path, sample_raw)
    dagster = Path(sys.executable).with_name("dagster")
    done = subprocess.run([str(dagster), "asset", "materialize", "-m", "pipeline.definitions", "--select", "*",
                           "--partition", "2020-Q2"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    conn = duckdb.connect(env["WAREHOUSE_PATH"], read_only=True)
    values = dict(conn.execute("SELECT indicator_id, value FROM indicators WHERE quarter = '2020-Q2'").fetchall())
    assert values["mail.created"] == 47 and values["mail.mailboxes"] == 7079
